#pragma once
// nn::Module: parameters, buffers and submodules by name, train/eval, state dicts, printing.
// Modules are plain classes shared with std::shared_ptr (no ModuleHolder layer).
#include <deque>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "ember/state_dict.h"
#include "ember/tensor.h"

namespace ember::nn {

using StateDict = ember::StateDict;

struct LoadResult {
  std::vector<std::string> missing_keys;
  std::vector<std::string> unexpected_keys;
};

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // The class name PyTorch prints ("BatchNorm2d").
  virtual std::string name() const { return "Module"; }
  // What goes between the parentheses of the repr ("32, eps=1e-05, ...").
  virtual std::string extra_repr() const { return ""; }
  // One-tensor forward, for modules that have one (containers call it).
  virtual Tensor forward(const Tensor& input);
  Tensor operator()(const Tensor& input) { return forward(input); }

  std::vector<Tensor> parameters(bool recurse = true) const;
  std::vector<std::pair<std::string, Tensor>> named_parameters(bool recurse = true) const;
  std::vector<Tensor> buffers(bool recurse = true) const;
  std::vector<std::pair<std::string, Tensor>> named_buffers(bool recurse = true) const;
  std::vector<std::shared_ptr<Module>> children() const;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const;
  // This module ("") and all below it, depth-first, like PyTorch's named_modules().
  std::vector<std::pair<std::string, const Module*>> named_modules() const;

  // Parameters then buffers of each module, depth-first, dotted names ("features.0.weight");
  // values detached (sharing storage); undefined tensors skipped.
  StateDict state_dict() const;
  // Copies into the existing tensors (handles stay valid), converting dtypes. Size mismatches
  // always throw; in strict mode missing/unexpected keys throw too, all in one PyTorch-worded
  // error. Nothing is changed when it throws.
  LoadResult load_state_dict(const StateDict& dict, bool strict = true);

  virtual void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  // Drops the gradients (PyTorch 2.x's set_to_none=True).
  void zero_grad();
  // Converts floating parameters and buffers in place (handles stay valid).
  void to(DType dtype);

 protected:
  // Names must be non-empty, contain no ".", and be unique within the module.
  Tensor& register_parameter(std::string name, Tensor value, bool requires_grad = true);
  Tensor& register_buffer(std::string name, Tensor value);
  template <class M>
  std::shared_ptr<M> register_module(std::string name, std::shared_ptr<M> module) {
    add_child(std::move(name), module);
    return module;
  }
  void add_child(std::string name, std::shared_ptr<Module> module);
  // Keys this module accepts as missing from a loaded dict, and the value they then take
  // (BatchNorm's num_batches_tracked, absent from old PyTorch checkpoints).
  virtual std::vector<std::pair<std::string, Tensor>> optional_state() const { return {}; }

 private:
  void check_new_name(const std::string& name, const char* kind) const;
  void collect_state(const std::string& prefix, StateDict& out) const;
  void collect_optional(const std::string& prefix,
                        std::vector<std::pair<std::string, Tensor>>& out) const;

  bool training_ = true;
  // deques: register_* return references that must survive later registrations.
  std::deque<std::pair<std::string, Tensor>> parameters_;
  std::deque<std::pair<std::string, Tensor>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

// PyTorch's repr: "BatchNorm2d(32, eps=1e-05, ...)", containers nested and indented.
std::ostream& operator<<(std::ostream& out, const Module& module);
std::string repr(const Module& module);

// Formats a double the way Python's repr does for the option values PyTorch prints
// (1e-05, 0.1, 1.0).
std::string py_float(double value);
// "(3, 28, 28)" — a Python tuple.
std::string py_tuple(const Shape& shape);

}  // namespace ember::nn
