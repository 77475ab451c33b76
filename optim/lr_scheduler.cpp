#include "ember/optim/lr_scheduler.h"

#include <set>
#include <string>

#include "optim/hyperparameter_io.h"

namespace ember::optim {

namespace {

Tensor f64_vector(const std::vector<double>& values) {
  return tensor(values, {static_cast<int64_t>(values.size())}, kFloat64);
}
}  // namespace

LRScheduler::LRScheduler(Optimizer& optimizer) : optimizer_(optimizer), base_lrs_(group_lrs()) {}

std::vector<double> LRScheduler::group_lrs() const {
  std::vector<double> lrs;
  for (const OptimizerParamGroup& g : optimizer_.param_groups())
    lrs.push_back(g.options().get_lr());
  return lrs;
}

void LRScheduler::initial_step() {
  validate();
  step_count_ = 0;
  step();
}

void LRScheduler::step() {
  // PyTorch zips groups with base_lrs and would silently skip a group added later.
  EMBER_CHECK(optimizer_.param_groups().size() == base_lrs_.size(), "the optimizer has ",
              optimizer_.param_groups().size(),
              " parameter groups, but the scheduler was made for ", base_lrs_.size());
  ++step_count_;
  ++last_epoch_;
  const std::vector<double> lrs = get_lr();
  std::vector<OptimizerParamGroup>& groups = optimizer_.param_groups();
  for (size_t i = 0; i < groups.size(); ++i) groups[i].options().set_lr(lrs[i]);
  last_lr_ = group_lrs();
}

StateDict LRScheduler::state_dict() const {
  StateDict out;
  detail::HyperparameterWriter writer(out, "");
  const_cast<LRScheduler*>(this)->visit(writer);  // visit is two-way; writing reads only
  out.insert("base_lrs", f64_vector(base_lrs_));
  out.insert("last_epoch", scalar_tensor(static_cast<double>(last_epoch_), kInt64));
  out.insert("_step_count", scalar_tensor(static_cast<double>(step_count_), kInt64));
  out.insert("_last_lr", f64_vector(last_lr_));
  return out;
}

void LRScheduler::load_state_dict(const StateDict& dict) {
  const std::string owner = name();
  std::set<std::string> used;
  const Shape groups{static_cast<int64_t>(optimizer_.param_groups().size())};
  auto vector_of = [&](const std::string& key) {
    if (!dict.contains(key)) throw detail::missing_key(owner, key);
    const Tensor& t = dict.at(key);
    EMBER_CHECK(t.sizes() == groups, "Error in loading state_dict for ", owner, ": \"", key,
                "\" has shape ", shape_str(t.sizes()), ", expected ", shape_str(groups),
                " (one value per parameter group).");
    used.insert(key);
    return t.to_vector<double>();
  };
  std::vector<double> base_lrs = vector_of("base_lrs");
  std::vector<double> last_lr = vector_of("_last_lr");
  int64_t last_epoch = 0, step_count = 0;
  detail::HyperparameterReader counters(dict, "", owner, used);
  counters("last_epoch", last_epoch);
  counters("_step_count", step_count);

  // The settings are read straight into this scheduler, so keep a copy to undo a failed read.
  StateDict before;
  detail::HyperparameterWriter save(before, "");
  visit(save);
  try {
    detail::HyperparameterReader settings(dict, "", owner, used);
    visit(settings);
    validate();
    for (const auto& [key, value] : dict)
      if (!used.count(key)) throw detail::unexpected_key(owner, key);
  } catch (...) {
    std::set<std::string> ignored;
    detail::HyperparameterReader restore(before, "", owner, ignored);
    visit(restore);
    throw;
  }
  base_lrs_ = std::move(base_lrs);
  last_lr_ = std::move(last_lr);
  last_epoch_ = last_epoch;
  step_count_ = step_count;
}

}  // namespace ember::optim
