// Normalization layers against PyTorch: every case in fixtures/norm_*.safetensors (written by
// tests/golden/gen_norm.py with torch 1.13) is rebuilt as an ember module, loaded with the same
// state, and run: outputs and input/weight/bias gradients in train and eval mode, running stats
// over three training steps and the eval output after them, state_dict key order, the functional
// forms, channels-last and strided inputs, and the Native and oneDNN backends against each other.
//
// The fixtures describe themselves (metadata "<case>/spec" is the layer and its PyTorch options
// as JSON), so each test is one loop over all cases; failures are gathered per case and reported
// with the case name, the tensor and ember::max_abs_diff.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ember/ember.h"
#include "tests/fixture_cases.h"
#include "tests/norm_test_support.h"

using namespace ember;
using ember::norm_test::find_state;
using ember::norm_test::functional_forward;
using ember::norm_test::make_module;
using ember::norm_test::NormSpec;

namespace {

const char* const kFixtureFiles[] = {"norm_batchnorm", "norm_instancenorm", "norm_layernorm",
                                     "norm_groupnorm", "norm_rmsnorm"};
// What gen_norm.py writes; fewer means a fixture file is stale or truncated.
constexpr size_t kExpectedCases = 236;

struct Tolerance {
  double rtol, atol;
};
// The bounds: ember and PyTorch sum in different orders, nothing more (f64: the same at
// float64's precision).
constexpr Tolerance kF32{1e-4, 1e-5};
constexpr Tolerance kF64{1e-10, 1e-10};
// Native vs oneDNN on the same float32 data.
constexpr Tolerance kBackends{1e-5, 1e-5};

struct Case {
  std::string name;
  NormSpec spec;
  DType dtype = kFloat32;
  Shape shape;
  std::vector<std::string> modes;
  int steps = 0;
  std::vector<std::string> keys;
  std::shared_ptr<const StateDict> tensors;  // the whole fixture file

