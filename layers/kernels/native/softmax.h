#pragma once
// Internal: softmax and log-softmax along one dim (float32/float64), forward and backward.
// x is contiguous and viewed as [outer, C, inner]; the softmax runs along C. Every row is shifted
// by its maximum before exp (log-sum-exp), so large logits neither overflow nor lose precision.
#include <cstdint>

#include "ember/tensor.h"

namespace ember::nn::kernels::native {

struct SoftmaxLayout {
  int64_t outer = 1, C = 1, inner = 1;
};
// The layout of softmax over `dim` of a contiguous tensor of `sizes`.
SoftmaxLayout softmax_layout(const Shape& sizes, int64_t dim);

Tensor softmax_forward(const Tensor& x, const SoftmaxLayout& l, bool log);
// y is the forward's output. softmax: dx = y·(dy − Σ dy·y); log_softmax: dx = dy − eʸ·Σ dy.
Tensor softmax_backward(const Tensor& dy, const Tensor& y, const SoftmaxLayout& l, bool log);

}  // namespace ember::nn::kernels::native
