// Chooses the kernel backend per call. Norms: Auto sends a call to oneDNN only where it was
// measured to win (see ARCHITECTURE.md "Layout decides oneDNN's speed"); Dnnl sends every call
// oneDNN supports; Native never uses oneDNN. Convolutions take oneDNN where it was measured to
// win, whatever the norm backend. float64 always runs natively (oneDNN is float32 here).
#include <cstdlib>
#include <string>

#include "ember/nn/norm_backend.h"
#include "layers/kernels/conv_kernels.h"
#include "layers/kernels/norm_kernels.h"
#ifdef EMBER_WITH_DNNL
#include "layers/kernels/dnnl/dnnl_conv.h"
#include "layers/kernels/dnnl/dnnl_norm.h"
#endif

namespace ember::nn {

namespace {
NormBackend initial_backend() {
  const char* env = std::getenv("EMBER_NORM_BACKEND");
  if (!env) return NormBackend::Auto;
  const std::string v = env;
  if (v == "native") return NormBackend::Native;
  if (v == "dnnl") return NormBackend::Dnnl;
  return NormBackend::Auto;
}
NormBackend& current() {
  static NormBackend backend = initial_backend();
  return backend;
}
}  // namespace

void set_norm_backend(NormBackend backend) { current() = backend; }
NormBackend norm_backend() { return current(); }
std::string to_string(NormBackend backend) {
  switch (backend) {
    case NormBackend::Native:
      return "native";
    case NormBackend::Dnnl:
      return "dnnl";
    default:
      return "auto";
  }
}
bool has_dnnl() {
#ifdef EMBER_WITH_DNNL
  return true;
#else
  return false;
#endif
}

namespace kernels {

namespace {
#ifdef EMBER_WITH_DNNL
bool use_dnnl_bn(const Tensor& x) {
  switch (norm_backend()) {
    case NormBackend::Native:
      return false;
    case NormBackend::Dnnl:
      return dnnl::supports_batch_norm(x);
    default:
      return dnnl::supports_batch_norm(x) && dnnl::prefers_batch_norm(x);
  }
}
bool use_dnnl_ln(const Tensor& x, const RowLayout& layout, bool centered) {
  if (!centered) return false;  // RMS norm has no oneDNN primitive in 2.x
  switch (norm_backend()) {
    case NormBackend::Native:
      return false;
    case NormBackend::Dnnl:
      return dnnl::supports_layer_norm(x, layout);
    default:
      return dnnl::supports_layer_norm(x, layout) && dnnl::prefers_layer_norm(x, layout);
  }
}
#else
bool use_dnnl_bn(const Tensor&) { return false; }
bool use_dnnl_ln(const Tensor&, const RowLayout&, bool) { return false; }
#endif
}  // namespace

BatchNormForward batch_norm_train(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                  double eps) {
#ifdef EMBER_WITH_DNNL
  if (use_dnnl_bn(x)) return dnnl::batch_norm_train(x, weight, bias, eps);
#endif
  return native::batch_norm_train(x, weight, bias, eps);
}

Tensor batch_norm_apply(const Tensor& x, const Tensor& weight, const Tensor& bias,
                        const Tensor& mean, const Tensor& rstd) {
  // One multiply-add pass: bandwidth-bound, so the native kernel serves every backend.
  return native::batch_norm_apply(x, weight, bias, mean, rstd);
}

NormGrads batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight,
                              const Tensor& mean, const Tensor& rstd, bool training,
                              NeedGrads needs, double eps) {
#ifdef EMBER_WITH_DNNL
  if (training && use_dnnl_bn(x))
    return dnnl::batch_norm_backward(dy, x, weight, mean, rstd, training, needs, eps);
#endif
  return native::batch_norm_backward(dy, x, weight, mean, rstd, training, needs, eps);
}

RowNormForward row_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                const RowLayout& layout, double eps, bool centered) {
#ifdef EMBER_WITH_DNNL
  if (use_dnnl_ln(x, layout, centered))
    return dnnl::layer_norm_forward(x, weight, bias, layout, eps);
#endif
  return native::row_norm_forward(x, weight, bias, layout, eps, centered);
}

NormGrads row_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight,
                            const Tensor& mean, const Tensor& rstd, const RowLayout& layout,
                            bool centered, NeedGrads needs, double eps) {
#ifdef EMBER_WITH_DNNL
  if (use_dnnl_ln(x, layout, centered))
    return dnnl::layer_norm_backward(dy, x, weight, mean, rstd, layout, needs, eps);
#endif
  return native::row_norm_backward(dy, x, weight, mean, rstd, layout, centered, needs, eps);
}

Tensor conv2d_forward(const Tensor& x, const Tensor& weight, const Tensor& bias,
                      const Conv2dGeometry& g) {
#ifdef EMBER_WITH_DNNL
  if (dnnl::prefers_conv2d(x, g)) return dnnl::conv2d_forward(x, weight, bias, g);
#endif
  return native::conv2d_forward(x, weight, bias, g);
}

Conv2dGrads conv2d_backward(const Tensor& dy, const Tensor& x, const Tensor& weight,
                            const Conv2dGeometry& g, bool need_x, bool need_weight,
                            bool need_bias) {
#ifdef EMBER_WITH_DNNL
  // dy has x's dtype, so this is the forward's choice.
  if (dnnl::prefers_conv2d(dy, g))
    return dnnl::conv2d_backward(dy, x, weight, g, need_x, need_weight, need_bias);
#endif
  return native::conv2d_backward(dy, x, weight, g, need_x, need_weight, need_bias);
}

}  // namespace kernels
}  // namespace ember::nn
