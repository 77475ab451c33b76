// Elementwise ops: forward kernel call and backward formula side by side. Broadcast gradients are
// summed back to each input's shape with sum_to.
#include <cmath>

#include "core/kernels/elementwise.h"
#include "ember/autograd/node.h"

namespace ember {

using autograd::record_function;
using autograd::SavedTensor;
using autograd::sum_to;
using kernels::BinaryOp;
using kernels::UnaryOp;
using Grads = std::vector<Tensor>;

namespace {

// Gradient for a unary op from the saved input x and output y.
template <class F>
Tensor unary_op(const char* name, UnaryOp op, const Tensor& x, F backward) {
  Tensor y = kernels::unary(op, x);
  if (!autograd::any_requires_grad({x})) return y;
  SavedTensor sx(x), sy(y);
  return record_function(name, {x}, y, [=](const Tensor& g) {
    return Grads{backward(g, sx.unpack(name), sy.unpack(name))};
  });
}

// d(x op const)/dx as a mask: 1 where `keep` != 0.
Tensor masked(const Tensor& g, const Tensor& keep) { return g * keep.to(g.dtype()); }

}  // namespace

Tensor Tensor::neg() const {
  return unary_op("NegBackward0", UnaryOp::Neg, *this,
                  [](const Tensor& g, const Tensor&, const Tensor&) { return -g; });
}
Tensor Tensor::exp() const {
  return unary_op("ExpBackward0", UnaryOp::Exp, *this,
                  [](const Tensor& g, const Tensor&, const Tensor& y) { return g * y; });
}
Tensor Tensor::log() const {
  return unary_op("LogBackward0", UnaryOp::Log, *this,
                  [](const Tensor& g, const Tensor& x, const Tensor&) { return g / x; });
}
Tensor Tensor::sqrt() const {
  return unary_op("SqrtBackward0", UnaryOp::Sqrt, *this,
                  [](const Tensor& g, const Tensor&, const Tensor& y) { return g / (y * 2.0); });
}
Tensor Tensor::rsqrt() const {
  // d/dx x^(-1/2) = -1/2 x^(-3/2) = -1/2 y^3
  return unary_op(
      "RsqrtBackward0", UnaryOp::Rsqrt, *this,
      [](const Tensor& g, const Tensor&, const Tensor& y) { return g * y * y * y * -0.5; });
}
Tensor Tensor::abs() const {
  return unary_op("AbsBackward0", UnaryOp::Abs, *this,
                  [](const Tensor& g, const Tensor& x, const Tensor&) {
                    return g * kernels::unary(UnaryOp::Sign, x);
                  });
}
Tensor Tensor::tanh() const {
  return unary_op(
      "TanhBackward0", UnaryOp::Tanh, *this,
      [](const Tensor& g, const Tensor&, const Tensor& y) { return g * (1.0 - y * y); });
}
Tensor Tensor::sigmoid() const {
  return unary_op(
      "SigmoidBackward0", UnaryOp::Sigmoid, *this,
      [](const Tensor& g, const Tensor&, const Tensor& y) { return g * y * (1.0 - y); });
}
Tensor Tensor::relu() const {
  return unary_op("ReluBackward0", UnaryOp::Relu, *this,
                  [](const Tensor& g, const Tensor&, const Tensor& y) {
                    return kernels::binary(BinaryOp::PassIfPositive, g, y);
                  });
}
Tensor Tensor::square() const {
  return unary_op("PowBackward0", UnaryOp::Square, *this,
                  [](const Tensor& g, const Tensor& x, const Tensor&) { return g * x * 2.0; });
}

Tensor Tensor::pow(double e) const {
  Tensor y = kernels::binary_scalar(BinaryOp::Pow, *this, e);
  if (!autograd::any_requires_grad({*this})) return y;
  SavedTensor sx(*this);
  return record_function("PowBackward0", {*this}, y, [=](const Tensor& g) {
    if (e == 0.0) return Grads{zeros_like(g)};
    return Grads{g * sx.unpack("PowBackward0").pow(e - 1.0) * e};
  });
}

Tensor Tensor::pow(const Tensor& exponent) const {
  Tensor y = kernels::binary(BinaryOp::Pow, *this, exponent);
  if (!autograd::any_requires_grad({*this, exponent})) return y;
  SavedTensor sa(*this), sb(exponent), sy(y);
  const Shape shape_a = sizes(), shape_b = exponent.sizes();
  return record_function("PowBackward1", {*this, exponent}, y, [=](const Tensor& g) {
    const Tensor a = sa.unpack("PowBackward1"), b = sb.unpack("PowBackward1");
    const Tensor ga = g * b * a.pow(b - 1.0);
    // d/db a^b = a^b log a; PyTorch defines it as 0 where a == 0 and b >= 0.
    const Tensor zero_base =
        kernels::binary_scalar(BinaryOp::Eq, a, 0.0) * kernels::binary_scalar(BinaryOp::Ge, b, 0.0);
    const Tensor gb =
        where(zero_base, zeros({}, g.dtype()), g * sy.unpack("PowBackward1") * a.log());
    return Grads{sum_to(ga, shape_a), sum_to(gb, shape_b)};
  });
}

Tensor Tensor::clamp(double lo, double hi) const {
  Tensor y = kernels::clamp(*this, lo, hi);
  if (!autograd::any_requires_grad({*this})) return y;
  SavedTensor sx(*this);
  return record_function("ClampBackward1", {*this}, y, [=](const Tensor& g) {
    const Tensor x = sx.unpack("ClampBackward1");
    return Grads{masked(g, kernels::binary_scalar(BinaryOp::Ge, x, lo) *
                               kernels::binary_scalar(BinaryOp::Le, x, hi))};
  });
}
Tensor Tensor::clamp_min(double lo) const { return clamp(lo, INFINITY); }
Tensor Tensor::clamp_max(double hi) const { return clamp(-INFINITY, hi); }

// ---- binary ----

Tensor operator+(const Tensor& a, const Tensor& b) {
  Tensor y = kernels::binary(BinaryOp::Add, a, b);
  const Shape sa = a.sizes(), sb = b.sizes();
  return record_function("AddBackward0", {a, b}, y, [=](const Tensor& g) {
    return Grads{sum_to(g, sa), sum_to(g, sb)};
  });
}

Tensor operator-(const Tensor& a, const Tensor& b) {
  Tensor y = kernels::binary(BinaryOp::Sub, a, b);
  const Shape sa = a.sizes(), sb = b.sizes();
  return record_function("SubBackward0", {a, b}, y, [=](const Tensor& g) {
    return Grads{sum_to(g, sa), sum_to(-g, sb)};
  });
}

Tensor operator*(const Tensor& a, const Tensor& b) {
  Tensor y = kernels::binary(BinaryOp::Mul, a, b);
  if (!autograd::any_requires_grad({a, b})) return y;
  const bool need_a = a.requires_grad(), need_b = b.requires_grad();
  // Save only what the other side's gradient needs.
  SavedTensor saved_a(need_b ? a : Tensor()), saved_b(need_a ? b : Tensor());
  const Shape sa = a.sizes(), sb = b.sizes();
  return record_function("MulBackward0", {a, b}, y, [=](const Tensor& g) {
    Grads out(2);
    if (need_a) out[0] = sum_to(g * saved_b.unpack("MulBackward0"), sa);
    if (need_b) out[1] = sum_to(g * saved_a.unpack("MulBackward0"), sb);
    return out;
  });
}

Tensor operator/(const Tensor& a, const Tensor& b) {
  Tensor y = kernels::binary(BinaryOp::Div, a, b);
  if (!autograd::any_requires_grad({a, b})) return y;
  SavedTensor saved_a(a), saved_b(b);
  const Shape sa = a.sizes(), sb = b.sizes();
  return record_function("DivBackward0", {a, b}, y, [=](const Tensor& g) {
    const Tensor x = saved_a.unpack("DivBackward0"), d = saved_b.unpack("DivBackward0");
    return Grads{sum_to(g / d, sa), sum_to(-g * x / (d * d), sb)};
  });
}

Tensor operator+(const Tensor& a, double b) {
  return record_function("AddBackward1", {a}, kernels::binary_scalar(BinaryOp::Add, a, b),
                         [](const Tensor& g) { return Grads{g}; });
}
Tensor operator-(const Tensor& a, double b) { return a + (-b); }
Tensor operator*(const Tensor& a, double b) {
  return record_function("MulBackward1", {a}, kernels::binary_scalar(BinaryOp::Mul, a, b),
                         [b](const Tensor& g) { return Grads{g * b}; });
}
Tensor operator/(const Tensor& a, double b) {
  return record_function("DivBackward1", {a}, kernels::binary_scalar(BinaryOp::Div, a, b),
                         [b](const Tensor& g) { return Grads{g / b}; });
}
Tensor operator+(double a, const Tensor& b) { return b + a; }
Tensor operator-(double a, const Tensor& b) { return (-b) + a; }
Tensor operator*(double a, const Tensor& b) { return b * a; }
Tensor operator/(double a, const Tensor& b) {
  Tensor y =
      kernels::binary(BinaryOp::Div, full({}, a, kernels::scalar_result_dtype(b.dtype(), a)), b);
  if (!autograd::any_requires_grad({b})) return y;
  SavedTensor sb(b);
  return record_function("DivBackward0", {b}, y, [=](const Tensor& g) {
    const Tensor d = sb.unpack("DivBackward0");
    return Grads{-g * a / (d * d)};
  });
}

namespace {
// maximum/minimum: the gradient goes to the selected input; ties split it evenly (like PyTorch).
Tensor select_op(const char* name, BinaryOp op, BinaryOp wins, const Tensor& a, const Tensor& b) {
  Tensor y = kernels::binary(op, a, b);
  if (!autograd::any_requires_grad({a, b})) return y;
  SavedTensor saved_a(a), saved_b(b);
  const Shape sa = a.sizes(), sb = b.sizes();
  return record_function(name, {a, b}, y, [=](const Tensor& g) {
    const Tensor x = saved_a.unpack(name), z = saved_b.unpack(name);
    const Tensor tie = kernels::binary(BinaryOp::Eq, x, z).to(g.dtype());
    const Tensor a_wins = kernels::binary(wins, x, z).to(g.dtype());
    const Tensor share_a = a_wins + tie * 0.5;
    return Grads{sum_to(g * share_a, sa), sum_to(g * (1.0 - share_a), sb)};
  });
}
}  // namespace

Tensor maximum(const Tensor& a, const Tensor& b) {
  return select_op("MaximumBackward0", BinaryOp::Max, BinaryOp::Gt, a, b);
}
Tensor minimum(const Tensor& a, const Tensor& b) {
  return select_op("MinimumBackward0", BinaryOp::Min, BinaryOp::Lt, a, b);
}
Tensor Tensor::maximum(const Tensor& other) const { return ember::maximum(*this, other); }
Tensor Tensor::minimum(const Tensor& other) const { return ember::minimum(*this, other); }

Tensor Tensor::eq(const Tensor& o) const { return kernels::binary(BinaryOp::Eq, *this, o); }
Tensor Tensor::ne(const Tensor& o) const { return kernels::binary(BinaryOp::Ne, *this, o); }
Tensor Tensor::lt(const Tensor& o) const { return kernels::binary(BinaryOp::Lt, *this, o); }
Tensor Tensor::le(const Tensor& o) const { return kernels::binary(BinaryOp::Le, *this, o); }
Tensor Tensor::gt(const Tensor& o) const { return kernels::binary(BinaryOp::Gt, *this, o); }
Tensor Tensor::ge(const Tensor& o) const { return kernels::binary(BinaryOp::Ge, *this, o); }

Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b) {
  Tensor y = kernels::where(condition, a, b);
  if (!autograd::any_requires_grad({a, b})) return y;
  SavedTensor sc(condition);
  const Shape sa = a.sizes(), sb = b.sizes();
  return record_function("WhereBackward0", {a, b}, y, [=](const Tensor& g) {
    const Tensor c = sc.unpack("WhereBackward0");
    const Tensor zero = zeros({}, g.dtype());
    return Grads{sum_to(kernels::where(c, g, zero), sa), sum_to(kernels::where(c, zero, g), sb)};
  });
}

}  // namespace ember
