#pragma once
// Internal: the class-index losses over rows, x [M, C] contiguous (M = every sample and spatial
// position), target Int64 [M], optional class weights [C]. Targets were validated by the caller.
//
// Cross entropy with label smoothing ε and weights w, for a row with target t and
// p = softmax(x), lse = log Σ e^x:
//   loss = (1 − ε)·w_t·(lse − x_t) + (ε/C)·Σ_c w_c·(lse − x_c)
//   ∂loss/∂x_j = (1 − ε)·w_t·(p_j − [j = t]) + (ε/C)·(p_j·Σw − w_j)
// so forward needs one max and one exp pass per row and backward one more exp pass (from the
// saved lse): no log-softmax tensor is ever stored.
#include <cstdint>

#include "ember/tensor.h"

namespace ember::nn::kernels::native {

struct ClassLossForward {
  Tensor losses;            // [M], x's dtype: each row's (weighted) loss, 0 where ignored
  Tensor lse;               // [M] float64 (cross entropy only): each row's log-sum-exp
  double total = 0;         // Σ losses, in double
  double total_weight = 0;  // Σ w_t over the rows not ignored (the mean's denominator)
};

ClassLossForward cross_entropy_forward(const Tensor& x, const Tensor& target, const Tensor& weight,
                                       int64_t ignore_index, double smoothing);
// coef [M] float64: the gradient reaching each row's loss (already divided by the mean's
// denominator). Returns dx [M, C].
Tensor cross_entropy_backward(const Tensor& x, const Tensor& target, const Tensor& weight,
                              const Tensor& lse, int64_t ignore_index, double smoothing,
                              const Tensor& coef);

// nll: loss = −w_t·x_t (x holds log-probabilities); dx_t = −w_t·coef, 0 elsewhere.
ClassLossForward nll_loss_forward(const Tensor& x, const Tensor& target, const Tensor& weight,
                                  int64_t ignore_index);
Tensor nll_loss_backward(const Shape& x_shape, DType dtype, const Tensor& target,
                         const Tensor& weight, int64_t ignore_index, const Tensor& coef);

}  // namespace ember::nn::kernels::native
