#pragma once
// Linear: y = x·Wᵀ + b over the last dim, with PyTorch's parameters, init and repr.
#include "ember/nn/module.h"
#include "ember/nn/options.h"

namespace ember::nn {

struct LinearOptions {
  LinearOptions(int64_t in_features, int64_t out_features)
      : in_features_(in_features), out_features_(out_features) {}
  EMBER_ARG(int64_t, in_features);
  EMBER_ARG(int64_t, out_features);
  EMBER_ARG(bool, bias) = true;
};

// weight [out_features, in_features] and bias [out_features], both U(-1/√in, 1/√in) (PyTorch's
// kaiming_uniform_(a=√5) and its bias rule).
class Linear : public Module {
 public:
  explicit Linear(LinearOptions options);
  Linear(int64_t in_features, int64_t out_features)
      : Linear(LinearOptions(in_features, out_features)) {}
  // input [*, in_features] → [*, out_features]
  Tensor forward(const Tensor& input) override;
  std::string name() const override { return "Linear"; }
  std::string extra_repr() const override;
  void reset_parameters();

  const LinearOptions& options() const { return options_; }
  Tensor& weight() { return weight_; }
  Tensor& bias() { return bias_; }

 private:
  LinearOptions options_;
  Tensor weight_, bias_;
};

namespace functional {
// One autograd node: y = x·Wᵀ + b. x [*, in], weight [out, in], bias [out] or undefined.
Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias = {});
}  // namespace functional

}  // namespace ember::nn
