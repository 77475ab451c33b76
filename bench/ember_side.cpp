// ember's half of bench_norm: the modules through the public API, exactly as a user calls them.
#include <ember/ember.h>

#include "bench/norm_case.h"

namespace bench {

namespace {

std::shared_ptr<ember::nn::Module> make_module(const NormCase& c) {
  namespace nn = ember::nn;
  const int64_t C = c.shape[1];
  switch (c.norm) {
    case Norm::BatchNorm1d:
      return std::make_shared<nn::BatchNorm1d>(C);
    case Norm::BatchNorm2d:
      return std::make_shared<nn::BatchNorm2d>(C);
    case Norm::LayerNorm:
      return std::make_shared<nn::LayerNorm>(nn::LayerNormOptions(ember::Shape{c.shape.back()}));
    case Norm::GroupNorm:
      return std::make_shared<nn::GroupNorm>(c.groups, C);
    case Norm::InstanceNorm2d:
      return std::make_shared<nn::InstanceNorm2d>(C);
  }
  throw ember::Error("bench: unknown norm");
}

class EmberRunner : public NormRunner {
 public:
  EmberRunner(const NormCase& c, const std::vector<float>& x, const std::vector<float>& dy)
      : module_(make_module(c)), params_(module_->parameters()) {
    const auto format =
        c.channels_last ? ember::MemoryFormat::ChannelsLast : ember::MemoryFormat::Contiguous;
    x_ = ember::tensor(x, c.shape).contiguous(format);
    x_.requires_grad_();
    // The gradient arriving from the next layer has that layer's (= x's) memory format.
    dy_ = ember::tensor(dy, c.shape).contiguous(format);
  }

  void prepare(Phase phase) override {
    module_->train(phase != Phase::EvalForward);
    y_ = phase == Phase::Backward ? module_->forward(x_) : ember::Tensor();
  }

  void run(Phase phase) override {
    switch (phase) {
      case Phase::Forward:
        module_->forward(x_);
        break;
      case Phase::EvalForward: {
        ember::NoGradGuard no_grad;
        module_->forward(x_);
        break;
      }
      case Phase::Backward:
        reset_grads();
        y_.backward(dy_, /*retain_graph=*/true);
        break;
      case Phase::ForwardBackward: {
        reset_grads();
        module_->forward(x_).backward(dy_);
        break;
      }
    }
  }

  void outputs(std::vector<float>* y, std::vector<float>* dx) override {
    module_->train();
    reset_grads();
    const ember::Tensor out = module_->forward(x_);
    out.backward(dy_);
    *y = out.to_vector<float>();
    *dx = x_.grad().to_vector<float>();
  }

 private:
  void reset_grads() {
    x_.set_grad(ember::Tensor());
    for (ember::Tensor& p : params_) p.set_grad(ember::Tensor());
  }

  std::shared_ptr<ember::nn::Module> module_;
  std::vector<ember::Tensor> params_;
  ember::Tensor x_, dy_, y_;
};

}  // namespace

std::unique_ptr<NormRunner> make_ember_runner(const NormCase& c, const std::vector<float>& x,
                                              const std::vector<float>& dy) {
  return std::make_unique<EmberRunner>(c, x, dy);
}

}  // namespace bench
