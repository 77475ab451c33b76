// Reductions with their backward: the output gradient is broadcast back over the reduced dims.
#include <cmath>

#include "core/kernels/elementwise.h"
#include "core/kernels/reduce.h"
#include "ember/autograd/node.h"

namespace ember {

using autograd::record_function;
using autograd::SavedTensor;
using kernels::ReduceOp;
using Grads = std::vector<Tensor>;

namespace {

// Puts back the reduced dims (as size 1) that keepdim=false dropped.
Tensor restore_dims(Tensor g, const Shape& dims, bool keepdim) {
  if (!keepdim)
    for (int64_t d : dims) g = g.unsqueeze(d);
  return g;
}

int64_t count_of(const Shape& sizes, const Shape& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= sizes[d];
  return n;
}

}  // namespace

Tensor Tensor::sum(Shape dims_in, bool keepdim) const {
  const Shape dims = kernels::normalize_dims(dims_in, dim());
  Tensor y = kernels::reduce(ReduceOp::Sum, *this, dims, keepdim);
  const Shape in = sizes();
  return record_function("SumBackward1", {*this}, y, [=](const Tensor& g) {
    return Grads{restore_dims(g, dims, keepdim).expand(in)};
  });
}
Tensor Tensor::sum() const { return sum({}, false); }

Tensor Tensor::mean(Shape dims_in, bool keepdim) const {
  const Shape dims = kernels::normalize_dims(dims_in, dim());
  Tensor y = kernels::reduce(ReduceOp::Mean, *this, dims, keepdim);
  const Shape in = sizes();
  const double n = static_cast<double>(count_of(in, dims));
  return record_function("MeanBackward1", {*this}, y, [=](const Tensor& g) {
    return Grads{(restore_dims(g, dims, keepdim) / n).expand(in)};
  });
}
Tensor Tensor::mean() const { return mean({}, false); }

Tensor Tensor::var(Shape dims_in, bool unbiased, bool keepdim) const {
  const Shape dims = kernels::normalize_dims(dims_in, dim());
  EMBER_CHECK(is_floating(dtype()), "std and var only support floating point dtypes (got ", dtype(),
              ")");
  Tensor y = kernels::reduce(ReduceOp::Var, *this, dims, keepdim, unbiased);
  if (!autograd::any_requires_grad({*this})) return y;
  SavedTensor sx(*this);
  const double denom = static_cast<double>(count_of(sizes(), dims)) - (unbiased ? 1.0 : 0.0);
  return record_function("VarBackward0", {*this}, y, [=](const Tensor& g) {
    const Tensor x = sx.unpack("VarBackward0");
    const Tensor centered = x - kernels::reduce(ReduceOp::Mean, x, dims, true);
    return Grads{restore_dims(g, dims, keepdim) * centered * (2.0 / denom)};
  });
}
Tensor Tensor::var() const { return var(Shape{}, true, false); }

Tensor Tensor::std(Shape dims_in, bool unbiased, bool keepdim) const {
  const Shape dims = kernels::normalize_dims(dims_in, dim());
  EMBER_CHECK(is_floating(dtype()), "std and var only support floating point dtypes (got ", dtype(),
              ")");
  Tensor y = kernels::unary(kernels::UnaryOp::Sqrt,
                            kernels::reduce(ReduceOp::Var, *this, dims, keepdim, unbiased));
  if (!autograd::any_requires_grad({*this})) return y;
  SavedTensor sx(*this), sy(y);
  const double denom = static_cast<double>(count_of(sizes(), dims)) - (unbiased ? 1.0 : 0.0);
  return record_function("StdBackward0", {*this}, y, [=](const Tensor& g) {
    const Tensor x = sx.unpack("StdBackward0");
    const Tensor centered = x - kernels::reduce(ReduceOp::Mean, x, dims, true);
    const Tensor s = restore_dims(sy.unpack("StdBackward0"), dims, keepdim);
    return Grads{restore_dims(g, dims, keepdim) * centered / (s * denom)};
  });
}
Tensor Tensor::std() const { return std(Shape{}, true, false); }

namespace {

// max()/min() over everything: ties share the gradient evenly (PyTorch's amax rule).
Tensor select_all(const char* name, ReduceOp op, const Tensor& x) {
  Tensor y = kernels::reduce(op, x, {}, false);
  if (!autograd::any_requires_grad({x})) return y;
  SavedTensor sx(x), sy(y);
  return record_function(name, {x}, y, [=](const Tensor& g) {
    const Tensor hit = sx.unpack(name).eq(sy.unpack(name)).to(g.dtype());
    return Grads{hit * (g / hit.sum())};
  });
}

// max(dim)/min(dim): the gradient goes to the one selected index, like PyTorch.
Tensor select_dim(const char* name, ReduceOp op, ReduceOp arg, const Tensor& x, int64_t dim,
                  bool keepdim) {
  dim = wrap_dim(dim, x.dim());
  Tensor y = kernels::reduce(op, x, {dim}, keepdim);
  if (!autograd::any_requires_grad({x})) return y;
  const Tensor index = kernels::reduce(arg, x, {dim}, true);
  const Shape in = x.sizes();
  const bool squeezed = !keepdim && x.dim() > 0;
  return record_function(name, {x}, y, [=](const Tensor& g) {
    const Tensor gk = squeezed ? g.unsqueeze(dim) : g;
    return Grads{kernels::scatter_add(in, dim, index, gk.contiguous())};
  });
}

}  // namespace

Tensor Tensor::max() const { return select_all("MaxBackward1", ReduceOp::Max, *this); }
Tensor Tensor::min() const { return select_all("MinBackward1", ReduceOp::Min, *this); }
Tensor Tensor::max(int64_t d, bool keepdim) const {
  return select_dim("MaxBackward0", ReduceOp::Max, ReduceOp::ArgMax, *this, d, keepdim);
}
Tensor Tensor::min(int64_t d, bool keepdim) const {
  return select_dim("MinBackward0", ReduceOp::Min, ReduceOp::ArgMin, *this, d, keepdim);
}
Tensor Tensor::argmax() const {
  return kernels::reduce(ReduceOp::ArgMax, reshape({-1}), {0}, false);
}
Tensor Tensor::argmax(int64_t d, bool keepdim) const {
  return kernels::reduce(ReduceOp::ArgMax, *this, {wrap_dim(d, dim())}, keepdim);
}
Tensor Tensor::argmin(int64_t d, bool keepdim) const {
  return kernels::reduce(ReduceOp::ArgMin, *this, {wrap_dim(d, dim())}, keepdim);
}

}  // namespace ember