  Tensor get(const std::string& what) const { return tensors->at(name + "/" + what); }
  bool has(const std::string& what) const { return tensors->contains(name + "/" + what); }
  Tolerance tolerance() const { return dtype == kFloat64 ? kF64 : kF32; }
  StateDict init_state() const {
    StateDict state;
    for (const std::string& key : keys) state.insert(key, get("init/" + key));
    return state;
  }
};

NormSpec spec_from_json(const std::string& layer, const nlohmann::json& o) {
  NormSpec s;
  s.layer = layer;
  if (o.contains("num_features")) s.num_features = o.at("num_features");
  if (o.contains("num_channels")) s.num_features = o.at("num_channels");
  if (o.contains("num_groups")) s.num_groups = o.at("num_groups");
  if (o.contains("normalized_shape")) s.normalized_shape = o.at("normalized_shape").get<Shape>();
  if (o.contains("affine")) s.affine = o.at("affine").get<bool>();
  if (o.contains("elementwise_affine")) s.affine = o.at("elementwise_affine").get<bool>();
  if (o.contains("bias")) s.bias = o.at("bias").get<bool>();
  if (o.contains("track_running_stats")) s.track_running_stats = o.at("track_running_stats");
  if (o.contains("eps") && !o.at("eps").is_null()) s.eps = o.at("eps").get<double>();
  if (o.contains("momentum")) {
    s.momentum = o.at("momentum").is_null() ? std::optional<double>()
                                            : std::optional<double>(o.at("momentum").get<double>());
  }
  return s;
}

// All cases of all fixture files, loaded once.
const std::vector<Case>& all_cases() {
  static const std::vector<Case> cases = [] {
    std::vector<Case> out;
    for (const auto& f :
         fixtures::load_fixture_cases({std::begin(kFixtureFiles), std::end(kFixtureFiles)})) {
      const auto& j = f.spec;
      Case c;
      c.name = f.name;
      c.spec = spec_from_json(j.at("layer"), j.at("options"));
      c.dtype = j.at("dtype") == "f64" ? kFloat64 : kFloat32;
      c.shape = j.at("shape").get<Shape>();
      c.modes = j.at("modes").get<std::vector<std::string>>();
      c.steps = j.at("steps");
      c.keys = f.keys;
      c.tensors = f.tensors;
      out.push_back(std::move(c));
    }
    return out;
  }();
  return cases;
}

struct Comparison {
  std::string problem;  // empty when close
  double used = 0;      // max over elements of |a - e| / (atol + rtol·|e|): > 1 fails
};

// Whether `actual` matches `expected` (|a - e| <= atol + rtol·|e| everywhere, same shape and
// dtype); if not, what differs, with max_abs_diff and the worst element.
Comparison compare(const Tensor& actual, const Tensor& expected, Tolerance tol) {
  std::ostringstream out;
  out.precision(10);
  if (!actual.defined()) {
    out << "undefined (expected " << shape_str(expected.sizes()) << ")";
    return {out.str(), INFINITY};
  }
  if (actual.sizes() != expected.sizes()) {
    out << "shape " << shape_str(actual.sizes()) << ", expected " << shape_str(expected.sizes());
    return {out.str(), INFINITY};
  }
  if (actual.dtype() != expected.dtype()) {
    out << "dtype " << actual.dtype() << ", expected " << expected.dtype();
    return {out.str(), INFINITY};
  }
  const std::vector<double> a = actual.to_vector<double>(), e = expected.to_vector<double>();
  Comparison result;
  int64_t worst = -1;
  for (size_t i = 0; i < a.size(); ++i) {
    const double diff = std::abs(a[i] - e[i]), allowed = tol.atol + tol.rtol * std::abs(e[i]);
    const double used = std::isnan(a[i]) != std::isnan(e[i]) || std::isnan(diff) ? INFINITY
                        : diff == 0                                              ? 0
                                                                                 : diff / allowed;
    if (used > result.used || (worst < 0 && used > 1)) {
      result.used = used;
      worst = static_cast<int64_t>(i);
    }
  }
  if (result.used <= 1) return result;
  out << "max_abs_diff " << max_abs_diff(actual, expected) << " (rtol " << tol.rtol << ", atol "
      << tol.atol << "); worst at flat index " << worst << ": got " << a[worst] << ", expected "
      << e[worst];
  result.problem = out.str();
  return result;
}

// Gathers the problems of every case and reports them case by case at the end of the test, so a
// broken kernel gives one readable failure per case (the first kMaxReported in full) plus a
// summary by layer, not thousands of lines. Also prints how much of each tolerance the closest
// call used, which shows the margin when everything passes.
class Report {
 public:
  void check(const Case& c, const std::string& what, const Tensor& actual, const Tensor& expected,
             Tolerance tol) {
    const Comparison r = compare(actual, expected, tol);
    ++compared_;
    if (tol.rtol > 0 || tol.atol > 0) {
      std::ostringstream key;
      key << "rtol " << tol.rtol << " atol " << tol.atol;
      auto& [used, where] = margins_[key.str()];
      if (r.used >= used) {
        used = r.used;
        where = c.name + " " + what;
      }
    }
    if (!r.problem.empty()) fail(c, what + ": " + r.problem);
  }
  void check(const Case& c, const std::string& what, const Tensor& actual, const Tensor& expected) {
    check(c, what, actual, expected, c.tolerance());
  }
  void fail(const Case& c, const std::string& problem) {
    auto [it, added] = problems_.try_emplace(c.name);
    if (added) order_.emplace_back(c.name, c.spec.layer);
    it->second.push_back(problem);
  }
  void ran(const Case&) { ++ran_; }

  ~Report() {
    std::cout << "[ summary  ] " << ran_ << " cases, " << compared_ << " tensors compared\n";
    for (const auto& [tol, worst] : margins_) {
      std::cout << "[ margin   ] " << tol << ": at most " << worst.first << " of it used ("
                << worst.second << ")\n";
    }
    constexpr size_t kMaxReported = 30;
    std::map<std::string, int> by_layer;
    for (size_t i = 0; i < order_.size(); ++i) {
      const auto& [name, layer] = order_[i];
      ++by_layer[layer];
      if (i >= kMaxReported) continue;
      std::string text = name;
      for (const std::string& p : problems_.at(name)) text += "\n    " + p;
      ADD_FAILURE() << text;
    }
    if (order_.empty()) return;
    std::string summary;
    for (const auto& [layer, n] : by_layer) summary += " " + layer + ":" + std::to_string(n);
    ADD_FAILURE() << order_.size() << " of " << ran_ << " cases failed (" << kMaxReported
                  << " shown in full); by layer:" << summary;
  }

