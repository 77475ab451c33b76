#pragma once
// Internal: reductions over any set of dims (no autograd), plus gather/scatter along a dim.
#include "ember/tensor.h"

namespace ember::kernels {

enum class ReduceOp { Sum, Mean, Max, Min, ArgMax, ArgMin, Var };

// dims empty = all dims. Var uses `unbiased` (divide by n-1). ArgMax/ArgMin return Int64.
// Float32 data accumulates in double; Var is two-pass (stable for data far from zero).
Tensor reduce(ReduceOp op, const Tensor& x, const Shape& dims, bool keepdim, bool unbiased = true);
// The sorted, wrapped, de-duplicated dims (all dims when empty).
Shape normalize_dims(const Shape& dims, int64_t ndim);
// The reduced shape, keeping size-1 dims where reduced when keepdim.
Shape reduced_shape(const Shape& sizes, const Shape& dims, bool keepdim);

// out[..., i, ...] = x[..., index[..., i, ...], ...] along dim (index Int64, same rank as x).
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
// out = zeros(shape); out[..., index[...,i,...], ...] += src[..., i, ...] along dim.
Tensor scatter_add(const Shape& shape, int64_t dim, const Tensor& index, const Tensor& src);

}  // namespace ember::kernels
