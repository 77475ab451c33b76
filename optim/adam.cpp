#include "ember/optim/adam.h"

#include "optim/adam_update.h"

namespace ember::optim {

void AdamOptions::validate() const { detail::validate_adam(lr_, eps_, betas_, weight_decay_); }

void AdamOptions::visit(HyperparameterVisitor& visitor) {
  visitor("lr", lr_);
  visitor("betas", betas_);
  visitor("eps", eps_);
  visitor("weight_decay", weight_decay_);
  visitor("amsgrad", amsgrad_);
}

Adam::Adam(std::vector<Tensor> params, const AdamOptions& defaults)
    : Optimizer(single_group(std::move(params)), defaults.clone()) {}
Adam::Adam(std::vector<OptimizerParamGroup> param_groups, const AdamOptions& defaults)
    : Optimizer(std::move(param_groups), defaults.clone()) {}

std::vector<std::string> Adam::known_state() const {
  return {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
}
std::vector<std::string> Adam::required_state(const OptimizerOptions& options) const {
  if (static_cast<const AdamOptions&>(options).amsgrad())
    return {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
  return {"step", "exp_avg", "exp_avg_sq"};
}

void Adam::step_group(OptimizerParamGroup& group) {
  const auto& o = static_cast<const AdamOptions&>(group.options());
  const detail::AdamHyperparameters h{o.lr(),           o.betas(),   o.eps(),
                                      o.weight_decay(), o.amsgrad(), false};
  for (Tensor& p : group.params())
    if (p.grad().defined()) detail::adam_update(p, mutable_state(p), h);
}

}  // namespace ember::optim
