#pragma once
// Adam (Kingma & Ba) with optional L2 weight decay and AMSGrad: torch.optim.Adam's update.
#include <string>
#include <tuple>
#include <vector>

#include "ember/nn/options.h"
#include "ember/optim/optimizer.h"

namespace ember::optim {

using Betas = std::tuple<double, double>;

struct AdamOptions : public OptimizerCloneableOptions<AdamOptions> {
  AdamOptions(double lr = 1e-3) : lr_(lr) {}  // NOLINT: implicit, as in LibTorch
  EMBER_ARG(double, lr);
  EMBER_ARG(Betas, betas) = Betas(0.9, 0.999);
  EMBER_ARG(double, eps) = 1e-8;
  EMBER_ARG(double, weight_decay) = 0;
  EMBER_ARG(bool, amsgrad) = false;

 public:
  double get_lr() const override { return lr_; }
  void set_lr(double lr) override { lr_ = lr; }
  void validate() const override;
  void visit(HyperparameterVisitor& visitor) override;
};

// Per parameter, with g its gradient (plus weight_decay * p) and t its step count:
//   m = beta1 * m + (1 - beta1) * g;   v = beta2 * v + (1 - beta2) * g * g
//   v_max = max(v_max, v) with amsgrad (used in place of v below)
//   p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// State: "step", "exp_avg", "exp_avg_sq", and "max_exp_avg_sq" with amsgrad.
class Adam : public Optimizer {
 public:
  Adam(std::vector<Tensor> params, const AdamOptions& defaults = {});
  Adam(std::vector<OptimizerParamGroup> param_groups, const AdamOptions& defaults = {});
  std::string name() const override { return "Adam"; }

 protected:
  void step_group(OptimizerParamGroup& group) override;
  std::vector<std::string> known_state() const override;
  std::vector<std::string> required_state(const OptimizerOptions& options) const override;
};

}  // namespace ember::optim
