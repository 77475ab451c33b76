// Checkpoint and resume of a whole training run, end to end: a small CNN with BatchNorm, a
// shuffling DataLoader, an optimizer with per-parameter state and an LR schedule. One run trains
// 4 epochs straight; another trains 2, saves a checkpoint (model + optimizer + scheduler tensors
// under "model." / "optimizer." / "scheduler.", the epoch in the metadata) to one safetensors file,
// and fresh objects (built from another seed, so nothing survives by accident) load it and train
// the last 2. Every parameter, buffer and optimizer state tensor must then be bit for bit the
// straight run's. The test proves it can fail: dropping any one part of the checkpoint on load
// must change the result.
//
// (tests/test_optim.cpp resumes optimizers alone on a fixed problem; this is the whole loop as
// examples/train_cnn.cpp runs it.)
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "ember/ember.h"

using namespace ember;

namespace {

constexpr int kEpochs = 4;
constexpr int kCheckpointEpoch = 2;
constexpr int64_t kClasses = 3;
constexpr uint64_t kModelSeed = 1;
constexpr uint64_t kFreshModelSeed = 2;  // the resumed run's own init, overwritten by the load
constexpr uint64_t kLoaderSeed = 5;

// 40 random 8×8 images in 3 classes: batches of 16, 16 and 8, so the last one is partial.
struct Images {
  Tensor data, labels;
};
const Images& images() {
  static const Images* all = [] {
    manual_seed(11);
    return new Images{randn({40, 1, 8, 8}), randint(0, kClasses, {40})};
  }();
  return *all;
}

// Conv–BatchNorm–ReLU–MaxPool–Flatten–Linear: parameters, BatchNorm's running statistics and its
// Int64 num_batches_tracked all go through the checkpoint.
std::shared_ptr<nn::Sequential> make_model(uint64_t seed) {
  manual_seed(seed);
  auto model = std::make_shared<nn::Sequential>();
  model->push_back(std::make_shared<nn::Conv2d>(nn::Conv2dOptions(1, 4, 3).padding(1)));
  model->push_back(std::make_shared<nn::BatchNorm2d>(4));
  model->push_back(std::make_shared<nn::ReLU>());
  model->push_back(std::make_shared<nn::MaxPool2d>(nn::MaxPool2dOptions(2)));
  model->push_back(std::make_shared<nn::Flatten>());
  model->push_back(std::make_shared<nn::Linear>(4 * 4 * 4, kClasses));
  return model;
}

// An optimizer and its schedule. Each schedule is chosen so that a lost scheduler state changes
// the lr after the checkpoint (StepLR with step_size 1 would not: it halves whatever lr it finds).
struct Recipe {
  std::string name;
  std::function<std::unique_ptr<optim::Optimizer>(std::vector<Tensor>)> optimizer;
  std::function<std::unique_ptr<optim::LRScheduler>(optim::Optimizer&)> scheduler;
};

// gtest prints the parameter of a failing test with this (instead of its bytes).
void PrintTo(const Recipe& recipe, std::ostream* out) { *out << recipe.name; }

std::vector<Recipe> recipes() {
  return {
      {"adam_cosine",
       [](std::vector<Tensor> p) {
         return std::make_unique<optim::Adam>(std::move(p), optim::AdamOptions(1e-2));
       },
       [](optim::Optimizer& o) { return std::make_unique<optim::CosineAnnealingLR>(o, kEpochs); }},
      {"sgd_momentum_steplr",
       [](std::vector<Tensor> p) {
         return std::make_unique<optim::SGD>(
             std::move(p), optim::SGDOptions(5e-2).momentum(0.9).weight_decay(1e-4));
       },
       [](optim::Optimizer& o) { return std::make_unique<optim::StepLR>(o, 3, 0.5); }},
      {"sgd_nesterov_cosine",
       [](std::vector<Tensor> p) {
         return std::make_unique<optim::SGD>(std::move(p),
                                             optim::SGDOptions(5e-2).momentum(0.9).nesterov(true));
       },
       [](optim::Optimizer& o) {
         return std::make_unique<optim::CosineAnnealingLR>(o, kEpochs, 1e-3);
       }},
      {"adamw_amsgrad_cosine",
       [](std::vector<Tensor> p) {
         return std::make_unique<optim::AdamW>(
             std::move(p), optim::AdamWOptions(1e-2).weight_decay(0.05).amsgrad(true));
       },
       [](optim::Optimizer& o) { return std::make_unique<optim::CosineAnnealingLR>(o, kEpochs); }},
  };
}

// One training run: what examples/train_cnn.cpp's loop does per epoch.
struct TrainingRun {
  TrainingRun(const Recipe& recipe, uint64_t model_seed)
      : model(make_model(model_seed)),
        optimizer(recipe.optimizer(model->parameters())),
        scheduler(recipe.scheduler(*optimizer)),
        loader(images().data, images().labels,
               data::DataLoaderOptions(16).shuffle(true).seed(kLoaderSeed)) {}

