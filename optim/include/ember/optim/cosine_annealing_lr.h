#pragma once
// CosineAnnealingLR: anneals each group's lr from its base value to eta_min along half a cosine
// over T_max epochs, then back up (SGDR without restarts), in torch.optim.lr_scheduler's
// recursive form:
//   lr_t = eta_min + (lr_{t-1} - eta_min) * (1 + cos(pi t / T_max)) / (1 + cos(pi (t-1) / T_max))
#include <cstdint>
#include <string>
#include <vector>

#include "ember/optim/lr_scheduler.h"

namespace ember::optim {

class CosineAnnealingLR : public LRScheduler {
 public:
  // Throws ember::Error unless T_max >= 1.
  CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min = 0.0);
  int64_t T_max() const { return T_max_; }
  double eta_min() const { return eta_min_; }

  std::string name() const override { return "CosineAnnealingLR"; }

 protected:
  std::vector<double> get_lr() override;
  void visit(HyperparameterVisitor& visitor) override;
  void validate() const override;

 private:
  int64_t T_max_;
  double eta_min_;
};

}  // namespace ember::optim
