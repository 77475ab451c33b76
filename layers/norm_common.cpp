#include "layers/norm_common.h"

#include "core/dispatch.h"
#include "ember/autograd/grad_mode.h"

namespace ember::nn::detail {

Tensor record_norm(
    const std::string& name, Tensor y, const Tensor& x, const Tensor& weight, const Tensor& bias,
    std::function<kernels::NormGrads(const Tensor& dy, kernels::NeedGrads)> backward) {
  if (!autograd::any_requires_grad({x, weight, bias})) return y;
  const kernels::NeedGrads needs{x.requires_grad(), weight.defined() && weight.requires_grad(),
                                 bias.defined() && bias.requires_grad()};
  const Shape weight_shape = weight.defined() ? weight.sizes() : Shape{};
  const Shape bias_shape = bias.defined() ? bias.sizes() : Shape{};
  auto node = std::make_shared<autograd::FunctionNode>(name, [=](const Tensor& dy) {
    kernels::NormGrads g = backward(dy, needs);
    return std::vector<Tensor>{g.dx,
                               g.dweight.defined() ? g.dweight.reshape(weight_shape) : Tensor(),
                               g.dbias.defined() ? g.dbias.reshape(bias_shape) : Tensor()};
  });
  autograd::record(node, {x, weight, bias}, {&y});
  return y;
}

Tensor row_norm(const char* name, const Tensor& x, const kernels::RowLayout& layout,
                const Tensor& weight, const Tensor& bias, double eps, bool centered) {
  auto f =
      kernels::row_norm_forward(x.detach(), weight.defined() ? weight.detach() : Tensor(),
                                bias.defined() ? bias.detach() : Tensor(), layout, eps, centered);
  autograd::SavedTensor saved_x(x), saved_w(weight);
  const Tensor mean = f.mean, rstd = f.rstd;
  return record_norm(name, f.y, x, weight, bias, [=](const Tensor& dy, kernels::NeedGrads needs) {
    return kernels::row_norm_backward(dy, saved_x.unpack(name), saved_w.unpack(name), mean, rstd,
                                      layout, centered, needs, eps);
  });
}

void check_per_channel(const Tensor& t, const char* what, int64_t n) {
  EMBER_CHECK(!t.defined() || t.numel() == n, what, " should contain ", n, " elements not ",
              t.numel());
}

void check_same_dtype(const Tensor& x,
                      std::initializer_list<std::pair<const char*, const Tensor*>> others) {
  EMBER_CHECK(is_floating(x.dtype()), "normalization expects a floating point input, got ",
              x.dtype());
  for (const auto& [what, t] : others)
    EMBER_CHECK(!t->defined() || t->dtype() == x.dtype(), "expected ", what,
                " to have the same dtype as the input (", x.dtype(), "), but got ", t->dtype(),
                "; convert the module with to(", x.dtype(), ") or the input with .to()");
}

void check_rank(const Tensor& x, int64_t a, int64_t b) {
  if (x.dim() == a || x.dim() == b) return;
  if (a == b)
    throw Error(ember::detail::concat("expected ", a, "D input (got ", x.dim(), "D input)"));
  throw Error(
      ember::detail::concat("expected ", a, "D or ", b, "D input (got ", x.dim(), "D input)"));
}

void blend_into(const Tensor& running, const Tensor& batch, double keep, double take) {
  NoGradGuard no_grad;
  Tensor target = running;
  // Four elementwise ops (with their broadcast plans and temporaries) were most of a small
  // BatchNorm's forward; the common case is two contiguous vectors of one dtype: one loop, each
  // value blended in double and rounded once.
  if (running.is_contiguous() && batch.is_contiguous() && running.dtype() == batch.dtype() &&
      running.numel() == batch.numel() && is_floating(running.dtype())) {
    ember::detail::dispatch_floating(running.dtype(), [&](auto tag) {
      using T = decltype(tag);
      T* r = target.data_ptr<T>();
      const T* b = batch.data_ptr<T>();
      for (int64_t i = 0; i < running.numel(); ++i)
        r[i] = static_cast<T>(keep * static_cast<double>(r[i]) + take * static_cast<double>(b[i]));
    });
    target.bump_version();
    return;
  }
  target.mul_(keep).add_(batch.view(running.sizes()), take);
}

}  // namespace ember::nn::detail
