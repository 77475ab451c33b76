// LibTorch's half of bench_norm: torch::nn modules on the same values, the same phases. Built
// only when find_package(Torch) succeeds, in its own C++17 translation unit (bench/CMakeLists.txt).
#include <torch/nn.h>

#include <cstring>
#include <stdexcept>

#include "bench/norm_case.h"

namespace bench {

namespace {

torch::nn::AnyModule make_module(const NormCase& c) {
  namespace nn = torch::nn;
  const int64_t C = c.shape[1];
  switch (c.norm) {
    case Norm::BatchNorm1d:
      return nn::AnyModule(nn::BatchNorm1d(C));
    case Norm::BatchNorm2d:
      return nn::AnyModule(nn::BatchNorm2d(C));
    case Norm::LayerNorm:
      return nn::AnyModule(nn::LayerNorm(nn::LayerNormOptions({c.shape.back()})));
    case Norm::GroupNorm:
      return nn::AnyModule(nn::GroupNorm(c.groups, C));
    case Norm::InstanceNorm2d:
      return nn::AnyModule(nn::InstanceNorm2d(C));
  }
  throw std::invalid_argument("bench: unknown norm");
}

torch::Tensor from_values(const std::vector<float>& values, const NormCase& c) {
  // from_blob only borrows; clone so the tensor owns its (allocator-aligned) storage.
  torch::Tensor t = torch::from_blob(const_cast<float*>(values.data()), c.shape).clone();
  return c.channels_last ? t.contiguous(at::MemoryFormat::ChannelsLast) : t;
}

std::vector<float> to_values(const torch::Tensor& t) {
  const torch::Tensor plain = t.contiguous();
  std::vector<float> out(plain.numel());
  std::memcpy(out.data(), plain.data_ptr<float>(), out.size() * sizeof(float));
  return out;
}

class TorchRunner : public NormRunner {
 public:
  TorchRunner(const NormCase& c, const std::vector<float>& x, const std::vector<float>& dy)
      : module_(make_module(c)), params_(module_.ptr()->parameters()) {
    x_ = from_values(x, c).requires_grad_();
    dy_ = from_values(dy, c);
  }

  void prepare(Phase phase) override {
    module_.ptr()->train(phase != Phase::EvalForward);
    y_ = phase == Phase::Backward ? forward() : torch::Tensor();
  }

  void run(Phase phase) override {
    switch (phase) {
      case Phase::Forward:
        forward();
        break;
      case Phase::EvalForward: {
        torch::NoGradGuard no_grad;
        forward();
        break;
      }
      case Phase::Backward:
        reset_grads();
        y_.backward(dy_, /*retain_graph=*/true);
        break;
      case Phase::ForwardBackward:
        reset_grads();
        forward().backward(dy_);
        break;
    }
  }

  void outputs(std::vector<float>* y, std::vector<float>* dx) override {
    module_.ptr()->train();
    reset_grads();
    const torch::Tensor out = forward();
    out.backward(dy_);
    *y = to_values(out);
    *dx = to_values(x_.grad());
  }

 private:
  torch::Tensor forward() { return module_.forward(x_); }
  void reset_grads() {
    x_.mutable_grad().reset();
    for (torch::Tensor& p : params_) p.mutable_grad().reset();
  }

  torch::nn::AnyModule module_;
  std::vector<torch::Tensor> params_;
  torch::Tensor x_, dy_, y_;
};

}  // namespace

std::unique_ptr<NormRunner> make_torch_runner(const NormCase& c, const std::vector<float>& x,
                                              const std::vector<float>& dy) {
  return std::make_unique<TorchRunner>(c, x, dy);
}

}  // namespace bench
