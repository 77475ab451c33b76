#pragma once
// Optimizer: what torch.optim's optimizers share — parameter groups with their own options,
// per-parameter state created on a parameter's first step, zero_grad(), and state dicts that hold
// tensors only, so a checkpoint round-trips through safetensors.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "ember/state_dict.h"
#include "ember/tensor.h"

namespace ember::optim {

// Reads or writes one named hyper-parameter. OptimizerOptions::visit (and the schedulers) list
// their fields once for both directions, so what state_dict() saves and what load_state_dict()
// reads cannot drift apart.
class HyperparameterVisitor {
 public:
  virtual ~HyperparameterVisitor() = default;
  virtual void operator()(const char* name, double& value) = 0;
  virtual void operator()(const char* name, bool& value) = 0;
  virtual void operator()(const char* name, int64_t& value) = 0;
  virtual void operator()(const char* name, std::tuple<double, double>& value) = 0;
};

// The options of one parameter group (SGDOptions, AdamOptions, ...).
class OptimizerOptions {
 public:
  virtual ~OptimizerOptions() = default;
  virtual std::unique_ptr<OptimizerOptions> clone() const = 0;
  virtual double get_lr() const = 0;
  virtual void set_lr(double lr) = 0;
  // Throws ember::Error worded like torch.optim's constructor checks.
  virtual void validate() const = 0;
  // Every hyper-parameter under its torch.optim param_group key, in PyTorch's order.
  virtual void visit(HyperparameterVisitor& visitor) = 0;
};

// clone() for an options class Derived (LibTorch's OptimizerCloneableOptions).
template <class Derived>
class OptimizerCloneableOptions : public OptimizerOptions {
 public:
  std::unique_ptr<OptimizerOptions> clone() const override {
    return std::make_unique<Derived>(static_cast<const Derived&>(*this));
  }
};

// Parameters that share options. A group built without options takes the optimizer's defaults
// when it is added.
class OptimizerParamGroup {
 public:
  OptimizerParamGroup(std::vector<Tensor> params) : params_(std::move(params)) {}  // NOLINT
  OptimizerParamGroup(std::vector<Tensor> params, const OptimizerOptions& options)
      : params_(std::move(params)), options_(options.clone()) {}
  OptimizerParamGroup(std::vector<Tensor> params, std::unique_ptr<OptimizerOptions> options)
      : params_(std::move(params)), options_(std::move(options)) {}
  OptimizerParamGroup(const OptimizerParamGroup& other);
  OptimizerParamGroup& operator=(const OptimizerParamGroup& other);
  OptimizerParamGroup(OptimizerParamGroup&&) = default;
  OptimizerParamGroup& operator=(OptimizerParamGroup&&) = default;

  bool has_options() const { return options_ != nullptr; }
  OptimizerOptions& options();  // throws ember::Error when the group has none
  const OptimizerOptions& options() const;
  void set_options(std::unique_ptr<OptimizerOptions> options) { options_ = std::move(options); }
  std::vector<Tensor>& params() { return params_; }
  const std::vector<Tensor>& params() const { return params_; }

 private:
  std::vector<Tensor> params_;
  std::unique_ptr<OptimizerOptions> options_;
};

class Optimizer {
 public:
  using LossClosure = std::function<Tensor()>;

  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // The class name used in messages ("SGD", "Adam").
  virtual std::string name() const = 0;

  // One update of every parameter that has a gradient (parameters whose grad is undefined are
  // skipped and keep their state). `closure`, when given, re-evaluates the loss with grad mode on
  // before the update; its result is returned (an undefined tensor without a closure).
  Tensor step(const LossClosure& closure = nullptr);
  // set_to_none (PyTorch 2's default) drops the gradients; otherwise they are zeroed in place.
  void zero_grad(bool set_to_none = true);

  // Validates the parameters (defined, leaves, in no other group) and the options; a group
  // without options gets a copy of the defaults.
  void add_param_group(const OptimizerParamGroup& param_group);
  std::vector<OptimizerParamGroup>& param_groups() { return param_groups_; }
  const std::vector<OptimizerParamGroup>& param_groups() const { return param_groups_; }
  // Every parameter, group by group (the order state_dict() numbers them in).
  std::vector<Tensor> parameters() const;
  const OptimizerOptions& defaults() const { return *defaults_; }

  // torch.optim's state_dict, flattened to tensors: "state.<i>.<name>" for each parameter i that
  // has stepped (i counts parameters across groups in order), then for each group g its
  // hyper-parameters "param_groups.<g>.<key>" (Float64: rank 0, betas [2]; bools as 0/1) and
  // "param_groups.<g>.params" (Int64 parameter indices). The state tensors are the live ones,
  // as in PyTorch: save (or clone) the dict before stepping again.
  StateDict state_dict() const;
  // Restores hyper-parameters and state saved by state_dict() (or converted from torch.optim's),
  // converting state to each parameter's dtype. Groups must match in number and size, each
  // state tensor in shape, and every key must be known; otherwise it throws ember::Error naming
  // the key, and nothing is changed.
  void load_state_dict(const StateDict& dict);

  // The state of one parameter (e.g. "exp_avg"); empty until its first step.
  const StateDict& state(const Tensor& param) const;

 protected:
  Optimizer(std::vector<OptimizerParamGroup> param_groups,
            std::unique_ptr<OptimizerOptions> defaults);

  // Updates the group's parameters; runs under NoGradGuard.
  virtual void step_group(OptimizerParamGroup& group) = 0;
  // Every state key this optimizer creates, in creation order. "step" is a rank-0 counter;
  // every other entry has the parameter's shape.
  virtual std::vector<std::string> known_state() const = 0;
  // The keys a parameter's state must hold once it has stepped under `options`. (A state may
  // hold more: turning amsgrad off keeps max_exp_avg_sq, as in PyTorch.)
  virtual std::vector<std::string> required_state(const OptimizerOptions& options) const = 0;

  // The parameter's state, created empty on first use.
  StateDict& mutable_state(const Tensor& param) { return state_[param.impl()]; }
  // The single group `params` form of the constructor (an empty list stays empty, so the
  // constructor reports it).
  static std::vector<OptimizerParamGroup> single_group(std::vector<Tensor> params);

 private:
  // Throws unless each stepped parameter's state has the entries its group's options need, in
  // the parameter's shape; step() checks this before it changes anything.
  void check_state() const;

  std::unique_ptr<OptimizerOptions> defaults_;
  std::vector<OptimizerParamGroup> param_groups_;
  // Keyed by the parameter's TensorImpl: a handle kept in param_groups_ keeps it alive, and
  // in-place conversions (Module::to) keep its identity.
  std::unordered_map<const TensorImpl*, StateDict> state_;
};

}  // namespace ember::optim
