// ember → PyTorch: a state dict SAVED BY EMBER loads into the equivalent PyTorch model
// (load_state_dict(strict=True)) and gives the same outputs. (The other direction, PyTorch's
// files into ember, is covered by test_safetensors.cpp, test_layers.cpp, test_rnn.cpp, ...)
//
// CI has no torch, so the check is split in two halves joined by committed fixtures:
//  1. Here: deterministic ember models (train_cnn's CNN in float32; a 2-layer batch_first LSTM with
//     a Linear head in float64) and inputs are built, and what ember writes for them must be byte
//     for byte tests/golden/fixtures/ember_written_{cnn,lstm,inputs}.safetensors — so those files
//     really are ember's output, not something hand-made.
//  2. tests/golden/check_ember_written.py (torch 1.13) loads them into the torch models with
//     strict=True, checks key order, dtypes and shapes, runs the inputs in eval mode and writes
//     fixtures/ember_written_torch_outputs.safetensors.
//  3. Here: the models loaded from the committed files run on the same inputs in eval mode and
//     must give torch's outputs.
//
// When what ember writes changes on purpose (init, names, the safetensors layout), regenerate:
//   EMBER_REGENERATE_FIXTURES=1 build/tests/ember_tests --gtest_filter='TorchInterop.*'
//   /usr/bin/python3 tests/golden/check_ember_written.py
// then run the test again without the variable.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <tuple>

#include "ember/ember.h"

using namespace ember;

