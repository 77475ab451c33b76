#pragma once
// Internal: hyper-parameters to and from state-dict tensors, for optimizers' param groups and for
// schedulers. Doubles and bools are Float64 rank 0 (bools as 0/1), integers Int64 rank 0, betas
// Float64 [2].
#include <cstdint>
#include <set>
#include <string>
#include <tuple>
#include <utility>

#include "ember/optim/optimizer.h"
#include "ember/state_dict.h"

namespace ember::optim::detail {

// Inserts each visited value into `out` as "<prefix><name>".
class HyperparameterWriter : public HyperparameterVisitor {
 public:
  HyperparameterWriter(StateDict& out, std::string prefix)
      : out_(out), prefix_(std::move(prefix)) {}
  void operator()(const char* name, double& value) override;
  void operator()(const char* name, bool& value) override;
  void operator()(const char* name, int64_t& value) override;
  void operator()(const char* name, std::tuple<double, double>& value) override;

 private:
  StateDict& out_;
  std::string prefix_;
};

// Sets each visited value from "<prefix><name>" in `in` and records the key in `used`. Throws
// ember::Error naming the key when it is missing or has the wrong shape or value; `owner` ("SGD",
// "StepLR") starts the message.
class HyperparameterReader : public HyperparameterVisitor {
 public:
  HyperparameterReader(const StateDict& in, std::string prefix, std::string owner,
                       std::set<std::string>& used)
      : in_(in), prefix_(std::move(prefix)), owner_(std::move(owner)), used_(used) {}
  void operator()(const char* name, double& value) override;
  void operator()(const char* name, bool& value) override;
  void operator()(const char* name, int64_t& value) override;
  void operator()(const char* name, std::tuple<double, double>& value) override;

 private:
  // The entry for `name`, checked to have `shape`.
  const Tensor& entry(const char* name, const Shape& shape);

  const StateDict& in_;
  std::string prefix_;
  std::string owner_;
  std::set<std::string>& used_;
};

// "Missing key(s) in state_dict for Adam: "state.0.exp_avg"." — Module::load_state_dict's words.
Error missing_key(const std::string& owner, const std::string& key);
Error unexpected_key(const std::string& owner, const std::string& key);

}  // namespace ember::optim::detail
