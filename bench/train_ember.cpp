// ember's half of bench_train: the models and optimizers through the public API, the training
// step written as a user writes it (examples/train_cnn.cpp, examples/train_lstm.cpp).
#include <ember/ember.h>

#include <algorithm>
#include <optional>
#include <tuple>

#include "bench/train_case.h"

namespace bench {

namespace {

using namespace ember;

std::shared_ptr<nn::Sequential> make_cnn() {
  auto model = std::make_shared<nn::Sequential>();
  model->push_back(std::make_shared<nn::Conv2d>(nn::Conv2dOptions(1, kCnnChannels1, 3).padding(1)));
  model->push_back(std::make_shared<nn::BatchNorm2d>(kCnnChannels1));
  model->push_back(std::make_shared<nn::ReLU>());
  model->push_back(std::make_shared<nn::MaxPool2d>(nn::MaxPool2dOptions(2)));
  model->push_back(
      std::make_shared<nn::Conv2d>(nn::Conv2dOptions(kCnnChannels1, kCnnChannels2, 3).padding(1)));
  model->push_back(std::make_shared<nn::BatchNorm2d>(kCnnChannels2));
  model->push_back(std::make_shared<nn::ReLU>());
  model->push_back(std::make_shared<nn::MaxPool2d>(nn::MaxPool2dOptions(2)));
  model->push_back(std::make_shared<nn::Flatten>());
  const int64_t pooled = kCnnImageSize / 4;
  model->push_back(std::make_shared<nn::Linear>(kCnnChannels2 * pooled * pooled, kNumClasses));
  return model;
}

// The unrolled LSTM of train_case.h: parameters "cell.*", "norm.*", "head.*".
class LstmTagger : public nn::Module {
 public:
  LstmTagger()
      : cell_(register_module("cell", std::make_shared<nn::LSTMCell>(kLstmInput, kLstmHidden))),
        norm_(register_module(
            "norm", std::make_shared<nn::LayerNorm>(nn::LayerNormOptions({kLstmHidden})))),
        head_(register_module("head", std::make_shared<nn::Linear>(kLstmHidden, kNumClasses))) {}

  std::string name() const override { return "LstmTagger"; }

  // inputs [steps, N, I], targets [steps, N] → the mean over steps of each step's loss.
  Tensor loss(const Tensor& inputs, const Tensor& targets) {
    std::optional<std::tuple<Tensor, Tensor>> state;  // zeros at the first step
    Tensor total;
    for (int64_t t = 0; t < inputs.size(0); ++t) {
      auto [h, c] = (*cell_)(inputs.select(0, t), state);
      h = (*norm_)(h);
      state = std::make_tuple(h, c);
      const Tensor step_loss = nn::functional::cross_entropy((*head_)(h), targets.select(0, t));
      total = total.defined() ? total + step_loss : step_loss;
    }
    return total / static_cast<double>(inputs.size(0));
  }

 private:
  std::shared_ptr<nn::LSTMCell> cell_;
  std::shared_ptr<nn::LayerNorm> norm_;
  std::shared_ptr<nn::Linear> head_;
};

Tensor targets_tensor(const TrainData& data, Model model) {
  const std::vector<double> values(data.targets.begin(), data.targets.end());
  return tensor(values, target_shape(model), kInt64);
}

class EmberTrainRunner : public TrainRunner {
 public:
  EmberTrainRunner(Model model, const TrainData& data)
      : inputs_(tensor(data.inputs, input_shape(model))), targets_(targets_tensor(data, model)) {
    if (model == Model::Cnn) {
      cnn_ = make_cnn();
      module_ = cnn_.get();
      optimizer_ = std::make_unique<optim::SGD>(cnn_->parameters(),
                                                optim::SGDOptions(kCnnLr).momentum(kCnnMomentum));
    } else {
      lstm_ = std::make_shared<LstmTagger>();
      module_ = lstm_.get();
      optimizer_ = std::make_unique<optim::Adam>(lstm_->parameters(), optim::AdamOptions(kLstmLr));
    }
  }

  void step() override {
    loss_ = cnn_ ? nn::functional::cross_entropy((*cnn_)(inputs_), targets_)
                 : lstm_->loss(inputs_, targets_);
    optimizer_->zero_grad();
    loss_.backward();
    optimizer_->step();
  }

  double last_loss() const override { return loss_.item<double>(); }

  NamedValues parameters() const override {
    NamedValues out;
    for (const auto& [name, p] : module_->named_parameters())
      out.emplace_back(name, p.to_vector<float>());
    return out;
  }

  void load_parameters(const NamedValues& values) override {
    NoGradGuard no_grad;
    auto params = module_->named_parameters();
    for (const auto& [name, v] : values) {
      auto it =
          std::find_if(params.begin(), params.end(), [&](auto& p) { return p.first == name; });
      EMBER_CHECK(it != params.end(), "bench_train: ember's model has no parameter ", name);
      EMBER_CHECK(static_cast<int64_t>(v.size()) == it->second.numel(), "bench_train: parameter ",
                  name, " has ", it->second.numel(), " values, given ", v.size());
      it->second.copy_(tensor(v, it->second.sizes()));
    }
  }

 private:
  Tensor inputs_, targets_, loss_;
  std::shared_ptr<nn::Sequential> cnn_;
  std::shared_ptr<LstmTagger> lstm_;
  nn::Module* module_ = nullptr;  // whichever of the two is set
  std::unique_ptr<optim::Optimizer> optimizer_;
};

}  // namespace

std::unique_ptr<TrainRunner> make_ember_train_runner(Model model, const TrainData& data) {
  return std::make_unique<EmberTrainRunner>(model, data);
}

}  // namespace bench