namespace {

// float32: ember and PyTorch sum in different orders (the Linear layer sums 784 products), nothing
// more. float64: the same, at float64's resolution.
constexpr double kF32Rtol = 1e-5, kF32Atol = 1e-6;
constexpr double kF64Rtol = 1e-12, kF64Atol = 1e-13;

std::string fixture_path(const std::string& name) {
  return std::string(EMBER_FIXTURES_DIR) + "/" + name + ".safetensors";
}

bool regenerating() {
  const char* flag = std::getenv("EMBER_REGENERATE_FIXTURES");
  return flag != nullptr && std::string(flag) == "1";
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path
                         << " (regenerate it: see the top of tests/test_torch_interop.cpp)";
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Asserts that ember writes exactly the committed fixture for `dict`, through save_to_bytes and
// through save (or, when regenerating, writes the fixture with save).
void expect_ember_writes_fixture(const StateDict& dict, const std::string& name) {
  SCOPED_TRACE(name);
  const std::string path = fixture_path(name);
  if (regenerating()) {
    save(dict, path);
    std::printf("wrote %s\n", path.c_str());
  }
  const std::string committed = read_bytes(path);
  const std::string written = save_to_bytes(dict);
  EXPECT_TRUE(written == committed)
      << "ember no longer writes " << path << " (" << written.size() << " bytes vs "
      << committed.size() << " committed); if that is intended, regenerate the fixtures as the "
      << "top of tests/test_torch_interop.cpp says";
  const std::string temp = ::testing::TempDir() + "ember_interop_" + name + ".safetensors";
  save(dict, temp);
  EXPECT_TRUE(read_bytes(temp) == written) << "save() and save_to_bytes() write different bytes";
  std::remove(temp.c_str());
}

// Overwrites t with U[lo, hi) draws. Why not train a few steps instead: training runs GEMMs and
// reductions whose rounding depends on the CPU (Eigen's cache-size blocking, oneDNN's ISA
// dispatch, the thread count), so trained values would not be byte-identical on every machine.
// Uniform draws scaled by single elementwise ops are (ember's generator is its own, see
// core/random.cpp).
void fill_uniform(Tensor& t, double lo, double hi) {
  NoGradGuard no_grad;
  t.copy_(rand(t.sizes(), t.dtype()) * (hi - lo) + lo);
}

// examples/train_cnn.cpp's model with --channels 8 --norm batch, as PyTorch would spell it:
// Conv2d(1,8,3,padding=1), BatchNorm2d(8), ReLU, MaxPool2d(2), Conv2d(8,16,3,padding=1),
// BatchNorm2d(16), ReLU, MaxPool2d(2), Flatten, Linear(784, 10).
std::shared_ptr<nn::Sequential> make_cnn() {
  auto model = std::make_shared<nn::Sequential>();
  model->push_back(std::make_shared<nn::Conv2d>(nn::Conv2dOptions(1, 8, 3).padding(1)));
  model->push_back(std::make_shared<nn::BatchNorm2d>(8));
  model->push_back(std::make_shared<nn::ReLU>());
  model->push_back(std::make_shared<nn::MaxPool2d>(nn::MaxPool2dOptions(2)));
  model->push_back(std::make_shared<nn::Conv2d>(nn::Conv2dOptions(8, 16, 3).padding(1)));
  model->push_back(std::make_shared<nn::BatchNorm2d>(16));
  model->push_back(std::make_shared<nn::ReLU>());
  model->push_back(std::make_shared<nn::MaxPool2d>(nn::MaxPool2dOptions(2)));
  model->push_back(std::make_shared<nn::Flatten>());
  model->push_back(std::make_shared<nn::Linear>(16 * 7 * 7, 10));
  return model;
}

// The CNN with seeded init and BatchNorm state as if trained: affine parameters away from 1 and 0
// and running statistics away from 0 and 1, so that a mixed-up or ignored tensor changes the eval
// output.
std::shared_ptr<nn::Sequential> deterministic_cnn() {
  manual_seed(20240601);
  auto model = make_cnn();
  for (size_t i : {1, 5}) {
    auto& bn = dynamic_cast<nn::BatchNorm2d&>(*(*model)[i]);
    fill_uniform(bn.weight(), 0.5, 1.5);
    fill_uniform(bn.bias(), -0.3, 0.3);
    fill_uniform(bn.running_mean(), -0.2, 0.2);
    fill_uniform(bn.running_var(), 0.5, 2.0);
    bn.num_batches_tracked().fill_(static_cast<double>(100 + i));
  }
  return model;
}

// torch: an nn.Module with `lstm = nn.LSTM(4, 6, num_layers=2, batch_first=True)` and
// `head = nn.Linear(6, 3)` on the last step's output.
class SequenceClassifier : public nn::Module {
 public:
  SequenceClassifier()
      : lstm_(register_module("lstm", std::make_shared<nn::LSTM>(
                                          nn::LSTMOptions(4, 6).num_layers(2).batch_first(true)))),
        head_(register_module("head", std::make_shared<nn::Linear>(6, 3))) {}
  std::string name() const override { return "SequenceClassifier"; }

  struct Outputs {
    Tensor sequence, h_n, c_n, logits;
  };
  // x [N, L, 4]
  Outputs run(const Tensor& x) {
    auto [sequence, state] = (*lstm_)(x);
    auto [h_n, c_n] = state;
    return {sequence, h_n, c_n, (*head_)(sequence.select(1, -1))};
  }

 private:
  std::shared_ptr<nn::LSTM> lstm_;
  std::shared_ptr<nn::Linear> head_;
};

std::shared_ptr<SequenceClassifier> deterministic_lstm() {
  manual_seed(20240602);
  auto model = std::make_shared<SequenceClassifier>();
  model->to(kFloat64);
  return model;
}

StateDict deterministic_inputs() {
  manual_seed(20240603);
  StateDict inputs;
  inputs.insert("cnn.input", rand({3, 1, 28, 28}) * 4.0 - 2.0);
  inputs.insert("lstm.input", rand({2, 5, 4}, kFloat64) * 4.0 - 2.0);
  return inputs;
}

void expect_close(const Tensor& got, const Tensor& want, const std::string& what) {
  ASSERT_EQ(got.dtype(), want.dtype()) << what;
  ASSERT_EQ(shape_str(got.sizes()), shape_str(want.sizes())) << what;
  const bool f64 = got.dtype() == kFloat64;
  const double diff = max_abs_diff(got, want);
  EXPECT_TRUE(allclose(got, want, f64 ? kF64Rtol : kF32Rtol, f64 ? kF64Atol : kF32Atol))
      << what << ": max |diff| " << diff << "\n ember " << got << "\n torch " << want;
  char text[32];
  std::snprintf(text, sizeof text, "%.3g", diff);
  ::testing::Test::RecordProperty(what + ".max_abs_diff", text);
}

const StateDict& torch_outputs() {
  static const StateDict* outputs =
      new StateDict(load(fixture_path("ember_written_torch_outputs")));
  return *outputs;
}

}  // namespace

// Step 1: the committed files are what ember writes (regenerated here when asked).
TEST(TorchInterop, CommittedFixturesAreWhatEmberWrites) {
  expect_ember_writes_fixture(deterministic_cnn()->state_dict(), "ember_written_cnn");
  expect_ember_writes_fixture(deterministic_lstm()->state_dict(), "ember_written_lstm");
  expect_ember_writes_fixture(deterministic_inputs(), "ember_written_inputs");
}

// Step 3 for the CNN: a fresh model (another seed) loads the committed state dict.
TEST(TorchInterop, CnnFromEmberFileMatchesTorch) {
  manual_seed(7);
  auto model = make_cnn();
  model->load_state_dict(load(fixture_path("ember_written_cnn")));
  model->eval();
  const Tensor input = load(fixture_path("ember_written_inputs")).at("cnn.input");
  NoGradGuard no_grad;
  expect_close((*model)(input), torch_outputs().at("cnn.logits"), "cnn.logits");
}

TEST(TorchInterop, LstmFromEmberFileMatchesTorch) {
  manual_seed(7);
  auto model = std::make_shared<SequenceClassifier>();
  model->to(kFloat64);
  model->load_state_dict(load(fixture_path("ember_written_lstm")));
  model->eval();
  const Tensor input = load(fixture_path("ember_written_inputs")).at("lstm.input");
  NoGradGuard no_grad;
  const SequenceClassifier::Outputs out = model->run(input);
  expect_close(out.sequence, torch_outputs().at("lstm.sequence"), "lstm.sequence");
  expect_close(out.h_n, torch_outputs().at("lstm.h_n"), "lstm.h_n");
  expect_close(out.c_n, torch_outputs().at("lstm.c_n"), "lstm.c_n");
  expect_close(out.logits, torch_outputs().at("lstm.logits"), "lstm.logits");
}
