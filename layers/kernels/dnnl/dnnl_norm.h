#pragma once
// Internal: oneDNN (2.x API) implementations of the normalization kernels, float32 only.
// Only this folder includes oneDNN headers. `supports_*` says whether a call can run here;
// `prefers_*` whether Auto should send it here (where it was measured to be faster).
#include <cstddef>

#include "layers/kernels/norm_kernels.h"

namespace ember::nn::kernels::dnnl {

bool supports_batch_norm(const Tensor& x);
bool prefers_batch_norm(const Tensor& x);
BatchNormForward batch_norm_train(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                  double eps);
NormGrads batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight,
                              const Tensor& mean, const Tensor& rstd, bool training,
                              NeedGrads needs, double eps);

// Layer norm only (one group, spatial 1): oneDNN normalizes the last axis.
bool supports_layer_norm(const Tensor& x, const RowLayout& layout);
bool prefers_layer_norm(const Tensor& x, const RowLayout& layout);
RowNormForward layer_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                  const RowLayout& layout, double eps);
NormGrads layer_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight,
                              const Tensor& mean, const Tensor& rstd, const RowLayout& layout,
                              NeedGrads needs, double eps);

// How many oneDNN primitives are cached (one per kind, shape, layout, flags, eps and thread
// count; at most 256, least recently used evicted first). Steady-state calls add none.
size_t primitive_cache_size();

}  // namespace ember::nn::kernels::dnnl
