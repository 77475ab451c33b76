#include "ember/optim/sgd.h"

#include "ember/nn/module.h"

namespace ember::optim {

void SGDOptions::validate() const {
  // torch.optim.SGD's checks (NaN fails them here too).
  EMBER_CHECK(lr_ >= 0.0, "Invalid learning rate: ", nn::py_float(lr_));
  EMBER_CHECK(momentum_ >= 0.0, "Invalid momentum value: ", nn::py_float(momentum_));
  EMBER_CHECK(weight_decay_ >= 0.0, "Invalid weight_decay value: ", nn::py_float(weight_decay_));
  EMBER_CHECK(!nesterov_ || (momentum_ > 0 && dampening_ == 0),
              "Nesterov momentum requires a momentum and zero dampening");
}

void SGDOptions::visit(HyperparameterVisitor& visitor) {
  visitor("lr", lr_);
  visitor("momentum", momentum_);
  visitor("dampening", dampening_);
  visitor("weight_decay", weight_decay_);
  visitor("nesterov", nesterov_);
}

SGD::SGD(std::vector<Tensor> params, const SGDOptions& defaults)
    : Optimizer(single_group(std::move(params)), defaults.clone()) {}
SGD::SGD(std::vector<OptimizerParamGroup> param_groups, const SGDOptions& defaults)
    : Optimizer(std::move(param_groups), defaults.clone()) {}

std::vector<std::string> SGD::known_state() const { return {"momentum_buffer"}; }
std::vector<std::string> SGD::required_state(const OptimizerOptions& options) const {
  if (static_cast<const SGDOptions&>(options).momentum() == 0) return {};
  return {"momentum_buffer"};
}

// torch.optim.sgd._single_tensor_sgd, line for line.
void SGD::step_group(OptimizerParamGroup& group) {
  const auto& o = static_cast<const SGDOptions&>(group.options());
  for (Tensor& p : group.params()) {
    const Tensor grad = p.grad();
    if (!grad.defined()) continue;
    // Out of place: the user's .grad must come out of step() unchanged.
    Tensor d_p = o.weight_decay() != 0 ? grad + p * o.weight_decay() : grad;
    StateDict& state = mutable_state(p);
    if (o.momentum() != 0) {
      Tensor buf;
      if (!state.contains("momentum_buffer")) {
        // The first step starts the buffer at d_p itself (no dampening), as PyTorch does.
        buf = d_p.clone(d_p.suggest_memory_format());
        state.insert("momentum_buffer", buf);
      } else {
        buf = state.at("momentum_buffer");
        buf.mul_(o.momentum()).add_(d_p, 1 - o.dampening());
      }
      d_p = o.nesterov() ? d_p + buf * o.momentum() : buf;
    } else if (!state.empty()) {
      state = StateDict();  // momentum turned off: PyTorch stores momentum_buffer = None
    }
    p.add_(d_p, -o.lr());
  }
}

}  // namespace ember::optim
