#include "ember/optim/cosine_annealing_lr.h"

#include <cmath>
#include <numbers>

namespace ember::optim {

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min)
    : LRScheduler(optimizer), T_max_(T_max), eta_min_(eta_min) {
  initial_step();
}

void CosineAnnealingLR::validate() const {
  // PyTorch fails later, with a ZeroDivisionError at the first step.
  EMBER_CHECK(T_max_ >= 1, "CosineAnnealingLR: T_max must be at least 1, got ", T_max_);
}

void CosineAnnealingLR::visit(HyperparameterVisitor& visitor) {
  visitor("T_max", T_max_);
  visitor("eta_min", eta_min_);
}

// torch.optim.lr_scheduler.CosineAnnealingLR.get_lr, with its operations in Python's order so the
// values agree to the last bit where the libm agrees.
std::vector<double> CosineAnnealingLR::get_lr() {
  constexpr double pi = std::numbers::pi;  // == math.pi
  std::vector<double> lrs = group_lrs();
  if (last_epoch_ == 0) return lrs;
  const double epoch = static_cast<double>(last_epoch_);
  const double t_max = static_cast<double>(T_max_);
  if (step_count_ == 1 && last_epoch_ > 0) {  // resumed at a later epoch: the closed form
    for (size_t i = 0; i < lrs.size(); ++i)
      lrs[i] = eta_min_ + (base_lrs_[i] - eta_min_) * (1 + std::cos(epoch * pi / t_max)) / 2;
  } else if ((last_epoch_ - 1 - T_max_) % (2 * T_max_) == 0) {
    // Past the minimum the recursion would divide by 1 + cos(pi) = 0; climb by the first step's
    // amount instead.
    for (size_t i = 0; i < lrs.size(); ++i)
      lrs[i] = lrs[i] + (base_lrs_[i] - eta_min_) * (1 - std::cos(pi / t_max)) / 2;
  } else {
    const double ratio =
        (1 + std::cos(pi * epoch / t_max)) / (1 + std::cos(pi * (epoch - 1) / t_max));
    for (double& lr : lrs) lr = ratio * (lr - eta_min_) + eta_min_;
  }
  return lrs;
}

}  // namespace ember::optim
