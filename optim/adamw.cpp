#include "ember/optim/adamw.h"

#include "optim/adam_update.h"

namespace ember::optim {

void AdamWOptions::validate() const { detail::validate_adam(lr_, eps_, betas_, weight_decay_); }

void AdamWOptions::visit(HyperparameterVisitor& visitor) {
  visitor("lr", lr_);
  visitor("betas", betas_);
  visitor("eps", eps_);
  visitor("weight_decay", weight_decay_);
  visitor("amsgrad", amsgrad_);
}

AdamW::AdamW(std::vector<Tensor> params, const AdamWOptions& defaults)
    : Optimizer(single_group(std::move(params)), defaults.clone()) {}
AdamW::AdamW(std::vector<OptimizerParamGroup> param_groups, const AdamWOptions& defaults)
    : Optimizer(std::move(param_groups), defaults.clone()) {}

std::vector<std::string> AdamW::known_state() const {
  return {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
}
std::vector<std::string> AdamW::required_state(const OptimizerOptions& options) const {
  if (static_cast<const AdamWOptions&>(options).amsgrad())
    return {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
  return {"step", "exp_avg", "exp_avg_sq"};
}

void AdamW::step_group(OptimizerParamGroup& group) {
  const auto& o = static_cast<const AdamWOptions&>(group.options());
  const detail::AdamHyperparameters h{o.lr(),           o.betas(),   o.eps(),
                                      o.weight_decay(), o.amsgrad(), true};
  for (Tensor& p : group.params())
    if (p.grad().defined()) detail::adam_update(p, mutable_state(p), h);
}

}  // namespace ember::optim
