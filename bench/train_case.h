#pragma once
// What bench_train measures, in plain C++ shared by its two halves: bench_train.cpp and
// train_ember.cpp see ember's headers, train_libtorch.cpp sees LibTorch's, and neither sees the
// other's (LibTorch 1.13 is compiled as C++17 with its own flags; see bench/CMakeLists.txt).
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace bench {

// The two models of the issue, each trained on one fixed random batch:
//   Cnn:  Conv2d(1→16, 3, padding 1)–BatchNorm2d(16)–ReLU–MaxPool2d(2)–
//         Conv2d(16→32, 3, padding 1)–BatchNorm2d(32)–ReLU–MaxPool2d(2)–Flatten–Linear(1568→10)
//         on [64, 1, 28, 28], cross_entropy, SGD(lr 0.01, momentum 0.9).
//   Lstm: LSTMCell(32→128) unrolled over 35 steps of a [35, 20, 32] input; after each step
//         LayerNorm(128) on h, and that normalized h is both the next step's h and the input of a
//         Linear(128→10) head; the loss is the mean over steps of each step's cross_entropy;
//         Adam(lr 1e-3).
enum class Model { Cnn, Lstm };

inline constexpr int64_t kCnnBatch = 64, kCnnImageSize = 28, kCnnChannels1 = 16, kCnnChannels2 = 32;
inline constexpr int64_t kLstmSteps = 35, kLstmBatch = 20, kLstmInput = 32, kLstmHidden = 128;
inline constexpr int64_t kNumClasses = 10;
inline constexpr double kCnnLr = 0.01, kCnnMomentum = 0.9, kLstmLr = 1e-3;

// For benchmark names: "cnn", "lstm".
inline const char* model_name(Model model) { return model == Model::Cnn ? "cnn" : "lstm"; }
// For the table.
inline const char* model_label(Model model) {
  return model == Model::Cnn ? "CNN [64,1,28,28] train step (SGD)"
                             : "LSTMCell×35 [35,20,32] train step (Adam)";
}

// One fixed batch: inputs in logical (row-major) order, Cnn [64,1,28,28], Lstm [35,20,32];
// class targets in [0, 10), Cnn [64], Lstm [35,20].
struct TrainData {
  std::vector<float> inputs;
  std::vector<int64_t> targets;
};
inline std::vector<int64_t> input_shape(Model model) {
  if (model == Model::Cnn) return {kCnnBatch, 1, kCnnImageSize, kCnnImageSize};
  return {kLstmSteps, kLstmBatch, kLstmInput};
}
inline std::vector<int64_t> target_shape(Model model) {
  if (model == Model::Cnn) return {kCnnBatch};
  return {kLstmSteps, kLstmBatch};
}

// Parameters by their state_dict name ("0.weight", "cell.weight_ih"), values in logical order.
// Both libraries name them alike, so one library's initial weights load into the other's model.
using NamedValues = std::vector<std::pair<std::string, std::vector<float>>>;

// One library's model, optimizer and batch. step() is the timed body: forward, loss, zero_grad,
// backward, optimizer step — what a training loop does per batch, minus loading data.
class TrainRunner {
 public:
  virtual ~TrainRunner() = default;
  virtual void step() = 0;
  virtual double last_loss() const = 0;  // the loss computed by the latest step()
  virtual NamedValues parameters() const = 0;
  // Copies values into the existing parameters; throws naming a missing or mis-sized one.
  virtual void load_parameters(const NamedValues& values) = 0;
};

std::unique_ptr<TrainRunner> make_ember_train_runner(Model model, const TrainData& data);

#ifdef EMBER_BENCH_WITH_TORCH
std::unique_ptr<TrainRunner> make_torch_train_runner(Model model, const TrainData& data);
#endif

}  // namespace bench
