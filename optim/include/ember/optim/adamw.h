#pragma once
// AdamW (Loshchilov & Hutter): Adam with decoupled weight decay, torch.optim.AdamW's update.
#include <string>
#include <vector>

#include "ember/nn/options.h"
#include "ember/optim/adam.h"
#include "ember/optim/optimizer.h"

namespace ember::optim {

struct AdamWOptions : public OptimizerCloneableOptions<AdamWOptions> {
  AdamWOptions(double lr = 1e-3) : lr_(lr) {}  // NOLINT: implicit, as in LibTorch
  EMBER_ARG(double, lr);
  EMBER_ARG(Betas, betas) = Betas(0.9, 0.999);
  EMBER_ARG(double, eps) = 1e-8;
  EMBER_ARG(double, weight_decay) = 1e-2;
  EMBER_ARG(bool, amsgrad) = false;

 public:
  double get_lr() const override { return lr_; }
  void set_lr(double lr) override { lr_ = lr; }
  void validate() const override;
  void visit(HyperparameterVisitor& visitor) override;
};

// Adam's update (see adam.h) without the L2 term; instead each step first decays the parameter
// itself: p *= 1 - lr * weight_decay. State as Adam's.
class AdamW : public Optimizer {
 public:
  AdamW(std::vector<Tensor> params, const AdamWOptions& defaults = {});
  AdamW(std::vector<OptimizerParamGroup> param_groups, const AdamWOptions& defaults = {});
  std::string name() const override { return "AdamW"; }

 protected:
  void step_group(OptimizerParamGroup& group) override;
  std::vector<std::string> known_state() const override;
  std::vector<std::string> required_state(const OptimizerOptions& options) const override;
};

}  // namespace ember::optim
