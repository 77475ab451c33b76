#pragma once
// StepLR: multiplies each group's lr by gamma every step_size epochs (torch.optim.lr_scheduler).
#include <cstdint>
#include <string>
#include <vector>

#include "ember/optim/lr_scheduler.h"

namespace ember::optim {

class StepLR : public LRScheduler {
 public:
  // Throws ember::Error unless step_size >= 1.
  StepLR(Optimizer& optimizer, int64_t step_size, double gamma = 0.1);
  int64_t step_size() const { return step_size_; }
  double gamma() const { return gamma_; }

  std::string name() const override { return "StepLR"; }

 protected:
  std::vector<double> get_lr() override;
  void visit(HyperparameterVisitor& visitor) override;
  void validate() const override;

 private:
  int64_t step_size_;
  double gamma_;
};

}  // namespace ember::optim
