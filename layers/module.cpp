// nn::Module: registration, traversal, train/eval, state dicts and the PyTorch-style repr.
#include "ember/nn/module.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <set>
#include <sstream>

#include "ember/autograd/grad_mode.h"

namespace ember::nn {

Tensor Module::forward(const Tensor&) { throw Error(name() + " has no single-tensor forward()"); }

// ---- registration ----

void Module::check_new_name(const std::string& name, const char* kind) const {
  EMBER_CHECK(!name.empty(), kind, " name can't be empty string \"\"");
  EMBER_CHECK(name.find('.') == std::string::npos, kind, " name can't contain \".\", got \"", name,
              "\"");
  auto taken = [&](const auto& list) {
    return std::any_of(list.begin(), list.end(), [&](const auto& p) { return p.first == name; });
  };
  EMBER_CHECK(!taken(parameters_) && !taken(buffers_) && !taken(children_), "attribute '", name,
              "' already exists in ", this->name());
}

Tensor& Module::register_parameter(std::string name, Tensor value, bool requires_grad) {
  check_new_name(name, "parameter");
  if (value.defined()) value.requires_grad_(requires_grad);
  parameters_.emplace_back(std::move(name), std::move(value));
  return parameters_.back().second;
}

Tensor& Module::register_buffer(std::string name, Tensor value) {
  check_new_name(name, "buffer");
  buffers_.emplace_back(std::move(name), std::move(value));
  return buffers_.back().second;
}

void Module::add_child(std::string name, std::shared_ptr<Module> module) {
  check_new_name(name, "module");
  EMBER_CHECK(module != nullptr, "register_module: module \"", name, "\" is null");
  children_.emplace_back(std::move(name), std::move(module));
}

// ---- traversal ----

std::vector<std::pair<std::string, const Module*>> Module::named_modules() const {
  std::vector<std::pair<std::string, const Module*>> out{{"", this}};
  for (const auto& [name, child] : children_)
    for (const auto& [sub, m] : child->named_modules())
      out.emplace_back(sub.empty() ? name : name + "." + sub, m);
  return out;
}

namespace {
// Named tensors of `which` (parameters or buffers) of every module, defined ones only, each
// tensor once (a shared parameter is listed under its first name, like PyTorch).
template <class Get>
std::vector<std::pair<std::string, Tensor>> named_tensors(const Module& root, bool recurse,
                                                          Get get) {
  std::vector<std::pair<std::string, Tensor>> out;
  std::set<const TensorImpl*> seen;
  auto modules = recurse ? root.named_modules()
                         : std::vector<std::pair<std::string, const Module*>>{{"", &root}};
  for (const auto& [prefix, m] : modules)
    for (const auto& [name, t] : get(*m))
      if (t.defined() && seen.insert(t.impl()).second)
        out.emplace_back(prefix.empty() ? name : prefix + "." + name, t);
  return out;
}
template <class Named>
std::vector<Tensor> values_of(const Named& named) {
  std::vector<Tensor> out;
  for (const auto& [name, t] : named) out.push_back(t);
  return out;
}
}  // namespace

std::vector<std::pair<std::string, Tensor>> Module::named_parameters(bool recurse) const {
  return named_tensors(
      *this, recurse, [](const Module& m) -> const auto& { return m.parameters_; });
}
std::vector<std::pair<std::string, Tensor>> Module::named_buffers(bool recurse) const {
  return named_tensors(
      *this, recurse, [](const Module& m) -> const auto& { return m.buffers_; });
}
std::vector<Tensor> Module::parameters(bool recurse) const {
  return values_of(named_parameters(recurse));
}
std::vector<Tensor> Module::buffers(bool recurse) const {
  return values_of(named_buffers(recurse));
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_children() const {
  return children_;
}
std::vector<std::shared_ptr<Module>> Module::children() const {
  std::vector<std::shared_ptr<Module>> out;
  for (const auto& [name, child] : children_) out.push_back(child);
  return out;
}

// ---- modes and gradients ----

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

void Module::zero_grad() {
  for (Tensor& p : parameters()) p.set_grad(Tensor());
}

void Module::to(DType dtype) {
  NoGradGuard no_grad;
  // Swap the storage inside each existing TensorImpl so handles held elsewhere stay valid.
  for (const auto& [prefix, m] : named_modules()) {
    auto* self = const_cast<Module*>(m);
    for (auto* list : {&self->parameters_, &self->buffers_})
      for (auto& [name, t] : *list) {
        if (!t.defined() || !is_floating(t.dtype()) || t.dtype() == dtype) continue;
        Tensor converted = t.detach().to(dtype);
        TensorImpl* impl = t.impl();
        impl->storage = converted.impl()->storage;
        impl->offset = converted.storage_offset();
        impl->strides = converted.strides();
        impl->dtype = dtype;
        impl->grad = Tensor();
      }
  }
}

// ---- state dicts ----

void Module::collect_state(const std::string& prefix, StateDict& out) const {
  for (const auto* list : {&parameters_, &buffers_})
    for (const auto& [name, t] : *list)
      if (t.defined()) out.insert(prefix + name, t.detach());
  for (const auto& [name, child] : children_) child->collect_state(prefix + name + ".", out);
}

StateDict Module::state_dict() const {
  StateDict out;
  collect_state("", out);
  return out;
}

void Module::collect_optional(const std::string& prefix,
                              std::vector<std::pair<std::string, Tensor>>& out) const {
  for (auto& [name, value] : optional_state()) out.emplace_back(prefix + name, value);
  for (const auto& [name, child] : children_) child->collect_optional(prefix + name + ".", out);
}

namespace {
std::string quoted_list(const std::vector<std::string>& keys) {
  std::string out;
  for (size_t i = 0; i < keys.size(); ++i) out += (i ? ", \"" : "\"") + keys[i] + "\"";
  return out;
}
}  // namespace

LoadResult Module::load_state_dict(const StateDict& dict, bool strict) {
  const StateDict own = state_dict();
  std::vector<std::pair<std::string, Tensor>> optional;
  collect_optional("", optional);
  auto optional_value = [&](const std::string& key) -> const Tensor* {
    for (const auto& [name, value] : optional)
      if (name == key) return &value;
    return nullptr;
  };

  LoadResult result;
  std::vector<std::string> errors;
  for (const auto& [key, target] : own) {
    if (!dict.contains(key)) {
      if (!optional_value(key)) result.missing_keys.push_back(key);
      continue;
    }
    const Tensor& source = dict.at(key);
    if (source.sizes() != target.sizes())
      errors.push_back(
          "size mismatch for " + key + ": copying a param with shape " + shape_str(source.sizes()) +
          " from checkpoint, the shape in current model is " + shape_str(target.sizes()) + ".");
  }
  for (const auto& [key, value] : dict)
    if (!own.contains(key)) result.unexpected_keys.push_back(key);

  if (strict) {
    if (!result.unexpected_keys.empty())
      errors.insert(errors.begin(), "Unexpected key(s) in state_dict: " +
                                        quoted_list(result.unexpected_keys) + ". ");
    if (!result.missing_keys.empty())
      errors.insert(errors.begin(),
                    "Missing key(s) in state_dict: " + quoted_list(result.missing_keys) + ". ");
  }
  if (!errors.empty()) {
    std::string msg = "Error(s) in loading state_dict for " + name() + ":";
    for (const auto& e : errors) msg += "\n\t" + e;
    throw Error(msg);
  }

  // Everything is validated: copy into the existing storage (dtype converts in copy_).
  NoGradGuard no_grad;
  for (const auto& [key, target] : own) {
    Tensor dst = target;
    if (dict.contains(key))
      dst.copy_(dict.at(key));
    else if (const Tensor* fallback = optional_value(key))
      dst.copy_(*fallback);
  }
  return result;
}

// ---- printing ----

std::string py_float(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  // Python's repr: the shortest text that round-trips, exponent form below 1e-4 / from 1e16.
  for (int precision = 1; precision <= 17; ++precision) {
    std::ostringstream out;
    out << std::setprecision(precision) << value;
    if (std::stod(out.str()) != value) continue;
    std::string s = out.str();
    const auto e = s.find('e');
    if (e != std::string::npos) {
      // C++ prints 1e-05 like Python; make sure mantissas keep Python's form (1e-05, 1.5e-05).
      return s;
    }
    if (s.find('.') == std::string::npos) s += ".0";
    return s;
  }
  return std::to_string(value);
}

std::string py_tuple(const Shape& shape) {
  std::string out = "(";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + (shape.size() == 1 ? ",)" : ")");
}

std::string repr(const Module& module) {
  const auto children = module.named_children();
  const std::string extra = module.extra_repr();
  if (children.empty()) return module.name() + "(" + extra + ")";
  std::string out = module.name() + "(";
  if (!extra.empty()) out += "\n  " + extra;
  for (const auto& [name, child] : children) {
    std::string sub = repr(*child);
    std::string indented;  // indent continuation lines by two spaces, like PyTorch's _addindent
    for (char c : sub) {
      indented += c;
      if (c == '\n') indented += "  ";
    }
    out += "\n  (" + name + "): " + indented;
  }
  return out + "\n)";
}

std::ostream& operator<<(std::ostream& out, const Module& module) { return out << repr(module); }

}  // namespace ember::nn
