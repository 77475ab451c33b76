#pragma once
// LRScheduler: what torch.optim.lr_scheduler's schedulers share. Each step() advances the epoch
// and sets every group's lr from its current value (PyTorch's chainable form), so schedulers
// compose and match PyTorch step by step.
#include <cstdint>
#include <string>
#include <vector>

#include "ember/optim/optimizer.h"
#include "ember/state_dict.h"

namespace ember::optim {

class LRScheduler {
 public:
  virtual ~LRScheduler() = default;
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;

  // The class name used in messages ("StepLR").
  virtual std::string name() const = 0;
  // Call after optimizer.step(), once per epoch.
  void step();
  // The lr of each group as this scheduler last set it.
  const std::vector<double>& get_last_lr() const { return last_lr_; }
  int64_t last_epoch() const { return last_epoch_; }
  // Each group's lr when the scheduler was created.
  const std::vector<double>& base_lrs() const { return base_lrs_; }

  // PyTorch's scheduler state as tensors: "base_lrs" and "_last_lr" (Float64 [groups]),
  // "last_epoch" and "_step_count" (Int64 rank 0), and the scheduler's own settings.
  StateDict state_dict() const;
  // The inverse; throws ember::Error naming the key (nothing changed) when one is missing,
  // unknown or malformed, or when the group count differs from the optimizer's.
  void load_state_dict(const StateDict& dict);

 protected:
  // Takes each group's current lr as its base lr; the optimizer must outlive the scheduler.
  explicit LRScheduler(Optimizer& optimizer);
  // PyTorch's _initial_step (epoch 0). Derived constructors call it last: it calls get_lr().
  void initial_step();
  // The new lr of each group for last_epoch_ (already advanced), from the groups' current lrs.
  virtual std::vector<double> get_lr() = 0;
  // The scheduler's settings (step_size, gamma, ...), saved and loaded with its state.
  virtual void visit(HyperparameterVisitor& visitor) = 0;
  // Throws ember::Error when the settings are unusable.
  virtual void validate() const = 0;

  std::vector<double> group_lrs() const;

  Optimizer& optimizer_;
  std::vector<double> base_lrs_;
  int64_t last_epoch_ = -1;
  int64_t step_count_ = 0;
  std::vector<double> last_lr_;
};

}  // namespace ember::optim
