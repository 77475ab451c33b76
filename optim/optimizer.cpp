#include "ember/optim/optimizer.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <typeinfo>
#include <unordered_set>

#include "ember/autograd/grad_mode.h"
#include "optim/hyperparameter_io.h"

namespace ember::optim {

namespace {

// torch.enable_grad(): the closure re-evaluates the loss even when step() is called under
// NoGradGuard.
class EnableGradGuard {
 public:
  EnableGradGuard() : previous_(is_grad_enabled()) { set_grad_enabled(true); }
  ~EnableGradGuard() { set_grad_enabled(previous_); }
  EnableGradGuard(const EnableGradGuard&) = delete;
  EnableGradGuard& operator=(const EnableGradGuard&) = delete;

 private:
  bool previous_;
};

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// The shape a state entry must have.
Shape state_shape(const std::string& name, const Tensor& param) {
  return name == "step" ? Shape{} : param.sizes();
}

std::string size_mismatch(const std::string& key, const Shape& saved, const Shape& own) {
  return "size mismatch for " + key + ": copying a param with shape " + shape_str(saved) +
         " from checkpoint, the shape in current optimizer is " + shape_str(own) + ".";
}

// "state.<i>.<name>" -> (i, name); false for anything else.
bool parse_state_key(const std::string& key, int64_t& index, std::string& name) {
  const std::string head = "state.";
  if (key.rfind(head, 0) != 0) return false;
  const size_t dot = key.find('.', head.size());
  if (dot == std::string::npos || dot == head.size() || dot + 1 == key.size()) return false;
  const std::string digits = key.substr(head.size(), dot - head.size());
  if (digits.size() > 18 || !std::all_of(digits.begin(), digits.end(),
                                         [](unsigned char c) { return std::isdigit(c) != 0; }))
    return false;
  index = std::stoll(digits);
  name = key.substr(dot + 1);
  return true;
}

}  // namespace

// ---- OptimizerParamGroup ----

OptimizerParamGroup::OptimizerParamGroup(const OptimizerParamGroup& other)
    : params_(other.params_), options_(other.options_ ? other.options_->clone() : nullptr) {}

OptimizerParamGroup& OptimizerParamGroup::operator=(const OptimizerParamGroup& other) {
  if (this != &other) {
    params_ = other.params_;
    options_ = other.options_ ? other.options_->clone() : nullptr;
  }
  return *this;
}

OptimizerOptions& OptimizerParamGroup::options() {
  EMBER_CHECK(options_ != nullptr, "this parameter group has no options");
  return *options_;
}
const OptimizerOptions& OptimizerParamGroup::options() const {
  EMBER_CHECK(options_ != nullptr, "this parameter group has no options");
  return *options_;
}

// ---- Optimizer ----

Optimizer::Optimizer(std::vector<OptimizerParamGroup> param_groups,
                     std::unique_ptr<OptimizerOptions> defaults)
    : defaults_(std::move(defaults)) {
  defaults_->validate();
  EMBER_CHECK(!param_groups.empty(), "optimizer got an empty parameter list");
  for (const OptimizerParamGroup& group : param_groups) add_param_group(group);
}

std::vector<OptimizerParamGroup> Optimizer::single_group(std::vector<Tensor> params) {
  std::vector<OptimizerParamGroup> groups;
  if (!params.empty()) groups.emplace_back(std::move(params));
  return groups;
}

void Optimizer::add_param_group(const OptimizerParamGroup& param_group) {
  OptimizerParamGroup group(param_group.params(), param_group.has_options()
                                                      ? param_group.options().clone()
                                                      : defaults_->clone());
  // step_group casts the options to the optimizer's own type.
  EMBER_CHECK(typeid(group.options()) == typeid(*defaults_),
              "a parameter group's options must be of the optimizer's options type (e.g. "
              "SGDOptions for SGD)");
  group.options().validate();
  std::unordered_set<const TensorImpl*> in_group, elsewhere;
  for (const OptimizerParamGroup& g : param_groups_)
    for (const Tensor& p : g.params()) elsewhere.insert(p.impl());
  for (const Tensor& p : group.params()) {
    EMBER_CHECK(p.defined(),
                "optimizer can only optimize Tensors, but one of the params is an "
                "undefined Tensor");
    EMBER_CHECK(p.is_leaf(), "can't optimize a non-leaf Tensor");
    // PyTorch only warns about a duplicate here; it would be updated twice per step.
    EMBER_CHECK(in_group.insert(p.impl()).second,
                "optimizer contains a parameter group with duplicate parameters");
    EMBER_CHECK(!elsewhere.count(p.impl()),
                "some parameters appear in more than one parameter group");
  }
  param_groups_.push_back(std::move(group));
}

std::vector<Tensor> Optimizer::parameters() const {
  std::vector<Tensor> all;
  for (const OptimizerParamGroup& g : param_groups_)
    all.insert(all.end(), g.params().begin(), g.params().end());
  return all;
}

const StateDict& Optimizer::state(const Tensor& param) const {
  static const StateDict empty;
  const auto it = state_.find(param.impl());
  return it == state_.end() ? empty : it->second;
}

Tensor Optimizer::step(const LossClosure& closure) {
  Tensor loss;
  if (closure) {
    EnableGradGuard enable_grad;
    loss = closure();
  }
  check_state();
  NoGradGuard no_grad;
  for (OptimizerParamGroup& group : param_groups_) step_group(group);
  return loss;
}

void Optimizer::zero_grad(bool set_to_none) {
  NoGradGuard no_grad;
  for (OptimizerParamGroup& group : param_groups_)
    for (Tensor& p : group.params()) {
      Tensor& grad = p.mutable_grad();
      if (!grad.defined()) continue;
      if (set_to_none) {
        grad = Tensor();
      } else {
        grad = grad.detach();  // a grad with history (create_graph) stops tracking it
        grad.zero_();
      }
    }
}

void Optimizer::check_state() const {
  int64_t index = 0;
  for (const OptimizerParamGroup& group : param_groups_) {
    const std::vector<std::string> required = required_state(group.options());
    for (const Tensor& p : group.params()) {
      const StateDict& st = state(p);
      if (!st.empty()) {
        for (const std::string& key : required)
          EMBER_CHECK(st.contains(key), name(), ": parameter ", index, " has no '", key,
                      "' state, which its group's options need (were they changed after it "
                      "stepped?)");
        for (const auto& [key, value] : st)
          EMBER_CHECK(value.sizes() == state_shape(key, p), name(), ": the '", key,
                      "' state of parameter ", index, " has shape ", shape_str(value.sizes()),
                      " but the parameter has shape ", shape_str(p.sizes()));
      }
      ++index;
    }
  }
}

StateDict Optimizer::state_dict() const {
  StateDict out;
  int64_t index = 0;
  for (const OptimizerParamGroup& group : param_groups_)
    for (const Tensor& p : group.params()) {
      for (const auto& [key, value] : state(p))
        out.insert("state." + std::to_string(index) + "." + key, value);
      ++index;
    }
  index = 0;
  for (size_t g = 0; g < param_groups_.size(); ++g) {
    const std::string prefix = "param_groups." + std::to_string(g) + ".";
    detail::HyperparameterWriter writer(out, prefix);
    param_groups_[g].options().clone()->visit(writer);  // visit is two-way, hence the copy
    std::vector<double> ids;
    for (size_t j = 0; j < param_groups_[g].params().size(); ++j)
      ids.push_back(static_cast<double>(index++));
    out.insert(prefix + "params", tensor(ids, {static_cast<int64_t>(ids.size())}, kInt64));
  }
  return out;
}

void Optimizer::load_state_dict(const StateDict& dict) {
  const std::string owner = name();
  std::set<std::string> used;

  // Parameter groups: PyTorch's two checks, then the hyper-parameters into copies of the options.
  size_t saved_groups = 0;
  while (dict.contains("param_groups." + std::to_string(saved_groups) + ".params")) ++saved_groups;
  EMBER_CHECK(saved_groups == param_groups_.size(),
              "loaded state dict has a different number of parameter groups (", saved_groups,
              " in the dict, ", param_groups_.size(), " in the optimizer)");
  std::vector<std::unique_ptr<OptimizerOptions>> options;
  std::vector<std::vector<int64_t>> saved_ids;  // per group: the saved index of each parameter
  std::set<int64_t> all_ids;
  for (size_t g = 0; g < saved_groups; ++g) {
    const std::string prefix = "param_groups." + std::to_string(g) + ".";
    const Tensor& ids = dict.at(prefix + "params");
    used.insert(prefix + "params");
    EMBER_CHECK(ids.dtype() == kInt64 && ids.dim() == 1, "Error in loading state_dict for ", owner,
                ": \"", prefix, "params\" must be an int64 vector of parameter indices, got ",
                ids.dtype(), " ", shape_str(ids.sizes()), ".");
    const size_t size = param_groups_[g].params().size();
    EMBER_CHECK(ids.numel() == static_cast<int64_t>(size),
                "loaded state dict contains a parameter group that doesn't match the size of "
                "optimizer's group (",
                prefix, "params lists ", ids.numel(), " parameters, group ", g, " has ", size, ")");
    saved_ids.push_back(ids.to_vector<int64_t>());
    for (int64_t id : saved_ids.back())
      EMBER_CHECK(all_ids.insert(id).second, "Error in loading state_dict for ", owner,
                  ": parameter index ", id, " appears twice in the param_groups.");
    options.push_back(param_groups_[g].options().clone());
    detail::HyperparameterReader reader(dict, prefix, owner, used);
    options.back()->visit(reader);
    options.back()->validate();
  }

  // Per-parameter state, gathered by saved index; every other key is unexpected.
  std::map<int64_t, std::map<std::string, Tensor>> saved_state;
  const std::vector<std::string> known = known_state();
  for (const auto& [key, value] : dict) {
    if (used.count(key)) continue;
    int64_t id = 0;
    std::string state_name;
    if (!parse_state_key(key, id, state_name) || !all_ids.count(id) || !contains(known, state_name))
      throw detail::unexpected_key(owner, key);
    saved_state[id][state_name] = value;
  }

  // Check each parameter's state against its group's loaded options, then copy it, converted to
  // the parameter's dtype and layout ("step" to a Float64 scalar): the dict's tensors are not
  // shared, so stepping does not write into them.
  std::unordered_map<const TensorImpl*, StateDict> state;
  NoGradGuard no_grad;
  for (size_t g = 0; g < saved_groups; ++g) {
    const std::vector<std::string> required = required_state(*options[g]);
    const std::vector<Tensor>& params = param_groups_[g].params();
    for (size_t j = 0; j < params.size(); ++j) {
      const Tensor& p = params[j];
      const auto it = saved_state.find(saved_ids[g][j]);
      if (it == saved_state.end()) continue;
      const std::map<std::string, Tensor>& entries = it->second;
      const std::string prefix = "state." + std::to_string(saved_ids[g][j]) + ".";
      for (const std::string& key : required)
        if (!entries.count(key)) throw detail::missing_key(owner, prefix + key);
      StateDict copied;
      for (const std::string& key : known) {
        const auto entry = entries.find(key);
        if (entry == entries.end()) continue;
        const Tensor& value = entry->second;
        const Shape want = state_shape(key, p);
        EMBER_CHECK(value.sizes() == want, "Error(s) in loading state_dict for ", owner, ":\n\t",
                    size_mismatch(prefix + key, value.sizes(), want));
        if (key == "step") {
          copied.insert(key, scalar_tensor(value.item<double>(), kFloat64));
        } else {
          Tensor t = empty_like(p);
          t.copy_(value);
          copied.insert(key, t);
        }
      }
      state[p.impl()] = std::move(copied);
    }
  }

  // Everything checked: commit.
  for (size_t g = 0; g < saved_groups; ++g) param_groups_[g].set_options(std::move(options[g]));
  state_ = std::move(state);
}

}  // namespace ember::optim
