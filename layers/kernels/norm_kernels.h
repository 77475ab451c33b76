#pragma once
// Internal: the normalization kernels behind nn::functional, on plain tensors (no autograd).
// Each backend (native/, dnnl/) implements the same functions; dispatch.cpp chooses per call.
#include <array>

#include "ember/tensor.h"

namespace ember::nn::kernels {

// Batch norm over dim 1 of x [N, C, *] (contiguous or channels-last).
struct BatchNormForward {
  Tensor y;
  Tensor mean;  // [C], x's dtype: batch mean
  Tensor rstd;  // [C]: 1 / sqrt(biased batch var + eps)
  Tensor var;   // [C]: biased batch variance (for the running-statistics update)
};
BatchNormForward batch_norm_train(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                  double eps);
// Normalizes with given per-channel statistics: y = (x − mean)·rstd·γ + β.
Tensor batch_norm_apply(const Tensor& x, const Tensor& weight, const Tensor& bias,
                        const Tensor& mean, const Tensor& rstd);

struct NormGrads {
  Tensor dx, dweight, dbias;
};
// Which gradients to compute: {x, weight, bias}.
using NeedGrads = std::array<bool, 3>;
// training: the statistics were the batch's (dx has the two reduction terms);
// otherwise they were constants (running stats): dx = dy·γ·rstd.
NormGrads batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight,
                              const Tensor& mean, const Tensor& rstd, bool training,
                              NeedGrads needs, double eps);

// Row norms: x (contiguous) viewed as rows [R, D] with R = N·G. Statistics per row; the affine
// index of element (r, j) is (r % G)·(D / S) + j / S. LayerNorm: G = 1, S = 1 (index = j).
// GroupNorm: G groups, S = spatial size (index = channel). InstanceNorm: G = C, D = S.
struct RowLayout {
  int64_t rows = 0, row_size = 0, groups = 1, spatial = 1;
};
struct RowNormForward {
  Tensor y;
  Tensor mean;  // [R] (zeros when !centered)
  Tensor rstd;  // [R]
};
// centered = false: RMS norm (no mean subtraction, no bias).
RowNormForward row_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                const RowLayout& layout, double eps, bool centered);
NormGrads row_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight,
                            const Tensor& mean, const Tensor& rstd, const RowLayout& layout,
                            bool centered, NeedGrads needs, double eps);

// The reference kernels (float32 and float64). `eps` in backward is unused here; oneDNN's
// backward needs the variance, which it recovers from rstd and eps.
namespace native {
BatchNormForward batch_norm_train(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                  double eps);
Tensor batch_norm_apply(const Tensor& x, const Tensor& weight, const Tensor& bias,
                        const Tensor& mean, const Tensor& rstd);
NormGrads batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight,
                              const Tensor& mean, const Tensor& rstd, bool training,
                              NeedGrads needs, double eps);
RowNormForward row_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                const RowLayout& layout, double eps, bool centered);
NormGrads row_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight,
                            const Tensor& mean, const Tensor& rstd, const RowLayout& layout,
                            bool centered, NeedGrads needs, double eps);
}  // namespace native

}  // namespace ember::nn::kernels