  void train_epochs(int first, int end) {
    model->train();
    for (int epoch = first; epoch < end; ++epoch) {
      loader.set_epoch(epoch);  // a fresh loader must replay the interrupted run's order
      for (auto& batch : loader) {
        optimizer->zero_grad();
        Tensor loss = nn::functional::cross_entropy((*model)(batch.data), batch.target);
        loss.backward();
        optimizer->step();
      }
      scheduler->step();
    }
  }

  std::shared_ptr<nn::Sequential> model;
  std::unique_ptr<optim::Optimizer> optimizer;
  std::unique_ptr<optim::LRScheduler> scheduler;
  data::DataLoader loader;
};

// Which parts load_checkpoint restores (all of them, except to prove the test can fail).
struct Parts {
  bool model_buffers = true;
  bool optimizer = true;
  bool scheduler = true;
};

StateDict under(const StateDict& dict, const std::string& prefix) {
  StateDict out;
  for (const auto& [name, t] : dict)
    if (name.rfind(prefix, 0) == 0) out.insert(name.substr(prefix.size()), t);
  return out;
}

StateDict copy_of(const StateDict& dict) {
  StateDict out;
  for (const auto& [name, t] : dict) out.insert(name, t.clone());
  return out;
}

// A fresh run resumes through ember::load_checkpoint; the tests that prove the comparison can fail
// load only some parts of the same file by hand.
int load_into(const std::string& path, TrainingRun& run, Parts parts = {}) {
  if (parts.model_buffers && parts.optimizer && parts.scheduler)
    return static_cast<int>(load_checkpoint(path, *run.model, *run.optimizer, run.scheduler.get()));
  const StateDict all = load(path);
  StateDict model_dict = under(all, "model.");
  if (!parts.model_buffers) {
    StateDict parameters_only;
    for (const auto& [name, t] : model_dict)
      if (name.find("running_") == std::string::npos &&
          name.find("num_batches") == std::string::npos)
        parameters_only.insert(name, t);
    model_dict = parameters_only;
  }
  run.model->load_state_dict(model_dict, /*strict=*/parts.model_buffers);
  if (parts.optimizer) run.optimizer->load_state_dict(under(all, "optimizer."));
  if (parts.scheduler) run.scheduler->load_state_dict(under(all, "scheduler."));
  return kCheckpointEpoch;
}

// A tensor's values as bytes, row-major. Widening to double is exact and one-to-one for float32,
// float64 and the small int64 counters here, so equal bytes mean bit-identical tensors (-0.0 and
// 0.0 differ, as they should).
std::vector<unsigned char> bytes_of(const Tensor& t) {
  const std::vector<double> values = t.to_vector<double>();
  std::vector<unsigned char> out(values.size() * sizeof(double));
  if (!values.empty()) std::memcpy(out.data(), values.data(), out.size());
  return out;
}

// The first entry where the dicts differ bit for bit (in names, order, dtypes, shapes or values),
// described; "" when they are identical.
std::string first_difference(const StateDict& got, const StateDict& want) {
  if (got.keys() != want.keys()) return "the keys differ";
  for (const auto& [name, t] : want) {
    const Tensor& g = got.at(name);
    std::ostringstream out;
    if (g.dtype() != t.dtype())
      out << name << ": dtype " << g.dtype() << " vs " << t.dtype();
    else if (g.sizes() != t.sizes())
      out << name << ": shape " << shape_str(g.sizes()) << " vs " << shape_str(t.sizes());
    else if (bytes_of(g) != bytes_of(t))
      out << name << ": values differ, max |diff| " << max_abs_diff(g, t);
    if (!out.str().empty()) return out.str();
  }
  return "";
}

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "ember_checkpoint_" + name + ".safetensors";
}

class Checkpoint : public ::testing::TestWithParam<Recipe> {
 protected:
  // Every test of a recipe starts from the straight run and the checkpoint of the interrupted one.
  void SetUp() override {
    straight_ = std::make_unique<TrainingRun>(GetParam(), kModelSeed);
    straight_->train_epochs(0, kEpochs);

    interrupted_ = std::make_unique<TrainingRun>(GetParam(), kModelSeed);
    interrupted_->train_epochs(0, kCheckpointEpoch);
    path_ = temp_path(GetParam().name);
    save_checkpoint(path_, *interrupted_->model, *interrupted_->optimizer,
                    interrupted_->scheduler.get(), kCheckpointEpoch);
  }
  void TearDown() override { std::remove(path_.c_str()); }

  // A fresh run that loads the checkpoint (the given parts of it) and trains to the end.
  std::unique_ptr<TrainingRun> resume(Parts parts = {}) {
    auto run = std::make_unique<TrainingRun>(GetParam(), kFreshModelSeed);
    const int epoch = load_into(path_, *run, parts);
    EXPECT_EQ(epoch, kCheckpointEpoch);
    run->train_epochs(epoch, kEpochs);
    return run;
  }

  std::unique_ptr<TrainingRun> straight_, interrupted_;
  std::string path_;
};

}  // namespace

