// LibTorch's half of bench_train: the same models, losses and optimizers with torch::nn and
// torch::optim, on the same batch. Built only when find_package(Torch) succeeds, in its own C++17
// translation unit (bench/CMakeLists.txt).
#include <torch/nn.h>
#include <torch/optim.h>

#include <cstring>
#include <stdexcept>
#include <tuple>

#include "bench/train_case.h"

namespace bench {

namespace {

namespace nn = torch::nn;

nn::Sequential make_cnn() {
  const int64_t pooled = kCnnImageSize / 4;
  return nn::Sequential(
      nn::Conv2d(nn::Conv2dOptions(1, kCnnChannels1, 3).padding(1)), nn::BatchNorm2d(kCnnChannels1),
      nn::ReLU(), nn::MaxPool2d(nn::MaxPool2dOptions(2)),
      nn::Conv2d(nn::Conv2dOptions(kCnnChannels1, kCnnChannels2, 3).padding(1)),
      nn::BatchNorm2d(kCnnChannels2), nn::ReLU(), nn::MaxPool2d(nn::MaxPool2dOptions(2)),
      nn::Flatten(), nn::Linear(kCnnChannels2 * pooled * pooled, kNumClasses));
}

// The unrolled LSTM of train_case.h, with the parameter names of ember's: "cell.*", "norm.*",
// "head.*".
struct LstmTagger : nn::Module {
  LstmTagger()
      : cell(register_module("cell", nn::LSTMCell(kLstmInput, kLstmHidden))),
        norm(register_module("norm", nn::LayerNorm(nn::LayerNormOptions({kLstmHidden})))),
        head(register_module("head", nn::Linear(kLstmHidden, kNumClasses))) {}

  // inputs [steps, N, I], targets [steps, N] → the mean over steps of each step's loss.
  torch::Tensor loss(const torch::Tensor& inputs, const torch::Tensor& targets) {
    torch::optional<std::tuple<torch::Tensor, torch::Tensor>> state;  // zeros at the first step
    torch::Tensor total;
    for (int64_t t = 0; t < inputs.size(0); ++t) {
      auto [h, c] = cell(inputs.select(0, t), state);
      h = norm(h);
      state = std::make_tuple(h, c);
      const torch::Tensor step_loss = nn::functional::cross_entropy(head(h), targets.select(0, t));
      total = total.defined() ? total + step_loss : step_loss;
    }
    return total / static_cast<double>(inputs.size(0));
  }

  nn::LSTMCell cell;
  nn::LayerNorm norm;
  nn::Linear head;
};

class TorchTrainRunner : public TrainRunner {
 public:
  TorchTrainRunner(Model model, const TrainData& data) {
    // from_blob only borrows; clone so the tensors own their (allocator-aligned) storage.
    inputs_ = torch::from_blob(const_cast<float*>(data.inputs.data()), input_shape(model)).clone();
    targets_ = torch::from_blob(const_cast<int64_t*>(data.targets.data()), target_shape(model),
                                torch::kInt64)
                   .clone();
    if (model == Model::Cnn) {
      cnn_ = make_cnn();
      module_ = cnn_.ptr();
      optimizer_ = std::make_unique<torch::optim::SGD>(
          cnn_->parameters(), torch::optim::SGDOptions(kCnnLr).momentum(kCnnMomentum));
    } else {
      lstm_ = std::make_shared<LstmTagger>();
      module_ = lstm_;
      optimizer_ = std::make_unique<torch::optim::Adam>(lstm_->parameters(),
                                                        torch::optim::AdamOptions(kLstmLr));
    }
  }

  void step() override {
    loss_ = cnn_ ? nn::functional::cross_entropy(cnn_->forward(inputs_), targets_)
                 : lstm_->loss(inputs_, targets_);
    // LibTorch 1.13's Optimizer::zero_grad() zeroes the gradients, and backward then adds into
    // them; ember drops them, as PyTorch 2's zero_grad() does by default (set_to_none=True). Do
    // the same here so that both libraries do the same work.
    module_->zero_grad(/*set_to_none=*/true);
    loss_.backward();
    optimizer_->step();
  }

  double last_loss() const override { return loss_.item<double>(); }

  NamedValues parameters() const override {
    NamedValues out;
    for (const auto& item : module_->named_parameters()) {
      const torch::Tensor p = item.value().detach().contiguous();
      out.emplace_back(item.key(),
                       std::vector<float>(p.data_ptr<float>(), p.data_ptr<float>() + p.numel()));
    }
    return out;
  }

  void load_parameters(const NamedValues& values) override {
    torch::NoGradGuard no_grad;
    auto params = module_->named_parameters();
    for (const auto& [name, v] : values) {
      torch::Tensor* p = params.find(name);
      if (!p) throw std::invalid_argument("bench_train: LibTorch's model has no parameter " + name);
      if (static_cast<int64_t>(v.size()) != p->numel())
        throw std::invalid_argument("bench_train: parameter " + name + " has " +
                                    std::to_string(p->numel()) + " values, given " +
                                    std::to_string(v.size()));
      p->copy_(torch::from_blob(const_cast<float*>(v.data()), p->sizes()));
    }
  }

 private:
  torch::Tensor inputs_, targets_, loss_;
  nn::Sequential cnn_{nullptr};
  std::shared_ptr<LstmTagger> lstm_;
  std::shared_ptr<nn::Module> module_;  // whichever of the two is set
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
};

}  // namespace

std::unique_ptr<TrainRunner> make_torch_train_runner(Model model, const TrainData& data) {
  return std::make_unique<TorchTrainRunner>(model, data);
}

}  // namespace bench
