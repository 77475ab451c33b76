#include "ember/optim/step_lr.h"

namespace ember::optim {

StepLR::StepLR(Optimizer& optimizer, int64_t step_size, double gamma)
    : LRScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
  initial_step();
}

void StepLR::validate() const {
  // PyTorch fails later, with a ZeroDivisionError at the first step.
  EMBER_CHECK(step_size_ >= 1, "StepLR: step_size must be at least 1, got ", step_size_);
}

void StepLR::visit(HyperparameterVisitor& visitor) {
  visitor("step_size", step_size_);
  visitor("gamma", gamma_);
}

// Chainable: scales the groups' current lrs, so other changes to them carry through.
std::vector<double> StepLR::get_lr() {
  std::vector<double> lrs = group_lrs();
  if (last_epoch_ == 0 || last_epoch_ % step_size_ != 0) return lrs;
  for (double& lr : lrs) lr *= gamma_;
  return lrs;
}

}  // namespace ember::optim
