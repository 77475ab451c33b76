// ember::optim against torch.optim: tests/golden/gen_optim.py ran 20 steps of each optimizer
// configuration in torch 1.13 on a small float64 problem and saved every parameter after every
// step (fixtures/optim.safetensors); here ember runs the same configurations from the same start.
// Plus: checkpoints (PyTorch's converted, and ember's own through a file, resuming bit for bit),
// errors worded like PyTorch's, zero_grad, parameters without gradients, and load_state_dict
// refusing bad dicts without changing anything.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <numbers>
#include <set>
#include <string>
#include <vector>

#include "ember/ember.h"

using namespace ember;
using optim::Adam;
using optim::AdamOptions;
using optim::AdamW;
using optim::AdamWOptions;
using optim::CosineAnnealingLR;
using optim::OptimizerParamGroup;
using optim::SGD;
using optim::SGDOptions;
using optim::StepLR;

namespace {

constexpr int kSteps = 20;
constexpr int kCheckpointAfter = 10;  // gen_optim.py's CHECKPOINT_AFTER
// float64 trajectories agree to rounding: the same formulas, summed in a different order.
constexpr double kParamTolerance = 1e-10;

// Never destroyed (Google style: no non-trivial static destructors), so no tensor outlives the
// allocator's thread-local caches at exit.
const StateDict& fixture() {
  static const StateDict* dict =
      new StateDict(load(std::string(EMBER_FIXTURES_DIR) + "/optim.safetensors"));
  return *dict;
}
const Tensor& at(const std::string& key) { return fixture().at(key); }

// The keys of `dict` under `prefix`, with the prefix removed.
StateDict under(const StateDict& dict, const std::string& prefix) {
  StateDict out;
  for (const auto& [key, value] : dict)
    if (key.rfind(prefix, 0) == 0) out.insert(key.substr(prefix.size()), value);
  return out;
}
void insert_all(StateDict& out, const StateDict& dict, const std::string& prefix) {
  for (const auto& [key, value] : dict) out.insert(prefix + key, value);
}
// A deep copy (optimizer state dicts share the live tensors).
StateDict deep_copy(const StateDict& dict) {
  StateDict out;
  for (const auto& [key, value] : dict) out.insert(key, value.clone());
  return out;
}

bool bitwise_equal(const Tensor& a, const Tensor& b) {
  return a.sizes() == b.sizes() && a.dtype() == b.dtype() &&
         a.to(kFloat64).to_vector<double>() == b.to(kFloat64).to_vector<double>();
}
void expect_same_dict(const StateDict& got, const StateDict& want) {
  ASSERT_EQ(got.keys(), want.keys());
  for (const auto& [key, value] : want) EXPECT_TRUE(bitwise_equal(got.at(key), value)) << key;
}

template <class F>
void expect_error(F&& f, const std::string& expected) {
  try {
    f();
    ADD_FAILURE() << "no ember::Error; expected: " << expected;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(expected), std::string::npos)
        << "message: " << e.what() << "\nexpected to contain: " << expected;
  }
}

// ---- the fixed problem: loss = ((tanh(x @ w1^T + b1) @ w2^T - y)^2).mean() ----

struct Params {
  Tensor w1, b1, w2;
  std::vector<Tensor> all() const { return {w1, b1, w2}; }
};
const char* const kParamNames[] = {"w1", "b1", "w2"};

Tensor leaf(const Tensor& value) {
  Tensor t = value.detach().clone();
  t.requires_grad_();
  return t;
}
Params initial_params() {
  return {leaf(at("problem.w1")), leaf(at("problem.b1")), leaf(at("problem.w2"))};
}
Params params_after(const std::string& run, int step) {
  return {leaf(at(run + ".w1").select(0, step - 1)), leaf(at(run + ".b1").select(0, step - 1)),
          leaf(at(run + ".w2").select(0, step - 1))};
}

Tensor loss_of(const Params& p, bool use_b1) {
  Tensor h = matmul(at("problem.x"), p.w1.t());
  if (use_b1) h = h + p.b1;
  return (matmul(h.tanh(), p.w2.t()) - at("problem.y")).square().mean();
}

// ---- the runs: gen_optim.py's RUNS, configuration for configuration ----

using MakeOptimizer = std::function<std::unique_ptr<optim::Optimizer>(const Params&)>;
using MakeScheduler = std::function<std::unique_ptr<optim::LRScheduler>(optim::Optimizer&)>;

struct RunConfig {
  std::string name;
  MakeOptimizer optimizer;
  MakeScheduler scheduler;  // may be empty
  bool skip_b1 = false;     // b1 leaves the loss on odd steps
};

template <class O, class Options>
MakeOptimizer one_group(Options options) {
  return [options](const Params& p) { return std::make_unique<O>(p.all(), options); };
}