 private:
  std::map<std::string, std::vector<std::string>> problems_;
  std::vector<std::pair<std::string, std::string>> order_;         // (case, layer) in failure order
  std::map<std::string, std::pair<double, std::string>> margins_;  // tolerance -> worst use
  int ran_ = 0, compared_ = 0;
};

std::shared_ptr<nn::Module> build(const Case& c) {
  auto m = make_module(c.spec);
  if (c.dtype == kFloat64) m->to(kFloat64);
  m->load_state_dict(c.init_state());
  return m;
}

// Runs one case's forward and backward in `mode` ("train"/"eval") from the initial state.
struct ModeResult {
  Tensor y, dx;
  std::map<std::string, Tensor> param_grads;  // "dweight", "dbias"
  std::shared_ptr<nn::Module> module;
};

// The memory layouts inputs are fed in. PyTorch's answers do not depend on them; ember's kernels
// take different paths for them (oneDNN's JIT wants NHWC; strided data must be gathered).
enum class Layout { Contiguous, ChannelsLast, Strided };
constexpr Layout kLayouts[] = {Layout::Contiguous, Layout::ChannelsLast, Layout::Strided};

bool applies(Layout layout, const Case& c) {
  if (layout == Layout::ChannelsLast) return c.shape.size() == 4;
  if (layout == Layout::Strided) return c.shape.size() >= 2;
  return true;
}

std::string tag(Layout layout) {
  return layout == Layout::Contiguous     ? ""
         : layout == Layout::ChannelsLast ? "channels_last "
                                          : "strided ";
}

// A copy of t in `layout`: for Strided, a non-contiguous view (first and last dims swapped in
// memory) holding the same logical values.
Tensor in_layout(const Tensor& t, Layout layout) {
  if (layout == Layout::ChannelsLast) return t.clone(MemoryFormat::ChannelsLast);
  if (layout == Layout::Strided)
    return t.transpose(0, t.dim() - 1).contiguous().transpose(0, t.dim() - 1);
  return t.clone();
}

ModeResult run_module(const Case& c, const std::string& mode, Layout layout = Layout::Contiguous) {
  ModeResult r;
  r.module = build(c);
  r.module->train(mode == "train");
  // A fresh leaf (the fixture's tensor stays untouched); grad_out in the same layout, as the
  // gradient of a layer working in that layout would be.
  Tensor x = in_layout(c.get("x"), layout);
  x.requires_grad_();
  r.y = r.module->forward(x);
  r.y.backward(in_layout(c.get("grad_out"), layout));
  r.dx = x.grad();
  for (auto& [name, p] : r.module->named_parameters()) r.param_grads["d" + name] = p.grad();
  return r;
}

void check_mode(Report& report, const Case& c, const std::string& mode, const ModeResult& r,
                const std::string& tag, Tolerance tol) {
  report.check(c, tag + mode + "/y", r.y, c.get(mode + "/y"), tol);
  report.check(c, tag + mode + "/dx", r.dx, c.get(mode + "/dx"), tol);
  for (const char* g : {"dweight", "dbias"}) {
    const bool expected = c.has(mode + "/" + g), present = r.param_grads.count(g) != 0;
    if (expected != present) {
      report.fail(c, tag + mode + "/" + g +
                         (expected ? ": module has no such parameter"
                                   : ": parameter PyTorch does not have"));
    } else if (expected) {
      report.check(c, tag + mode + "/" + g, r.param_grads.at(g), c.get(mode + "/" + g), tol);
    }
  }
}

// Runs `body` for every case `filter` accepts; an exception (ember::Error, or a fixture tensor
// missing) becomes a failure of that case, and the loop goes on.
template <class Filter, class Body>
void for_each_case(Report& report, Filter filter, Body body) {
  ASSERT_GE(all_cases().size(), kExpectedCases) << "regenerate with tests/golden/gen_norm.py";
  for (const Case& c : all_cases()) {
    if (!filter(c)) continue;
    report.ran(c);
    try {
      body(c);
    } catch (const std::exception& e) {
      report.fail(c, std::string("threw: ") + e.what());
    }
  }
}

const auto kAll = [](const Case&) { return true; };
const auto kF32Only = [](const Case& c) { return c.dtype == kFloat32; };
const auto kWithSteps = [](const Case& c) { return c.steps > 0; };

// Forces a norm backend for its lifetime, then restores the previous choice.
class BackendGuard {
 public:
  explicit BackendGuard(nn::NormBackend backend) : previous_(nn::norm_backend()) {
    nn::set_norm_backend(backend);
  }
  ~BackendGuard() { nn::set_norm_backend(previous_); }
  BackendGuard(const BackendGuard&) = delete;
  BackendGuard& operator=(const BackendGuard&) = delete;

 private:
  nn::NormBackend previous_;
};

}  // namespace

