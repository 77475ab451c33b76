#pragma once
// Internal: elementwise kernels (no autograd). Results are new tensors laid out like their inputs
// (channels-last stays channels-last); in-place variants write into `dst`.
#include "ember/tensor.h"

namespace ember::kernels {

enum class UnaryOp {
  Neg,
  Exp,
  Log,
  Sqrt,
  Rsqrt,
  Abs,
  Tanh,
  Sigmoid,
  Relu,
  Square,
  Sign,
  Reciprocal
};
// PassIfPositive: a where b > 0, else 0 — ReLU's backward (grad, output) in one pass.
enum class BinaryOp { Add, Sub, Mul, Div, Pow, Max, Min, Eq, Ne, Lt, Le, Gt, Ge, PassIfPositive };

void fill(Tensor& dst, double value);
// dst = src (src broadcast to dst's shape, converted to dst's dtype).
void copy(Tensor& dst, const Tensor& src);
Tensor unary(UnaryOp op, const Tensor& x);
// a op b with broadcasting; both are converted to the promoted dtype first.
Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b);
// dst = dst op b (b broadcast to dst's shape).
void binary_(BinaryOp op, Tensor& dst, const Tensor& b);
Tensor binary_scalar(BinaryOp op, const Tensor& a, double b);
// dst = dst + alpha * b
void axpy_(Tensor& dst, const Tensor& b, double alpha);
Tensor clamp(const Tensor& x, double lo, double hi);
// out = cond != 0 ? a : b (broadcasting)
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
// The dtype of `t op scalar`: floating stays; Int64 with a non-integral scalar becomes Float32.
DType scalar_result_dtype(DType t, double scalar);

}  // namespace ember::kernels
