#pragma once
// SGD with momentum, dampening, Nesterov momentum and (L2) weight decay: torch.optim.SGD's update.
#include <string>
#include <vector>

#include "ember/nn/options.h"
#include "ember/optim/optimizer.h"

namespace ember::optim {

struct SGDOptions : public OptimizerCloneableOptions<SGDOptions> {
  SGDOptions(double lr) : lr_(lr) {}  // NOLINT: implicit, as in LibTorch
  EMBER_ARG(double, lr);
  EMBER_ARG(double, momentum) = 0;
  EMBER_ARG(double, dampening) = 0;
  EMBER_ARG(double, weight_decay) = 0;
  EMBER_ARG(bool, nesterov) = false;

 public:
  double get_lr() const override { return lr_; }
  void set_lr(double lr) override { lr_ = lr; }
  void validate() const override;
  void visit(HyperparameterVisitor& visitor) override;
};

// Per parameter, with g its gradient (plus weight_decay * p):
//   buf = g at the first step, then momentum * buf + (1 - dampening) * g
//   p -= lr * (nesterov ? g + momentum * buf : buf)        (p -= lr * g without momentum)
// State: "momentum_buffer" when momentum != 0.
class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> params, const SGDOptions& defaults);
  SGD(std::vector<OptimizerParamGroup> param_groups, const SGDOptions& defaults);
  std::string name() const override { return "SGD"; }

 protected:
  void step_group(OptimizerParamGroup& group) override;
  std::vector<std::string> known_state() const override;
  std::vector<std::string> required_state(const OptimizerOptions& options) const override;
};

}  // namespace ember::optim