const std::vector<RunConfig>& runs() {
  static const std::vector<RunConfig> all = {
      {"sgd_plain", one_group<SGD>(SGDOptions(0.1)), {}},
      {"sgd_momentum", one_group<SGD>(SGDOptions(0.1).momentum(0.9)), {}},
      {"sgd_dampening", one_group<SGD>(SGDOptions(0.1).momentum(0.9).dampening(0.25)), {}},
      {"sgd_nesterov", one_group<SGD>(SGDOptions(0.1).momentum(0.9).nesterov(true)), {}},
      {"sgd_weight_decay", one_group<SGD>(SGDOptions(0.1).weight_decay(0.05)), {}},
      {"sgd_all",
       one_group<SGD>(SGDOptions(0.05).momentum(0.8).weight_decay(0.01).nesterov(true)),
       {}},
      {"sgd_momentum_skip_b1", one_group<SGD>(SGDOptions(0.1).momentum(0.9)), {}, true},
      {"adam", one_group<Adam>(AdamOptions(0.05)), {}},
      {"adam_weight_decay", one_group<Adam>(AdamOptions(0.05).weight_decay(0.1)), {}},
      {"adam_amsgrad",
       one_group<Adam>(AdamOptions(0.05).betas({0.8, 0.99}).eps(1e-6).amsgrad(true)),
       {}},
      {"adam_skip_b1", one_group<Adam>(AdamOptions(0.05)), {}, true},
      {"adamw", one_group<AdamW>(AdamWOptions(0.05)), {}},
      {"adamw_amsgrad", one_group<AdamW>(AdamWOptions(0.05).weight_decay(0.1).amsgrad(true)), {}},
      {"sgd_groups",
       [](const Params& p) {
         return std::make_unique<SGD>(
             std::vector<OptimizerParamGroup>{
                 OptimizerParamGroup({p.w1, p.b1}),
                 OptimizerParamGroup({p.w2}, SGDOptions(0.02).momentum(0.5))},
             SGDOptions(0.1).momentum(0.9));
       },
       {}},
      {"adam_groups",
       [](const Params& p) {
         return std::make_unique<Adam>(
             std::vector<OptimizerParamGroup>{
                 OptimizerParamGroup({p.w1}),
                 OptimizerParamGroup({p.b1, p.w2}, AdamOptions(0.01).weight_decay(0.1))},
             AdamOptions(0.05));
       },
       {}},
      {"sgd_step_lr", one_group<SGD>(SGDOptions(0.2).momentum(0.9)),
       [](optim::Optimizer& o) { return std::make_unique<StepLR>(o, 4, 0.5); }},
      {"adam_cosine", one_group<Adam>(AdamOptions(0.05)),
       [](optim::Optimizer& o) { return std::make_unique<CosineAnnealingLR>(o, 7, 0.005); }},
      {"adamw_groups_cosine",
       [](const Params& p) {
         return std::make_unique<AdamW>(
             std::vector<OptimizerParamGroup>{
                 OptimizerParamGroup({p.w1, p.w2}),
                 OptimizerParamGroup({p.b1}, AdamWOptions(0.1).weight_decay(0.05).amsgrad(true))},
             AdamWOptions(0.05).weight_decay(0.05));
       },
       [](optim::Optimizer& o) { return std::make_unique<CosineAnnealingLR>(o, 6); }},
  };
  return all;
}

const RunConfig& run_named(const std::string& name) {
  for (const RunConfig& r : runs())
    if (r.name == name) return r;
  throw Error("no run " + name);
}

// One training run: zero_grad, forward, backward, step, scheduler step — gen_optim.py's loop.
struct Training {
  Training(const RunConfig& run, Params start)
      : run(run), p(std::move(start)), optimizer(run.optimizer(p)) {
    if (run.scheduler) scheduler = run.scheduler(*optimizer);
  }
  // Step k (0-based); returns its loss.
  double step(int k) {
    optimizer->zero_grad();
    Tensor loss = loss_of(p, !(run.skip_b1 && k % 2 == 1));
    loss.backward();
    optimizer->step();
    if (scheduler) scheduler->step();
    return loss.item<double>();
  }
  StateDict checkpoint() const {
    StateDict out;
    insert_all(out, optimizer->state_dict(), "optimizer.");
    if (scheduler) insert_all(out, scheduler->state_dict(), "scheduler.");
    return out;
  }

  const RunConfig& run;
  Params p;
  std::unique_ptr<optim::Optimizer> optimizer;
  std::unique_ptr<optim::LRScheduler> scheduler;
};

// Compares step k (0-based) of `t` with PyTorch's; returns the largest parameter difference.
double expect_matches_torch(const Training& t, int k, double loss) {
  const std::string& run = t.run.name;
  double worst = 0;
  const std::vector<Tensor> params = t.p.all();
  for (size_t i = 0; i < params.size(); ++i) {
    const double diff = max_abs_diff(params[i], at(run + "." + kParamNames[i]).select(0, k));
    EXPECT_LE(diff, kParamTolerance) << run << " step " << k + 1 << " " << kParamNames[i];
    worst = std::max(worst, diff);
  }
  EXPECT_NEAR(loss, at(run + ".loss").to_vector<double>()[k], 1e-12) << run << " step " << k + 1;
  if (fixture().contains(run + ".lr")) {
    const std::vector<double> want = at(run + ".lr").select(0, k).to_vector<double>();
    const std::vector<double> got = t.scheduler->get_last_lr();
    EXPECT_EQ(got.size(), want.size());
    if (got.size() != want.size()) return worst;
    for (size_t g = 0; g < want.size(); ++g)
      EXPECT_NEAR(got[g], want[g], 1e-15) << run << " lr of group " << g << " after step " << k + 1;
  }
  return worst;
}

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "ember_optim_" + name + ".safetensors";
}

}  // namespace

