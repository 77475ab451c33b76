#pragma once
// Shared by test_norm_golden.cpp and test_norm_gradcheck.cpp: one description of a normalization
// layer with its options (named as in PyTorch), and the ember module or nn::functional call it
// stands for, so both suites build layers the same way from a table instead of by hand.
#include <memory>
#include <optional>
#include <string>

#include "ember/ember.h"

namespace ember::norm_test {

struct NormSpec {
  std::string layer;         // PyTorch's class name: "BatchNorm2d", "LayerNorm", "RMSNorm", ...
  int64_t num_features = 0;  // BatchNorm/InstanceNorm: C; GroupNorm: num_channels
  int64_t num_groups = 0;    // GroupNorm
  Shape normalized_shape;    // LayerNorm, RMSNorm
  // Unset options keep ember's defaults, so cases written without them also check that ember's
  // defaults are PyTorch's (BatchNorm affine=True but InstanceNorm affine=False, ...).
  std::optional<bool> affine;  // affine / elementwise_affine
  std::optional<bool> bias;    // LayerNorm
  std::optional<bool> track_running_stats;
  std::optional<double> eps;                      // RMSNorm: unset = the dtype's epsilon
  std::optional<std::optional<double>> momentum;  // outer unset: default; inner nullopt: None

  bool is(const std::string& prefix) const { return layer.rfind(prefix, 0) == 0; }
  bool uses_batch_norm() const { return is("BatchNorm"); }
  bool uses_instance_norm() const { return is("InstanceNorm"); }
  bool has_affine() const {
    return affine.value_or(!uses_instance_norm());  // InstanceNorm alone defaults to False
  }
  bool tracks_running_stats() const {
    if (uses_batch_norm()) return track_running_stats.value_or(true);
    if (uses_instance_norm()) return track_running_stats.value_or(false);
    return false;
  }
  double eps_or_default() const { return eps.value_or(1e-5); }
  // BatchNorm's momentum; nullopt means the cumulative average.
  std::optional<double> effective_momentum() const { return momentum.value_or(0.1); }
};

inline std::shared_ptr<nn::Module> make_module(const NormSpec& s) {
  if (s.uses_batch_norm()) {
    nn::BatchNormOptions o(s.num_features);
    if (s.affine) o.affine(*s.affine);
    if (s.track_running_stats) o.track_running_stats(*s.track_running_stats);
    if (s.eps) o.eps(*s.eps);
    if (s.momentum) o.momentum(*s.momentum);
    if (s.layer == "BatchNorm1d") return std::make_shared<nn::BatchNorm1d>(o);
    if (s.layer == "BatchNorm2d") return std::make_shared<nn::BatchNorm2d>(o);
    if (s.layer == "BatchNorm3d") return std::make_shared<nn::BatchNorm3d>(o);
  } else if (s.uses_instance_norm()) {
    nn::InstanceNormOptions o(s.num_features);
    if (s.affine) o.affine(*s.affine);
    if (s.track_running_stats) o.track_running_stats(*s.track_running_stats);
    if (s.eps) o.eps(*s.eps);
    if (s.momentum) {
      if (!*s.momentum) throw Error("InstanceNorm has no momentum=None");
      o.momentum(**s.momentum);
    }
    if (s.layer == "InstanceNorm1d") return std::make_shared<nn::InstanceNorm1d>(o);
    if (s.layer == "InstanceNorm2d") return std::make_shared<nn::InstanceNorm2d>(o);
    if (s.layer == "InstanceNorm3d") return std::make_shared<nn::InstanceNorm3d>(o);
  } else if (s.layer == "LayerNorm") {
    nn::LayerNormOptions o(s.normalized_shape);
    if (s.affine) o.elementwise_affine(*s.affine);
    if (s.bias) o.bias(*s.bias);
    if (s.eps) o.eps(*s.eps);
    return std::make_shared<nn::LayerNorm>(o);
  } else if (s.layer == "GroupNorm") {
    nn::GroupNormOptions o(s.num_groups, s.num_features);
    if (s.affine) o.affine(*s.affine);
    if (s.eps) o.eps(*s.eps);
    return std::make_shared<nn::GroupNorm>(o);
  } else if (s.layer == "RMSNorm") {
    nn::RMSNormOptions o(s.normalized_shape);
    if (s.affine) o.elementwise_affine(*s.affine);
    o.eps(s.eps);
    return std::make_shared<nn::RMSNorm>(o);
  }
  throw Error("norm_test: unknown layer " + s.layer);
}

// The nn::functional call the module of `s` makes. running_mean/running_var may be undefined
// (no running stats); momentum is the factor already resolved (BatchNorm's None =
// 1/num_batches_tracked is the caller's business, as in PyTorch's module).
inline Tensor functional_forward(const NormSpec& s, const Tensor& x, const Tensor& weight,
                                 const Tensor& bias, const Tensor& running_mean,
                                 const Tensor& running_var, bool training, double momentum) {
  namespace F = nn::functional;
  // Without running stats, eval mode normalizes with the batch's statistics too.
  const bool batch_stats = training || !running_mean.defined();
  if (s.uses_batch_norm()) {
    return F::batch_norm(x, running_mean, running_var, weight, bias, batch_stats, momentum,
                         s.eps_or_default());
  }
  if (s.uses_instance_norm()) {
    return F::instance_norm(x, running_mean, running_var, weight, bias, batch_stats, momentum,
                            s.eps_or_default());
  }
  if (s.layer == "LayerNorm") {
    return F::layer_norm(x, s.normalized_shape, weight, bias, s.eps_or_default());
  }
  if (s.layer == "GroupNorm") {
    return F::group_norm(x, s.num_groups, weight, bias, s.eps_or_default());
  }
  if (s.layer == "RMSNorm") return F::rms_norm(x, s.normalized_shape, weight, s.eps);
  throw Error("norm_test: unknown layer " + s.layer);
}

// A named parameter or buffer of a module, or an undefined tensor.
inline Tensor find_state(const nn::Module& m, const std::string& name) {
  for (auto& [n, t] : m.named_parameters(false))
    if (n == name) return t;
  for (auto& [n, t] : m.named_buffers(false))
    if (n == name) return t;
  return {};
}

}  // namespace ember::norm_test
