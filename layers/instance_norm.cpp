// Instance normalization: statistics per (sample, channel) over the spatial dims — a group norm
// with one channel per group — plus PyTorch's optional running statistics.
#include "ember/autograd/grad_mode.h"
#include "ember/nn/functional.h"
#include "ember/nn/normalization.h"
#include "ember/runtime.h"
#include "layers/norm_common.h"

namespace ember::nn {

namespace functional {

Tensor instance_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                     const Tensor& weight, const Tensor& bias, bool use_input_stats,
                     double momentum, double eps) {
  EMBER_CHECK(x.dim() >= 2,
              "instance_norm: expected an input of at least 2 dims [N, C, *], got "
              "input of size ",
              shape_str(x.sizes()));
  const int64_t N = x.size(0), C = x.size(1);
  int64_t S = 1;
  for (int64_t d = 2; d < x.dim(); ++d) S *= x.size(d);
  detail::check_same_dtype(x, {{"running_mean", &running_mean},
                               {"running_var", &running_var},
                               {"weight", &weight},
                               {"bias", &bias}});
  detail::check_per_channel(weight, "weight", C);
  detail::check_per_channel(bias, "bias", C);
  detail::check_per_channel(running_mean, "running_mean", C);
  detail::check_per_channel(running_var, "running_var", C);
  if (!use_input_stats)  // normalize with the running statistics, exactly like batch norm eval
    return batch_norm(x, running_mean, running_var, weight, bias, false, momentum, eps);
  EMBER_CHECK(S != 1, "Expected more than 1 spatial element when training, got input size ",
              shape_str(x.sizes()));

  if (x.numel() > 0 && (running_mean.defined() || running_var.defined())) {
    // PyTorch updates each instance's copy of the running stats and keeps their batch mean:
    // running = (1 − m)·running + m·mean_n(instance stat), with unbiased instance variances.
    NoGradGuard no_grad;
    Shape spatial;
    for (int64_t d = 2; d < x.dim(); ++d) spatial.push_back(d);
    const Tensor xd = x.detach();
    if (running_mean.defined())
      detail::blend_into(running_mean, xd.mean(spatial).mean({0}), 1.0 - momentum, momentum);
    if (running_var.defined())
      detail::blend_into(running_var, xd.var(spatial, true).mean({0}), 1.0 - momentum, momentum);
  }
  kernels::RowLayout layout;
  layout.rows = x.numel() == 0 ? 0 : N * C;
  layout.row_size = S;
  layout.groups = C;
  layout.spatial = S;
  return detail::row_norm("NativeBatchNormBackward0", x, layout, weight, bias, eps, true);
}

}  // namespace functional

InstanceNormImpl::InstanceNormImpl(InstanceNormOptions options, int dims)
    : NormBase(options.num_features(), options.affine(), options.track_running_stats()),
      options_(std::move(options)),
      dims_(dims) {}

std::string InstanceNormImpl::name() const { return "InstanceNorm" + std::to_string(dims_) + "d"; }

std::string InstanceNormImpl::extra_repr() const {
  const auto& o = options_;
  return std::to_string(o.num_features()) + ", eps=" + py_float(o.eps()) +
         ", momentum=" + py_float(o.momentum()) + ", affine=" + detail::py_bool(o.affine()) +
         ", track_running_stats=" + detail::py_bool(o.track_running_stats());
}

Tensor InstanceNormImpl::forward(const Tensor& input) {
  detail::check_rank(input, dims_ + 1, dims_ + 2);
  const bool unbatched = input.dim() == dims_ + 1;
  const int64_t feature_dim = unbatched ? 0 : 1;
  if (input.size(feature_dim) != options_.num_features()) {
    const std::string msg = ember::detail::concat(
        "expected input's size at dim=", feature_dim, " to match num_features (",
        options_.num_features(), "), but got: ", input.size(feature_dim), ".");
    EMBER_CHECK(!options_.affine(), msg);
    log_warn(msg +
             " You can silence this warning by not passing in num_features, which is not "
             "used because affine=False");
  }
  const Tensor x = unbatched ? input.unsqueeze(0) : input;
  const bool track = options_.track_running_stats();
  Tensor y = functional::instance_norm(
      x, track ? running_mean_ : Tensor(), track ? running_var_ : Tensor(), weight_, bias_,
      is_training() || !track, options_.momentum(), options_.eps());
  return unbatched ? y.squeeze(0) : y;
}

}  // namespace ember::nn