TEST_P(Checkpoint, ResumedRunIsBitForBitTheStraightRun) {
  // Sanity: the fresh objects start elsewhere, and the load restores exactly what was saved.
  auto fresh = std::make_unique<TrainingRun>(GetParam(), kFreshModelSeed);
  ASSERT_NE(first_difference(fresh->model->state_dict(), interrupted_->model->state_dict()), "");
  EXPECT_EQ(load_into(path_, *fresh), kCheckpointEpoch);
  EXPECT_EQ(first_difference(fresh->model->state_dict(), interrupted_->model->state_dict()), "");
  EXPECT_EQ(first_difference(fresh->optimizer->state_dict(), interrupted_->optimizer->state_dict()),
            "");
  EXPECT_EQ(first_difference(fresh->scheduler->state_dict(), interrupted_->scheduler->state_dict()),
            "");

  const std::unique_ptr<TrainingRun> resumed = resume();
  EXPECT_EQ(first_difference(resumed->model->state_dict(), straight_->model->state_dict()), "");
  EXPECT_EQ(first_difference(resumed->optimizer->state_dict(), straight_->optimizer->state_dict()),
            "");
  EXPECT_EQ(resumed->scheduler->get_last_lr(), straight_->scheduler->get_last_lr());
  EXPECT_EQ(resumed->scheduler->last_epoch(), kEpochs);
  // The buffers really moved (so comparing them means something).
  const StateDict state = straight_->model->state_dict();
  EXPECT_EQ(state.at("1.num_batches_tracked").item<int64_t>(), kEpochs * 3);
  EXPECT_NE(max_abs_diff(state.at("1.running_mean"), zeros({4})), 0.0);
}

// A checkpoint that does not fit leaves everything as it was: here the model part loads, the
// optimizer part (another optimizer's state) does not, and the model is rolled back.
TEST_P(Checkpoint, AFailedLoadChangesNothing) {
  // The other family's optimizer: SGD cannot take Adam's state, nor Adam SGD's.
  const bool saved_sgd = GetParam().name.rfind("sgd", 0) == 0;
  auto other = std::make_unique<TrainingRun>(
      Recipe{"other",
             [saved_sgd](std::vector<Tensor> p) -> std::unique_ptr<optim::Optimizer> {
               if (saved_sgd)
                 return std::make_unique<optim::Adam>(std::move(p), optim::AdamOptions(0.1));
               return std::make_unique<optim::SGD>(std::move(p), optim::SGDOptions(0.1));
             },
             [](optim::Optimizer& o) { return std::make_unique<optim::StepLR>(o, 1, 0.5); }},
      kFreshModelSeed);
  other->train_epochs(0, 1);  // some optimizer state of its own to keep
  const StateDict model_before = copy_of(other->model->state_dict());
  const StateDict optimizer_before = copy_of(other->optimizer->state_dict());
  EXPECT_THROW(load_checkpoint(path_, *other->model, *other->optimizer, other->scheduler.get()),
               Error);
  EXPECT_EQ(first_difference(other->model->state_dict(), model_before), "");
  EXPECT_EQ(first_difference(other->optimizer->state_dict(), optimizer_before), "");
  // And without a scheduler to take it, the scheduler part is an unexpected tensor.
  auto fresh = std::make_unique<TrainingRun>(GetParam(), kFreshModelSeed);
  EXPECT_THROW(load_checkpoint(path_, *fresh->model, *fresh->optimizer, nullptr), Error);
}

// Each part of the checkpoint matters: without it the resumed run ends elsewhere. This also shows
// that the bitwise comparison above notices a lost part instead of passing vacuously.
TEST_P(Checkpoint, ResumingWithoutTheOptimizerStateDiverges) {
  const std::unique_ptr<TrainingRun> resumed = resume(Parts{.optimizer = false});
  EXPECT_NE(first_difference(resumed->model->state_dict(), straight_->model->state_dict()), "");
}

TEST_P(Checkpoint, ResumingWithoutTheSchedulerStateDiverges) {
  const std::unique_ptr<TrainingRun> resumed = resume(Parts{.scheduler = false});
  EXPECT_NE(resumed->scheduler->get_last_lr(), straight_->scheduler->get_last_lr());
  EXPECT_NE(first_difference(resumed->model->state_dict(), straight_->model->state_dict()), "");
}

TEST_P(Checkpoint, ResumingWithoutTheModelBuffersDiverges) {
  // Train-mode BatchNorm normalizes with batch statistics, so the parameters may well agree; the
  // running statistics and num_batches_tracked cannot.
  const std::unique_ptr<TrainingRun> resumed = resume(Parts{.model_buffers = false});
  EXPECT_NE(first_difference(resumed->model->state_dict(), straight_->model->state_dict()), "");
}

INSTANTIATE_TEST_SUITE_P(Checkpoint, Checkpoint, ::testing::ValuesIn(recipes()),
                         [](const auto& info) { return info.param.name; });