TEST(NormGolden, FixturesCoverTheGrid) {
  // A guard against the generator's grid silently shrinking: every layer, dtype and the option
  // values the issue asks for appear.
  std::map<std::string, int> layers;
  int f64 = 0, momentum_none = 0, eps_1e3 = 0, no_affine = 0, no_bias = 0, steps = 0;
  for (const Case& c : all_cases()) {
    ++layers[c.spec.layer];
    f64 += c.dtype == kFloat64;
    momentum_none += c.spec.momentum && !*c.spec.momentum;
    eps_1e3 += c.spec.eps == 1e-3;
    no_affine += c.spec.affine == false;
    no_bias += c.spec.bias == false;
    steps += c.steps > 0;
  }
  EXPECT_EQ(all_cases().size(), kExpectedCases);
  for (const char* layer :
       {"BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "InstanceNorm1d", "InstanceNorm2d",
        "InstanceNorm3d", "LayerNorm", "GroupNorm", "RMSNorm"}) {
    EXPECT_GE(layers[layer], 4) << layer;
  }
  EXPECT_EQ(2 * f64, static_cast<int>(all_cases().size()));
  EXPECT_GT(momentum_none, 0);
  EXPECT_GT(eps_1e3, 0);
  EXPECT_GT(no_affine, 0);
  EXPECT_GT(no_bias, 0);
  EXPECT_GT(steps, 0);
}

TEST(NormGolden, ModulesMatchPyTorch) {
  Report report;
  for_each_case(report, kAll, [&](const Case& c) {
    for (const std::string& mode : c.modes) {
      ModeResult r = run_module(c, mode);
      check_mode(report, c, mode, r, "", c.tolerance());
      if (mode == "eval") {
        // Eval mode must leave the running stats (and the counter) exactly as loaded.
        for (const char* b : {"running_mean", "running_var", "num_batches_tracked"}) {
          Tensor now = find_state(*r.module, b);
          if (now.defined())
            report.check(c, std::string("eval changed ") + b, now, c.get(std::string("init/") + b),
                         Tolerance{0, 0});
        }
      }
    }
  });
}

TEST(NormGolden, RunningStatsMatchPyTorch) {
  Report report;
  for_each_case(report, kWithSteps, [&](const Case& c) {
    auto m = build(c);
    m->train();
    for (int i = 0; i < c.steps; ++i) {
      const std::string step = "steps/" + std::to_string(i) + "/";
      // Step 0 records a graph (parameters require grad), the others run under no-grad as the
      // generator did: the statistics must not depend on grad mode.
      if (i == 0) {
        m->forward(c.get(step + "x"));
      } else {
        NoGradGuard no_grad;
        m->forward(c.get(step + "x"));
      }
      for (const char* b : {"running_mean", "running_var", "num_batches_tracked"}) {
        report.check(c, step + b, find_state(*m, b), c.get(step + b));
      }
    }
    m->eval();
    report.check(c, "after/y", m->forward(c.get("after/x")), c.get("after/y"));
  });
}

TEST(NormGolden, StateDictKeysMatchPyTorch) {
  Report report;
  for_each_case(report, kAll, [&](const Case& c) {
    auto m = build(c);
    const StateDict state = m->state_dict();
    std::string got, expected;
    for (const std::string& k : state.keys()) got += (got.empty() ? "" : ",") + k;
    for (const std::string& k : c.keys) expected += (expected.empty() ? "" : ",") + k;
    if (got != expected)
      report.fail(c, "state_dict keys [" + got + "], expected [" + expected + "]");
    for (const auto& [key, value] : state) {
      if (!c.has("init/" + key)) continue;
      const Tensor ref = c.get("init/" + key);
      // Exact: load_state_dict copied these in and state_dict hands the same values back.
      report.check(c, "state_dict()[" + key + "]", value, ref, Tolerance{0, 0});
    }
  });
}

