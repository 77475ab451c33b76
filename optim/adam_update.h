#pragma once
// Internal: the Adam/AdamW update of one parameter, torch.optim's single-tensor path
// (_single_tensor_adam / _single_tensor_adamw). Adam and AdamW differ only in how weight decay
// enters.
#include "ember/optim/adam.h"
#include "ember/state_dict.h"
#include "ember/tensor.h"

namespace ember::optim::detail {

struct AdamHyperparameters {
  double lr;
  Betas betas;
  double eps;
  double weight_decay;
  bool amsgrad;
  // AdamW: p *= 1 - lr * weight_decay before the update; Adam: g += weight_decay * p.
  bool decoupled_weight_decay;
};

// torch.optim.Adam's and AdamW's constructor checks.
void validate_adam(double lr, double eps, const Betas& betas, double weight_decay);

// Updates `param` from its gradient (which must be defined) and its state, which is created
// (step 0, zero moments) when empty. Call under NoGradGuard.
void adam_update(Tensor& param, StateDict& state, const AdamHyperparameters& h);

}  // namespace ember::optim::detail