// ---- golden trajectories ----

TEST(Optim, FixtureAndTestNameTheSameRuns) {
  std::set<std::string> in_fixture, in_test;
  for (const std::string& key : fixture().keys()) {
    const std::string tail = ".loss";
    if (key.size() > tail.size() && key.compare(key.size() - tail.size(), tail.size(), tail) == 0)
      in_fixture.insert(key.substr(0, key.size() - tail.size()));
  }
  for (const RunConfig& r : runs()) in_test.insert(r.name);
  EXPECT_EQ(in_fixture, in_test);
  EXPECT_GE(in_test.size(), 18u);
}

class OptimGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(OptimGolden, TwentyStepsMatchPyTorch) {
  Training t(run_named(GetParam()), initial_params());
  double worst = 0;
  for (int k = 0; k < kSteps; ++k) {
    const double loss = t.step(k);
    worst = std::max(worst, expect_matches_torch(t, k, loss));
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.3g", worst);
  RecordProperty("max_abs_diff", text);
}

// The runs gen_optim.py saved torch's state_dict for (after 10 steps, converted to ember's names).
const std::vector<std::string> kTorchCheckpointRuns = {"sgd_momentum", "adam_amsgrad",
                                                       "adam_skip_b1", "sgd_groups",
                                                       "sgd_step_lr",  "adamw_groups_cosine"};

TEST(Optim, FixtureHasTheTorchCheckpoints) {
  std::set<std::string> found;
  for (const std::string& key : fixture().keys()) {
    const size_t pos = key.find(".checkpoint.");
    if (pos != std::string::npos) found.insert(key.substr(0, pos));
  }
  EXPECT_EQ(found, std::set<std::string>(kTorchCheckpointRuns.begin(), kTorchCheckpointRuns.end()));
}

// torch's checkpoint, loaded into a fresh ember optimizer (and scheduler), resumes the run: the
// state encoding means what PyTorch's state means.
class OptimTorchCheckpoint : public ::testing::TestWithParam<std::string> {};

TEST_P(OptimTorchCheckpoint, ResumesTheRun) {
  const std::string run = GetParam();
  Training t(run_named(run), params_after(run, kCheckpointAfter));
  t.optimizer->load_state_dict(under(fixture(), run + ".checkpoint."));
  if (t.scheduler) t.scheduler->load_state_dict(under(fixture(), run + ".scheduler."));
  for (int k = kCheckpointAfter; k < kSteps; ++k) {
    const double loss = t.step(k);
    expect_matches_torch(t, k, loss);
  }
}

INSTANTIATE_TEST_SUITE_P(Optim, OptimTorchCheckpoint, ::testing::ValuesIn(kTorchCheckpointRuns),
                         [](const auto& info) { return info.param; });

// Ten steps, a checkpoint through a safetensors file, a fresh optimizer (and scheduler) loaded
// from it: the next ten steps are bit for bit those of the uninterrupted run.
TEST_P(OptimGolden, CheckpointThroughFileResumesBitForBit) {
  const RunConfig& run = run_named(GetParam());
  Training straight(run, initial_params());
  for (int k = 0; k < kSteps; ++k) straight.step(k);

  Training first(run, initial_params());
  for (int k = 0; k < kCheckpointAfter; ++k) first.step(k);
  const std::string path = temp_path(run.name);
  save(first.checkpoint(), path);
  const StateDict loaded = load(path);
  std::remove(path.c_str());

  Training resumed(run, {leaf(first.p.w1), leaf(first.p.b1), leaf(first.p.w2)});
  resumed.optimizer->load_state_dict(under(loaded, "optimizer."));
  if (resumed.scheduler) resumed.scheduler->load_state_dict(under(loaded, "scheduler."));
  expect_same_dict(resumed.optimizer->state_dict(), first.optimizer->state_dict());
  for (int k = kCheckpointAfter; k < kSteps; ++k) resumed.step(k);

  const std::vector<Tensor> got = resumed.p.all(), want = straight.p.all();
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_TRUE(bitwise_equal(got[i], want[i]))
        << kParamNames[i] << " differs by " << max_abs_diff(got[i], want[i]);
  expect_same_dict(resumed.optimizer->state_dict(), straight.optimizer->state_dict());
  if (straight.scheduler) {
    EXPECT_EQ(resumed.scheduler->get_last_lr(), straight.scheduler->get_last_lr());
  }
}

std::vector<std::string> run_names() {
  std::vector<std::string> names;
  for (const RunConfig& r : runs()) names.push_back(r.name);
  return names;
}
INSTANTIATE_TEST_SUITE_P(Optim, OptimGolden, ::testing::ValuesIn(run_names()),
                         [](const auto& info) { return info.param; });

// ---- construction: defaults and PyTorch's errors ----

TEST(Optim, OptionDefaultsAreLibTorchs) {
  const SGDOptions sgd(0.1);
  EXPECT_EQ(sgd.momentum(), 0);
  EXPECT_EQ(sgd.dampening(), 0);
  EXPECT_EQ(sgd.weight_decay(), 0);
  EXPECT_FALSE(sgd.nesterov());
  const AdamOptions adam;
  EXPECT_EQ(adam.lr(), 1e-3);
  EXPECT_EQ(adam.betas(), optim::Betas(0.9, 0.999));
  EXPECT_EQ(adam.eps(), 1e-8);
  EXPECT_EQ(adam.weight_decay(), 0);
  EXPECT_FALSE(adam.amsgrad());
  const AdamWOptions adamw;
  EXPECT_EQ(adamw.lr(), 1e-3);
  EXPECT_EQ(adamw.weight_decay(), 1e-2);
  EXPECT_EQ(adamw.betas(), optim::Betas(0.9, 0.999));
}

TEST(Optim, ConstructorErrorsUsePyTorchWording) {
  const std::vector<Tensor> p = initial_params().all();
  expect_error([] { SGD(std::vector<Tensor>{}, 0.1); }, "optimizer got an empty parameter list");
  expect_error([] { Adam(std::vector<OptimizerParamGroup>{}); },
               "optimizer got an empty parameter list");
  expect_error([&] { SGD(p, -0.1); }, "Invalid learning rate: -0.1");
  // PyTorch checks the options before the parameters.
  expect_error([] { SGD(std::vector<Tensor>{}, -0.1); }, "Invalid learning rate: -0.1");
  expect_error([&] { SGD(p, SGDOptions(0.1).momentum(-0.5)); }, "Invalid momentum value: -0.5");
  expect_error([&] { SGD(p, SGDOptions(0.1).weight_decay(-1e-5)); },
               "Invalid weight_decay value: -1e-05");
  expect_error([&] { SGD(p, SGDOptions(0.1).nesterov(true)); },
               "Nesterov momentum requires a momentum and zero dampening");
  expect_error([&] { SGD(p, SGDOptions(0.1).momentum(0.9).dampening(0.1).nesterov(true)); },
               "Nesterov momentum requires a momentum and zero dampening");
  expect_error([&] { Adam(p, AdamOptions(-1)); }, "Invalid learning rate: -1.0");
  expect_error([&] { Adam(p, AdamOptions().eps(-1e-8)); }, "Invalid epsilon value: -1e-08");
  expect_error(
      [&] {
        Adam(p, AdamOptions().betas({1.0, 0.999}));
      },
      "Invalid beta parameter at index 0: 1.0");
  expect_error(
      [&] {
        Adam(p, AdamOptions().betas({-0.1, 0.999}));
      },
      "Invalid beta parameter at index 0: -0.1");
  expect_error(
      [&] {
        Adam(p, AdamOptions().betas({0.9, 1.0}));
      },
      "Invalid beta parameter at index 1: 1.0");
  expect_error([&] { Adam(p, AdamOptions().weight_decay(-0.5)); },
               "Invalid weight_decay value: -0.5");
  expect_error([&] { AdamW(p, AdamWOptions(-0.001)); }, "Invalid learning rate: -0.001");
  expect_error(
      [&] {
        AdamW(p, AdamWOptions().betas({0.9, 1.5}));
      },
      "Invalid beta parameter at index 1: 1.5");
  expect_error([&] { AdamW(p, AdamWOptions().weight_decay(-0.01)); },
               "Invalid weight_decay value: -0.01");
  // Group options are checked too.
  expect_error([&] { SGD({OptimizerParamGroup(p, SGDOptions(-1.0))}, 0.1); },
               "Invalid learning rate: -1.0");
}

TEST(Optim, ParameterErrors) {
  const Params p = initial_params();
  expect_error(
      [&] {
        SGD({OptimizerParamGroup({p.w1, p.b1}), OptimizerParamGroup({p.b1})}, 0.1);
      },
      "some parameters appear in more than one parameter group");
  expect_error(
      [&] {
        SGD({p.w1, p.w1}, 0.1);
      },
      "optimizer contains a parameter group with duplicate parameters");
  expect_error([&] { SGD({p.w1 * 2.0}, 0.1); }, "can't optimize a non-leaf Tensor");
  expect_error([&] { SGD({Tensor()}, 0.1); }, "optimizer can only optimize Tensors");
  expect_error([&] { SGD({OptimizerParamGroup({p.w1}, AdamOptions(0.1))}, 0.1); },
               "options must be of the optimizer's options type");

  SGD sgd({p.w1}, 0.1);
  expect_error(
      [&] {
        sgd.add_param_group(OptimizerParamGroup({p.b1, p.w1}));
      },
      "some parameters appear in more than one parameter group");
  EXPECT_EQ(sgd.param_groups().size(), 1u);  // the failed group was not added
}

// ---- behaviour ----

TEST(Optim, ZeroGradDropsOrZeroesGradients) {
  const Params p = initial_params();
  SGD sgd(p.all(), 0.1);
  loss_of(p, true).backward();
  for (const Tensor& t : p.all()) ASSERT_TRUE(t.grad().defined());
  sgd.zero_grad(/*set_to_none=*/false);
  for (const Tensor& t : p.all()) {
    ASSERT_TRUE(t.grad().defined());
    EXPECT_EQ(t.grad().abs().sum().item<double>(), 0.0);
  }
  sgd.zero_grad();  // PyTorch 2's default: set_to_none
  for (const Tensor& t : p.all()) EXPECT_FALSE(t.grad().defined());
  sgd.zero_grad();  // nothing to drop: fine
}

TEST(Optim, SkipsParametersWithoutGradient) {
  for (int which = 0; which < 3; ++which) {
    const Params p = initial_params();
    std::unique_ptr<optim::Optimizer> opt;
    if (which == 0) opt = std::make_unique<SGD>(p.all(), SGDOptions(0.1).momentum(0.9));
    if (which == 1) opt = std::make_unique<Adam>(p.all(), AdamOptions(0.1));
    if (which == 2) opt = std::make_unique<AdamW>(p.all(), AdamWOptions(0.1));
    const Tensor b1_before = p.b1.clone();
    for (int k = 0; k < 3; ++k) {
      opt->zero_grad();
      loss_of(p, /*use_b1=*/false).backward();
      ASSERT_FALSE(p.b1.grad().defined());
      opt->step();
    }
    SCOPED_TRACE(opt->name());
    EXPECT_TRUE(bitwise_equal(p.b1, b1_before));  // AdamW's decay included: no step at all
    EXPECT_TRUE(opt->state(p.b1).empty());
    EXPECT_FALSE(opt->state(p.w1).empty());
    for (const std::string& key : opt->state_dict().keys()) EXPECT_NE(key.rfind("state.1.", 0), 0u);
  }
}

TEST(Optim, StepLeavesGradientsUnchanged) {
  const Params p = initial_params();
  SGD sgd(p.all(), SGDOptions(0.1).momentum(0.9).weight_decay(0.1).nesterov(true));
  Adam adam(p.all(), AdamOptions(0.1).weight_decay(0.1));
  AdamW adamw(p.all(), AdamWOptions(0.1));
  loss_of(p, true).backward();
  std::vector<Tensor> grads;
  for (const Tensor& t : p.all()) grads.push_back(t.grad().clone());
  for (int k = 0; k < 2; ++k) {  // the second SGD step updates the momentum buffer in place
    sgd.step();
    adam.step();
    adamw.step();
  }
  for (size_t i = 0; i < grads.size(); ++i)
    EXPECT_TRUE(bitwise_equal(p.all()[i].grad(), grads[i])) << kParamNames[i];
}

TEST(Optim, ParamGroupsHaveTheirOwnLr) {
  const Params p = initial_params();
  SGD sgd({OptimizerParamGroup({p.w1})}, 0.1);
  sgd.add_param_group(OptimizerParamGroup({p.b1}));  // takes the defaults
  sgd.add_param_group(OptimizerParamGroup({p.w2}, SGDOptions(0.01)));
  ASSERT_EQ(sgd.param_groups().size(), 3u);
  EXPECT_EQ(sgd.param_groups()[1].options().get_lr(), 0.1);
  EXPECT_EQ(sgd.param_groups()[2].options().get_lr(), 0.01);
  const std::vector<Tensor> all = sgd.parameters();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_TRUE(all[2].is_same(p.w2));

  sgd.param_groups()[0].options().set_lr(0.5);
  loss_of(p, true).backward();
  const Tensor w1 = p.w1.clone(), b1 = p.b1.clone(), w2 = p.w2.clone();
  sgd.step();
  EXPECT_LE(max_abs_diff(p.w1, w1 - p.w1.grad() * 0.5), 1e-15);
  EXPECT_LE(max_abs_diff(p.b1, b1 - p.b1.grad() * 0.1), 1e-15);
  EXPECT_LE(max_abs_diff(p.w2, w2 - p.w2.grad() * 0.01), 1e-15);
}

TEST(Optim, StepRunsTheClosureWithGradEnabled) {
  const Params p = initial_params();
  Adam adam(p.all(), AdamOptions(0.05));
  const Tensor w1 = p.w1.clone();
  NoGradGuard no_grad;  // as in an evaluation loop: the closure must still build a graph
  const Tensor loss = adam.step([&] {
    adam.zero_grad();
    Tensor l = loss_of(p, true);
    l.backward();
    return l;
  });
  ASSERT_TRUE(loss.defined());
  EXPECT_NEAR(loss.item<double>(), at("adam.loss").to_vector<double>()[0], 1e-12);
  EXPECT_LE(max_abs_diff(p.w1, at("adam.w1").select(0, 0)), kParamTolerance);
  EXPECT_FALSE(is_grad_enabled());
  EXPECT_FALSE(adam.step().defined());  // without a closure: no loss
}

TEST(Optim, Float32ParametersKeepFloat32State) {
  Tensor w = leaf(at("problem.w1").to(kFloat32));
  Adam adam({w}, AdamOptions(0.1).amsgrad(true));
  (w * w).sum().backward();
  adam.step();
  const StateDict& st = adam.state(w);
  EXPECT_EQ(st.keys(),
            (std::vector<std::string>{"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}));
  EXPECT_EQ(st.at("step").dtype(), kFloat64);
  EXPECT_EQ(st.at("exp_avg").dtype(), kFloat32);
  EXPECT_EQ(w.dtype(), kFloat32);

  // Float64 state loads into float32 parameters converted, as PyTorch casts to the param's dtype.
  StateDict dict = adam.state_dict();
  StateDict as_f64;
  for (const auto& [key, value] : dict)
    as_f64.insert(key, value.dtype() == kFloat32 ? value.to(kFloat64) : value);
  Adam fresh({leaf(w)}, AdamOptions(0.1).amsgrad(true));
  fresh.load_state_dict(as_f64);
  EXPECT_EQ(fresh.state(fresh.parameters()[0]).at("exp_avg").dtype(), kFloat32);
}

// ---- state dicts ----

TEST(Optim, StateDictLayout) {
  const Params p = initial_params();
  Adam adam({OptimizerParamGroup({p.w1, p.b1}), OptimizerParamGroup({p.w2}, AdamOptions(0.01))},
            AdamOptions(0.05).betas({0.8, 0.99}).amsgrad(true));
  loss_of(p, false).backward();  // b1 gets no gradient: no state
  adam.step();
  const StateDict dict = adam.state_dict();
  const std::vector<std::string> want = {
      "state.0.step",
      "state.0.exp_avg",
      "state.0.exp_avg_sq",
      "state.0.max_exp_avg_sq",
      "state.2.step",
      "state.2.exp_avg",
      "state.2.exp_avg_sq",
      "param_groups.0.lr",
      "param_groups.0.betas",
      "param_groups.0.eps",
      "param_groups.0.weight_decay",
      "param_groups.0.amsgrad",
      "param_groups.0.params",
      "param_groups.1.lr",
      "param_groups.1.betas",
      "param_groups.1.eps",
      "param_groups.1.weight_decay",
      "param_groups.1.amsgrad",
      "param_groups.1.params",
  };
  EXPECT_EQ(dict.keys(), want);
  EXPECT_EQ(dict.at("state.0.step").dtype(), kFloat64);
  EXPECT_EQ(dict.at("state.0.step").dim(), 0);
  EXPECT_EQ(dict.at("state.0.step").item<double>(), 1.0);
  EXPECT_EQ(dict.at("state.2.exp_avg").sizes(), (Shape{2, 4}));
  EXPECT_EQ(dict.at("param_groups.0.betas").to_vector<double>(), (std::vector<double>{0.8, 0.99}));
  EXPECT_EQ(dict.at("param_groups.0.amsgrad").item<double>(), 1.0);
  EXPECT_EQ(dict.at("param_groups.1.lr").dtype(), kFloat64);
  EXPECT_EQ(dict.at("param_groups.1.lr").item<double>(), 0.01);
  EXPECT_EQ(dict.at("param_groups.0.params").dtype(), kInt64);
  EXPECT_EQ(dict.at("param_groups.0.params").to_vector<int64_t>(), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(dict.at("param_groups.1.params").to_vector<int64_t>(), (std::vector<int64_t>{2}));

  SGD sgd(p.all(), SGDOptions(0.1).nesterov(true).momentum(0.5));
  const StateDict s = sgd.state_dict();  // before any step: hyper-parameters only
  EXPECT_EQ(s.keys(),
            (std::vector<std::string>{"param_groups.0.lr", "param_groups.0.momentum",
                                      "param_groups.0.dampening", "param_groups.0.weight_decay",
                                      "param_groups.0.nesterov", "param_groups.0.params"}));
  EXPECT_EQ(s.at("param_groups.0.nesterov").item<double>(), 1.0);
}

TEST(Optim, LoadStateDictRestoresHyperparameters) {
  const Params p = initial_params();
  SGD a(p.all(), SGDOptions(0.3).momentum(0.7).weight_decay(0.01));
  SGD b(p.all(), 0.1);
  b.load_state_dict(a.state_dict());
  const auto& o = static_cast<const SGDOptions&>(b.param_groups()[0].options());
  EXPECT_EQ(o.lr(), 0.3);
  EXPECT_EQ(o.momentum(), 0.7);
  EXPECT_EQ(o.weight_decay(), 0.01);
  // The loaded state is a copy: stepping does not write into the dict.
  loss_of(p, true).backward();
  a.step();
  const StateDict dict = deep_copy(a.state_dict());
  const StateDict snapshot = deep_copy(dict);
  b.load_state_dict(dict);
  b.step();
  expect_same_dict(dict, snapshot);
  EXPECT_FALSE(bitwise_equal(b.state_dict().at("state.0.momentum_buffer"),
                             dict.at("state.0.momentum_buffer")));
}

TEST(Optim, LoadStateDictErrorsChangeNothing) {
  // Two Adam optimizers on identical copies; `target` receives every bad dict, `twin` none.
  Params pt = initial_params(), pw = initial_params();
  auto make = [](const Params& p) {
    return std::make_unique<Adam>(
        std::vector<OptimizerParamGroup>{OptimizerParamGroup({p.w1, p.b1}),
                                         OptimizerParamGroup({p.w2}, AdamOptions(0.01))},
        AdamOptions(0.05));
  };
  auto target = make(pt), twin = make(pw);
  for (int k = 0; k < 3; ++k)
    for (auto* run : {&pt, &pw}) {
      auto& opt = run == &pt ? target : twin;
      opt->zero_grad();
      loss_of(*run, true).backward();
      opt->step();
    }
  const StateDict good = deep_copy(target->state_dict());

  // good minus the keys `drop`, with `replace` put in (replacing or added).
  auto edited = [&](std::set<std::string> drop,
                    std::vector<std::pair<std::string, Tensor>> replace) {
    StateDict out;
    for (const auto& [key, value] : replace) drop.insert(key);
    for (const auto& [key, value] : good)
      if (!drop.count(key)) out.insert(key, value);
    for (const auto& [key, value] : replace) out.insert(key, value);
    return out;
  };
  std::set<std::string> group1;
  for (const std::string& key : good.keys())
    if (key.rfind("param_groups.1.", 0) == 0) group1.insert(key);

  const std::vector<std::pair<StateDict, std::string>> cases = {
      {edited(group1, {}), "loaded state dict has a different number of parameter groups"},
      {edited({}, {{"param_groups.0.params", tensor({0, 1, 2}, {3}, kInt64)}}),
       "loaded state dict contains a parameter group that doesn't match the size of optimizer's "
       "group"},
      {edited({}, {{"state.0.exp_avg", zeros({2}, kFloat64)}}),
       "size mismatch for state.0.exp_avg: copying a param with shape [2] from checkpoint, the "
       "shape in current optimizer is [4, 3]."},
      {edited({}, {{"state.1.step", zeros({2}, kFloat64)}}), "size mismatch for state.1.step"},
      {edited({"param_groups.0.eps"}, {}), "Missing key(s) in state_dict: \"param_groups.0.eps\""},
      {edited({"state.1.exp_avg_sq"}, {}), "Missing key(s) in state_dict: \"state.1.exp_avg_sq\""},
      {edited({}, {{"param_groups.0.amsgrad", scalar_tensor(1.0, kFloat64)}}),
       "Missing key(s) in state_dict: \"state.0.max_exp_avg_sq\""},
      {edited({}, {{"param_groups.0.maximize", scalar_tensor(0.0, kFloat64)}}),
       "Unexpected key(s) in state_dict: \"param_groups.0.maximize\""},
      {edited({}, {{"state.7.exp_avg", zeros({4, 3}, kFloat64)}}),
       "Unexpected key(s) in state_dict: \"state.7.exp_avg\""},
      {edited({}, {{"state.0.momentum_buffer", zeros({4, 3}, kFloat64)}}),
       "Unexpected key(s) in state_dict: \"state.0.momentum_buffer\""},
      {edited({}, {{"momentum", zeros({4, 3}, kFloat64)}}),
       "Unexpected key(s) in state_dict: \"momentum\""},
      {edited({}, {{"param_groups.1.lr", scalar_tensor(-1.0, kFloat64)}}),
       "Invalid learning rate: -1.0"},
      {edited({}, {{"param_groups.0.amsgrad", scalar_tensor(0.5, kFloat64)}}),
       "\"param_groups.0.amsgrad\" is a flag and must be 0 or 1"},
      {edited({}, {{"param_groups.0.betas", tensor({0.9, 0.99, 0.1}, {3}, kFloat64)}}),
       "\"param_groups.0.betas\" has shape [3], expected [2]"},
      {edited({}, {{"param_groups.1.params", tensor({0}, {1}, kInt64)}}),
       "parameter index 0 appears twice"},
      {edited({}, {{"param_groups.1.params", tensor({2}, {1}, kFloat64)}}),
       "\"param_groups.1.params\" must be an int64 vector"},
  };
  for (const auto& [dict, message] : cases) {
    SCOPED_TRACE(message);
    expect_error([&] { target->load_state_dict(dict); }, message);
    expect_same_dict(target->state_dict(), good);
  }
  // And the optimizer still steps exactly like its twin.
  for (auto* run : {&pt, &pw}) {
    auto& opt = run == &pt ? target : twin;
    opt->zero_grad();
    loss_of(*run, true).backward();
    opt->step();
  }
  expect_same_dict(target->state_dict(), twin->state_dict());
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(bitwise_equal(pt.all()[i], pw.all()[i]));

  // An Int64 step counter (another writer's choice) is accepted and kept as Float64.
  target->load_state_dict(edited({}, {{"state.0.step", scalar_tensor(4.0, kInt64)}}));
  EXPECT_EQ(target->state(pt.w1).at("step").dtype(), kFloat64);
  EXPECT_EQ(target->state(pt.w1).at("step").item<double>(), 4.0);
}

TEST(Optim, OptionsChangedAfterSteppingAreCheckedBeforeAnyUpdate) {
  const Params p = initial_params();
  Adam adam(p.all(), AdamOptions(0.05));
  loss_of(p, true).backward();
  adam.step();
  static_cast<AdamOptions&>(adam.param_groups()[0].options()).amsgrad(true);
  const Tensor w1 = p.w1.clone();
  expect_error([&] { adam.step(); }, "parameter 0 has no 'max_exp_avg_sq' state");
  EXPECT_TRUE(bitwise_equal(p.w1, w1));
  EXPECT_EQ(adam.state(p.w1).at("step").item<double>(), 1.0);
  // amsgrad off again: the state it needs is there; an extra one (after off->on->off) is fine.
  static_cast<AdamOptions&>(adam.param_groups()[0].options()).amsgrad(false);
  adam.step();

  // SGD: momentum turned off drops the buffer, as PyTorch's momentum_buffer = None does.
  SGD sgd(p.all(), SGDOptions(0.1).momentum(0.9));
  sgd.step();
  EXPECT_FALSE(sgd.state(p.w1).empty());
  static_cast<SGDOptions&>(sgd.param_groups()[0].options()).momentum(0);
  sgd.step();
  EXPECT_TRUE(sgd.state(p.w1).empty());
}

// ---- schedulers ----

TEST(Optim, StepLRFollowsItsClosedForm) {
  const Params p = initial_params();
  SGD sgd({OptimizerParamGroup({p.w1}), OptimizerParamGroup({p.b1}, SGDOptions(0.4))}, 0.1);
  StepLR sched(sgd, 3, 0.5);
  EXPECT_EQ(sched.get_last_lr(), (std::vector<double>{0.1, 0.4}));
  EXPECT_EQ(sched.base_lrs(), (std::vector<double>{0.1, 0.4}));
  for (int epoch = 1; epoch <= 10; ++epoch) {
    sched.step();
    EXPECT_EQ(sched.last_epoch(), epoch);
    const double factor = std::pow(0.5, epoch / 3);
    EXPECT_DOUBLE_EQ(sched.get_last_lr()[0], 0.1 * factor);
    EXPECT_DOUBLE_EQ(sgd.param_groups()[1].options().get_lr(), 0.4 * factor);
  }
}

TEST(Optim, CosineAnnealingLRFollowsItsClosedForm) {
  const Params p = initial_params();
  Adam adam(p.all(), AdamOptions(0.1));
  CosineAnnealingLR sched(adam, 5, 0.01);
  for (int epoch = 1; epoch <= 25; ++epoch) {
    sched.step();
    const double want = 0.01 + (0.1 - 0.01) * (1 + std::cos(std::numbers::pi * epoch / 5)) / 2;
    EXPECT_NEAR(sched.get_last_lr()[0], want, 1e-15) << "epoch " << epoch;
  }
}

TEST(Optim, SchedulerErrors) {
  const Params p = initial_params();
  SGD sgd(p.all(), 0.1);
  expect_error([&] { StepLR(sgd, 0); }, "StepLR: step_size must be at least 1, got 0");
  expect_error([&] { CosineAnnealingLR(sgd, 0); }, "CosineAnnealingLR: T_max must be at least 1");

  StepLR sched(sgd, 2, 0.5);
  sched.step();
  const StateDict good = sched.state_dict();
  EXPECT_EQ(good.keys(), (std::vector<std::string>{"step_size", "gamma", "base_lrs", "last_epoch",
                                                   "_step_count", "_last_lr"}));
  auto with = [&](const std::string& key, const Tensor& value) {
    StateDict out;
    for (const auto& [k, v] : good) out.insert(k, k == key ? value : v);
    if (!good.contains(key)) out.insert(key, value);
    return out;
  };
  expect_error([&] { sched.load_state_dict(with("base_lrs", zeros({2}, kFloat64))); },
               "\"base_lrs\" has shape [2], expected [1]");
  expect_error([&] { sched.load_state_dict(with("step_size", scalar_tensor(0, kInt64))); },
               "step_size must be at least 1");
  expect_error([&] { sched.load_state_dict(with("verbose", scalar_tensor(0, kInt64))); },
               "Unexpected key(s) in state_dict: \"verbose\"");
  expect_same_dict(sched.state_dict(), good);
  EXPECT_EQ(sched.step_size(), 2);

  // A group added after the scheduler was made: PyTorch would silently skip it.
  sgd.add_param_group(OptimizerParamGroup({leaf(p.w1)}));
  expect_error([&] { sched.step(); }, "the optimizer has 2 parameter groups");
}