TEST(NormGolden, FunctionalMatchesPyTorch) {
  Report report;
  for_each_case(report, kAll, [&](const Case& c) {
    const NormSpec& s = c.spec;
    auto init = [&](const std::string& key) {
      return c.has("init/" + key) ? c.get("init/" + key).clone() : Tensor();
    };
    for (const std::string& mode : c.modes) {
      Tensor x = c.get("x").clone().requires_grad_();
      Tensor w = init("weight"), b = init("bias");
      if (w.defined()) w.requires_grad_();
      if (b.defined()) b.requires_grad_();
      const double momentum = s.effective_momentum().value_or(0.0);
      Tensor y = functional_forward(s, x, w, b, init("running_mean"), init("running_var"),
                                    mode == "train", momentum);
      y.backward(c.get("grad_out"));
      report.check(c, "F/" + mode + "/y", y, c.get(mode + "/y"));
      report.check(c, "F/" + mode + "/dx", x.grad(), c.get(mode + "/dx"));
      if (w.defined())
        report.check(c, "F/" + mode + "/dweight", w.grad(), c.get(mode + "/dweight"));
      if (b.defined()) report.check(c, "F/" + mode + "/dbias", b.grad(), c.get(mode + "/dbias"));
    }
    if (c.steps == 0) return;
    // The module's bookkeeping done by hand: the functional form updates the given buffers in
    // place with the momentum it is handed; momentum=None is the cumulative average 1/n.
    Tensor rm = init("running_mean"), rv = init("running_var"), w = init("weight"),
           b = init("bias");
    int64_t batches = c.get("init/num_batches_tracked").item<int64_t>();
    for (int i = 0; i < c.steps; ++i) {
      const std::string step = "steps/" + std::to_string(i) + "/";
      if (s.uses_batch_norm()) ++batches;  // PyTorch's InstanceNorm never counts batches
      const double momentum = s.effective_momentum().value_or(1.0 / static_cast<double>(batches));
      functional_forward(s, c.get(step + "x"), w, b, rm, rv, /*training=*/true, momentum);
      report.check(c, "F/" + step + "running_mean", rm, c.get(step + "running_mean"));
      report.check(c, "F/" + step + "running_var", rv, c.get(step + "running_var"));
    }
    report.check(c, "F/after/y",
                 functional_forward(s, c.get("after/x"), w, b, rm, rv, /*training=*/false, 0.0),
                 c.get("after/y"));
  });
}

TEST(NormGolden, OtherLayoutsMatchPyTorch) {
  Report report;
  for_each_case(report, kAll, [&](const Case& c) {
    for (Layout layout : {Layout::ChannelsLast, Layout::Strided}) {
      if (!applies(layout, c)) continue;
      for (const std::string& mode : c.modes) {
        check_mode(report, c, mode, run_module(c, mode, layout), tag(layout), c.tolerance());
      }
    }
  });
}

TEST(NormGolden, BackendsAgree) {
  if (!nn::has_dnnl()) GTEST_SKIP() << "ember was built without oneDNN";
  Report report;
  for_each_case(report, kF32Only, [&](const Case& c) {
    for (Layout l : kLayouts) {
      if (!applies(l, c)) continue;
      const std::string layout = tag(l);
      for (const std::string& mode : c.modes) {
        ModeResult native, dnnl;
        {
          BackendGuard guard(nn::NormBackend::Native);
          native = run_module(c, mode, l);
        }
        {
          BackendGuard guard(nn::NormBackend::Dnnl);
          dnnl = run_module(c, mode, l);
        }
        // Each backend against PyTorch, then against each other (the tighter bound).
        check_mode(report, c, mode, native, "native " + layout, c.tolerance());
        check_mode(report, c, mode, dnnl, "dnnl " + layout, c.tolerance());
        report.check(c, "dnnl vs native " + layout + mode + "/y", dnnl.y, native.y, kBackends);
        report.check(c, "dnnl vs native " + layout + mode + "/dx", dnnl.dx, native.dx, kBackends);
        for (auto& [name, g] : native.param_grads) {
          if (dnnl.param_grads.count(name)) {
            report.check(c, "dnnl vs native " + layout + mode + "/" + name,
                         dnnl.param_grads.at(name), g, kBackends);
          }
        }
      }
    }
    if (c.steps == 0) return;
    std::map<std::string, Tensor> stats[2];
    int which = 0;
    for (nn::NormBackend backend : {nn::NormBackend::Native, nn::NormBackend::Dnnl}) {
      BackendGuard guard(backend);
      auto m = build(c);
      m->train();
      for (int i = 0; i < c.steps; ++i) m->forward(c.get("steps/" + std::to_string(i) + "/x"));
      stats[which]["running_mean"] = find_state(*m, "running_mean");
      stats[which]["running_var"] = find_state(*m, "running_var");
      m->eval();
      stats[which]["after/y"] = m->forward(c.get("after/x"));
      ++which;
    }
    for (auto& [name, t] : stats[0]) {
      report.check(c, "dnnl vs native " + name, stats[1][name], t, kBackends);
    }
  });
}
