#pragma once
// Internal: matrix products (Eigen; no autograd).
#include "ember/tensor.h"

namespace ember::kernels {

// [n,k] x [k,m] -> [n,m]; any strides; same dtype.
Tensor mm(const Tensor& a, const Tensor& b);
// [B,n,k] x [B,k,m] -> [B,n,m].
Tensor bmm(const Tensor& a, const Tensor& b);

}  // namespace ember::kernels
