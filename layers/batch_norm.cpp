// Batch normalization: functional::batch_norm (one fused node) and BatchNorm1d/2d/3d.
#include <cmath>

#include "ember/autograd/grad_mode.h"
#include "ember/nn/functional.h"
#include "ember/nn/normalization.h"
#include "layers/norm_common.h"

namespace ember::nn {

namespace {

// Every check of batch_norm, done before anything changes (the module validates first, then
// bumps num_batches_tracked).
void validate_batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                         const Tensor& weight, const Tensor& bias, bool training) {
  EMBER_CHECK(x.dim() >= 2,
              "batch_norm: expected an input of at least 2 dims [N, C, *], got "
              "input of size ",
              shape_str(x.sizes()));
  detail::check_same_dtype(x, {{"running_mean", &running_mean},
                               {"running_var", &running_var},
                               {"weight", &weight},
                               {"bias", &bias}});
  const int64_t C = x.size(1);
  detail::check_per_channel(running_mean, "running_mean", C);
  detail::check_per_channel(running_var, "running_var", C);
  detail::check_per_channel(weight, "weight", C);
  detail::check_per_channel(bias, "bias", C);
  if (training) {
    int64_t values = x.size(0);
    for (int64_t d = 2; d < x.dim(); ++d) values *= x.size(d);
    EMBER_CHECK(values != 1,
                "Expected more than 1 value per channel when training, got input size ",
                shape_str(x.sizes()));
  } else {
    EMBER_CHECK(running_mean.defined(), "running_mean must be defined in evaluation mode");
    EMBER_CHECK(running_var.defined(), "running_var must be defined in evaluation mode");
  }
}

// PyTorch's result for an empty batch: the input scaled by weight[0] and shifted by bias[0]
// (kept differentiable), running statistics untouched.
Tensor empty_batch(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  Tensor out = x.clone();
  if (weight.defined() && weight.numel() > 0) out = out * weight.select(0, 0);
  if (bias.defined() && bias.numel() > 0) out = out + bias.select(0, 0);
  return out;
}

}  // namespace

namespace functional {

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, bool training, double momentum,
                  double eps) {
  validate_batch_norm(x, running_mean, running_var, weight, bias, training);
  if (x.numel() == 0) return empty_batch(x, weight, bias);
  const Tensor xd = x.detach(), wd = weight.defined() ? weight.detach() : Tensor(),
               bd = bias.defined() ? bias.detach() : Tensor();
  Tensor y, mean, rstd;
  if (training) {
    kernels::BatchNormForward f = kernels::batch_norm_train(xd, wd, bd, eps);
    y = f.y;
    mean = f.mean;
    rstd = f.rstd;
    if (running_mean.defined() || running_var.defined()) {
      // running = (1 − m)·running + m·batch, with the unbiased batch variance.
      NoGradGuard no_grad;
      const double n = static_cast<double>(x.numel() / x.size(1));
      if (running_mean.defined())
        detail::blend_into(running_mean, f.mean, 1.0 - momentum, momentum);
      if (running_var.defined())
        detail::blend_into(running_var, f.var, 1.0 - momentum, momentum * n / (n - 1.0));
    }
  } else {
    mean = running_mean.detach().clone();
    rstd = (running_var.detach() + eps).rsqrt();
    y = kernels::batch_norm_apply(xd, wd, bd, mean, rstd);
  }
  autograd::SavedTensor saved_x(x), saved_w(weight);
  return detail::record_norm("NativeBatchNormBackward0", y, x, weight, bias,
                             [=](const Tensor& dy, kernels::NeedGrads needs) {
                               return kernels::batch_norm_backward(
                                   dy, saved_x.unpack("NativeBatchNormBackward0"),
                                   saved_w.unpack("NativeBatchNormBackward0"), mean, rstd, training,
                                   needs, eps);
                             });
}

}  // namespace functional

NormBase::NormBase(int64_t C, bool affine, bool track) {
  // (No name() here: a constructor cannot reach the derived class's override.)
  EMBER_CHECK(C > 0, "num_features must be positive, got ", C);
  weight_ = register_parameter("weight", affine ? ones({C}) : Tensor());
  bias_ = register_parameter("bias", affine ? zeros({C}) : Tensor());
  running_mean_ = register_buffer("running_mean", track ? zeros({C}) : Tensor());
  running_var_ = register_buffer("running_var", track ? ones({C}) : Tensor());
  // InstanceNorm registers it too (it is in PyTorch's state_dict) but never increments it.
  num_batches_tracked_ =
      register_buffer("num_batches_tracked", track ? zeros({}, kInt64) : Tensor());
}

BatchNormImpl::BatchNormImpl(BatchNormOptions options, int dims)
    : NormBase(options.num_features(), options.affine(), options.track_running_stats()),
      options_(std::move(options)),
      dims_(dims) {}

std::string BatchNormImpl::name() const { return "BatchNorm" + std::to_string(dims_) + "d"; }

std::string BatchNormImpl::extra_repr() const {
  const auto& o = options_;
  return std::to_string(o.num_features()) + ", eps=" + py_float(o.eps()) +
         ", momentum=" + (o.momentum() ? py_float(*o.momentum()) : "None") +
         ", affine=" + detail::py_bool(o.affine()) +
         ", track_running_stats=" + detail::py_bool(o.track_running_stats());
}

Tensor BatchNormImpl::forward(const Tensor& input) {
  if (dims_ == 1)
    detail::check_rank(input, 2, 3);
  else
    detail::check_rank(input, dims_ + 2, dims_ + 2);
  const bool track = options_.track_running_stats();
  // Running stats are used in eval, and updated in training, only when tracked.
  const Tensor rm = track ? running_mean_ : Tensor(), rv = track ? running_var_ : Tensor();
  const bool use_batch_stats = is_training() || !track;
  validate_batch_norm(input, rm, rv, weight_, bias_, use_batch_stats);
  double factor = options_.momentum().value_or(0.0);
  if (is_training() && track) {
    NoGradGuard no_grad;
    if (num_batches_tracked_.dtype() == kInt64 && num_batches_tracked_.numel() == 1) {
      // A direct increment: an elementwise op's plan and temporaries cost more than a small
      // batch norm itself.
      ++*num_batches_tracked_.data_ptr<int64_t>();
      num_batches_tracked_.bump_version();
    } else {
      num_batches_tracked_.add_(1.0);
    }
    if (!options_.momentum())  // cumulative moving average
      factor = 1.0 / static_cast<double>(num_batches_tracked_.item<int64_t>());
  }
  return functional::batch_norm(input, rm, rv, weight_, bias_, use_batch_stats, factor,
                                options_.eps());
}

void BatchNormImpl::reset_running_stats() {
  if (!options_.track_running_stats()) return;
  NoGradGuard no_grad;
  running_mean_.zero_();
  running_var_.fill_(1.0);
  num_batches_tracked_.zero_();
}

void BatchNormImpl::reset_parameters() {
  reset_running_stats();
  if (!options_.affine()) return;
  NoGradGuard no_grad;
  weight_.fill_(1.0);
  bias_.zero_();
}

std::vector<std::pair<std::string, Tensor>> BatchNormImpl::optional_state() const {
  if (!options_.track_running_stats()) return {};
  return {{"num_batches_tracked", zeros({}, kInt64)}};
}

}  // namespace ember::nn
