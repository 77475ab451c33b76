#include "optim/adam_update.h"

#include <cmath>

#include "ember/nn/module.h"

namespace ember::optim::detail {

// torch.optim.Adam's and AdamW's constructor checks (NaN fails them too).
void validate_adam(double lr, double eps, const Betas& betas, double weight_decay) {
  const auto [beta1, beta2] = betas;
  EMBER_CHECK(lr >= 0.0, "Invalid learning rate: ", nn::py_float(lr));
  EMBER_CHECK(eps >= 0.0, "Invalid epsilon value: ", nn::py_float(eps));
  EMBER_CHECK(beta1 >= 0.0 && beta1 < 1.0,
              "Invalid beta parameter at index 0: ", nn::py_float(beta1));
  EMBER_CHECK(beta2 >= 0.0 && beta2 < 1.0,
              "Invalid beta parameter at index 1: ", nn::py_float(beta2));
  EMBER_CHECK(weight_decay >= 0.0, "Invalid weight_decay value: ", nn::py_float(weight_decay));
}

void adam_update(Tensor& param, StateDict& state, const AdamHyperparameters& h) {
  const auto [beta1, beta2] = h.betas;
  if (state.empty()) {
    // torch keeps step as a float tensor; a Float64 one counts exactly past 2^24.
    state.insert("step", scalar_tensor(0.0, kFloat64));
    state.insert("exp_avg", zeros_like(param));
    state.insert("exp_avg_sq", zeros_like(param));
    if (h.amsgrad) state.insert("max_exp_avg_sq", zeros_like(param));
  }
  Tensor step_t = state.at("step");
  Tensor exp_avg = state.at("exp_avg");
  Tensor exp_avg_sq = state.at("exp_avg_sq");
  Tensor grad = param.grad();

  step_t.add_(1.0);
  if (h.decoupled_weight_decay) {
    param.mul_(1 - h.lr * h.weight_decay);
  } else if (h.weight_decay != 0) {
    grad = grad + param * h.weight_decay;  // out of place: .grad stays untouched
  }
  exp_avg.mul_(beta1).add_(grad, 1 - beta1);
  exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2);

  // The bias corrections are host scalars, computed as Python computes them.
  const double step = step_t.item<double>();
  const double bias_correction1 = 1 - std::pow(beta1, step);
  const double bias_correction2 = 1 - std::pow(beta2, step);
  const double step_size = h.lr / bias_correction1;
  const double bias_correction2_sqrt = std::sqrt(bias_correction2);

  Tensor denom;
  if (h.amsgrad) {
    Tensor max_exp_avg_sq = state.at("max_exp_avg_sq");
    max_exp_avg_sq.copy_(maximum(max_exp_avg_sq, exp_avg_sq));
    denom = max_exp_avg_sq.sqrt() / bias_correction2_sqrt;
  } else {
    denom = exp_avg_sq.sqrt() / bias_correction2_sqrt;
  }
  denom.add_(h.eps);
  param.addcdiv_(exp_avg, denom, -step_size);
}

}  // namespace ember::optim::detail
