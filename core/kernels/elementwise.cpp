// Elementwise kernels on top of the strided loop. Each op is a small functor; the loop and the
// dtype dispatch are written once.
#include "core/kernels/elementwise.h"

#include <cmath>

#include "core/dispatch.h"
#include "core/kernels/loop.h"
#include "core/parallel.h"
#include "core/tensor_internal.h"

namespace ember::kernels {

namespace {

template <class T>
T* base_ptr(Tensor& t) {
  return static_cast<T*>(t.impl()->data());
}
template <class T>
const T* base_ptr(const Tensor& t) {
  return static_cast<const T*>(t.impl()->data());
}

// out[i] = f(in[i]) over out's shape; `in` is broadcast to it.
template <class TO, class TI, class F>
void map1(Tensor& out, const Tensor& in, F f) {
  auto plan = make_plan<2>(out.sizes(), {out.strides(), broadcast_strides(in, out.sizes())});
  TO* po = base_ptr<TO>(out);
  const TI* pi = base_ptr<TI>(in);
  run_plan(plan,
           [&](const std::array<int64_t, 2>& off, int64_t n, const std::array<int64_t, 2>& st) {
             TO* o = po + off[0];
             const TI* a = pi + off[1];
             if (st[0] == 1 && st[1] == 1) {
               for (int64_t i = 0; i < n; ++i) o[i] = f(a[i]);
             } else {
               for (int64_t i = 0; i < n; ++i) o[i * st[0]] = f(a[i * st[1]]);
             }
           });
}

// out[i] = f(a[i], b[i]) over out's shape; a and b are broadcast to it.
template <class T, class F>
void map2(Tensor& out, const Tensor& a, const Tensor& b, F f) {
  auto plan = make_plan<3>(out.sizes(), {out.strides(), broadcast_strides(a, out.sizes()),
                                         broadcast_strides(b, out.sizes())});
  T* po = base_ptr<T>(out);
  const T* pa = base_ptr<T>(a);
  const T* pb = base_ptr<T>(b);
  run_plan(plan,
           [&](const std::array<int64_t, 3>& off, int64_t n, const std::array<int64_t, 3>& st) {
             T* o = po + off[0];
             const T* x = pa + off[1];
             const T* y = pb + off[2];
             if (st[0] == 1 && st[1] == 1 && st[2] == 1) {
               for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], y[i]);
             } else if (st[0] == 1 && st[1] == 1 && st[2] == 0) {
               const T yv = *y;
               for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], yv);
             } else {
               for (int64_t i = 0; i < n; ++i) o[i * st[0]] = f(x[i * st[1]], y[i * st[2]]);
             }
           });
}

template <class T>
T apply_unary(UnaryOp op, T x) {
  switch (op) {
    case UnaryOp::Neg:
      return -x;
    case UnaryOp::Exp:
      return std::exp(x);
    case UnaryOp::Log:
      return std::log(x);
    case UnaryOp::Sqrt:
      return std::sqrt(x);
    case UnaryOp::Rsqrt:
      return T(1) / std::sqrt(x);
    case UnaryOp::Abs:
      return x < 0 ? -x : x;
    case UnaryOp::Tanh:
      return std::tanh(x);
    case UnaryOp::Sigmoid:
      return T(1) / (T(1) + std::exp(-x));
    case UnaryOp::Relu:
      return x > 0 ? x : T(0);  // NaN stays NaN? PyTorch: relu(nan) = nan
    case UnaryOp::Square:
      return x * x;
    case UnaryOp::Sign:
      return static_cast<T>((T(0) < x) - (x < T(0)));
    case UnaryOp::Reciprocal:
      return T(1) / x;
  }
  return x;
}

template <class T>
T apply_binary(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::Add:
      return a + b;
    case BinaryOp::Sub:
      return a - b;
    case BinaryOp::Mul:
      return a * b;
    case BinaryOp::Div:
      if constexpr (std::is_integral_v<T>) {
        EMBER_CHECK(b != 0, "ZeroDivisionError: integer division by zero");
      }
      return a / b;
    case BinaryOp::Pow:
      return static_cast<T>(std::pow(a, b));
    // maximum/minimum propagate NaN like PyTorch.
    case BinaryOp::Max:
      return (a != a || a > b) ? a : b;
    case BinaryOp::Min:
      return (a != a || a < b) ? a : b;
    case BinaryOp::Eq:
      return a == b;
    case BinaryOp::Ne:
      return a != b;
    case BinaryOp::Lt:
      return a < b;
    case BinaryOp::Le:
      return a <= b;
    case BinaryOp::Gt:
      return a > b;
    case BinaryOp::Ge:
      return a >= b;
    case BinaryOp::PassIfPositive:
      return b > 0 ? a : T(0);
  }
  return a;
}

// Specialized inner functors for the hot ops so the compiler vectorizes them.
template <class T>
void run_binary(BinaryOp op, Tensor& out, const Tensor& a, const Tensor& b) {
  switch (op) {
    case BinaryOp::Add:
      return map2<T>(out, a, b, [](T x, T y) { return x + y; });
    case BinaryOp::Sub:
      return map2<T>(out, a, b, [](T x, T y) { return x - y; });
    case BinaryOp::Mul:
      return map2<T>(out, a, b, [](T x, T y) { return x * y; });
    case BinaryOp::PassIfPositive:
      return map2<T>(out, a, b, [](T x, T y) { return y > T(0) ? x : T(0); });
    case BinaryOp::Div:
      if constexpr (std::is_floating_point_v<T>)
        return map2<T>(out, a, b, [](T x, T y) { return x / y; });
      [[fallthrough]];
    default:
      return map2<T>(out, a, b, [op](T x, T y) { return apply_binary(op, x, y); });
  }
}

Tensor as_dtype(const Tensor& t, DType dtype) {
  return t.dtype() == dtype ? t : t.detach().to(dtype);
}

}  // namespace

void fill(Tensor& dst, double value) {
  detail::dispatch(dst.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T v = static_cast<T>(value);
    if (dst.is_contiguous() || dst.is_contiguous(MemoryFormat::ChannelsLast)) {
      T* p = base_ptr<T>(dst);
      const int64_t n = dst.numel();
      detail::parallel_for(n, n > kParallelGrain, [&](int64_t i) { p[i] = v; });
      return;
    }
    map1<T, T>(dst, dst, [v](T) { return v; });
  });
  dst.bump_version();
}

void copy(Tensor& dst, const Tensor& src) {
  // broadcast_shapes throws on incompatible shapes; dst's shape must also be the result.
  EMBER_CHECK(broadcast_shapes(src.sizes(), dst.sizes()) == dst.sizes(), "copy_: source of shape ",
              shape_str(src.sizes()), " cannot be broadcast to destination of shape ",
              shape_str(dst.sizes()));
  detail::dispatch(dst.dtype(), [&](auto to) {
    detail::dispatch(src.dtype(), [&](auto from) {
      using TO = decltype(to);
      using TI = decltype(from);
      map1<TO, TI>(dst, src, [](TI x) { return static_cast<TO>(x); });
    });
  });
  dst.bump_version();
}

Tensor unary(UnaryOp op, const Tensor& x) {
  const bool float_only = op != UnaryOp::Neg && op != UnaryOp::Abs && op != UnaryOp::Relu &&
                          op != UnaryOp::Square && op != UnaryOp::Sign;
  const DType dtype = float_only && x.dtype() == kInt64 ? kFloat32 : x.dtype();
  const Tensor in = as_dtype(x, dtype);
  Tensor out = detail::new_tensor(x.sizes(), dtype, detail::result_format(x.sizes(), {&x}));
  detail::dispatch(dtype, [&](auto tag) {
    using T = decltype(tag);
    switch (op) {
      case UnaryOp::Neg:
        return map1<T, T>(out, in, [](T v) { return -v; });
      case UnaryOp::Relu:
        return map1<T, T>(out, in, [](T v) { return v > T(0) || v != v ? v : T(0); });
      case UnaryOp::Square:
        return map1<T, T>(out, in, [](T v) { return v * v; });
      default:
        return map1<T, T>(out, in, [op](T v) { return apply_unary(op, v); });
    }
  });
  return out;
}

DType result_type(const Tensor& a, const Tensor& b) {
  if ((a.dim() == 0) != (b.dim() == 0)) {
    const Tensor& z = a.dim() == 0 ? a : b;
    const Tensor& d = a.dim() == 0 ? b : a;
    return is_floating(z.dtype()) && !is_floating(d.dtype()) ? z.dtype() : d.dtype();
  }
  return promote(a.dtype(), b.dtype());
}

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  const Shape shape = broadcast_shapes(a.sizes(), b.sizes());
  DType dtype = result_type(a, b);
  if (op == BinaryOp::Div && dtype == kInt64) dtype = kFloat32;
  const Tensor x = as_dtype(a, dtype), y = as_dtype(b, dtype);
  Tensor out = detail::new_tensor(shape, dtype, detail::result_format(shape, {&a, &b}));
  detail::dispatch(dtype, [&](auto tag) { run_binary<decltype(tag)>(op, out, x, y); });
  return out;
}

void binary_(BinaryOp op, Tensor& dst, const Tensor& b) {
  EMBER_CHECK(broadcast_shapes(dst.sizes(), b.sizes()) == dst.sizes(), "output with shape ",
              shape_str(dst.sizes()), " doesn't match the broadcast shape ",
              shape_str(broadcast_shapes(dst.sizes(), b.sizes())));
  EMBER_CHECK(promote(dst.dtype(), b.dtype()) == dst.dtype(), "result type ",
              promote(dst.dtype(), b.dtype()), " can't be cast to the desired output type ",
              dst.dtype());
  // An operand that overlaps dst (other than being dst itself) must not change under our feet.
  Tensor y = as_dtype(b, dst.dtype());
  if (y.shares_storage(dst) && !y.is_same(dst)) y = y.detach().clone();
  detail::dispatch(dst.dtype(), [&](auto tag) { run_binary<decltype(tag)>(op, dst, dst, y); });
  dst.bump_version();
}

DType scalar_result_dtype(DType t, double scalar) {
  if (t != kInt64) return t;
  return std::floor(scalar) == scalar ? kInt64 : kFloat32;
}

Tensor binary_scalar(BinaryOp op, const Tensor& a, double b) {
  return binary(op, a, full({}, b, scalar_result_dtype(a.dtype(), b)));
}

void axpy_(Tensor& dst, const Tensor& b, double alpha) {
  if (alpha == 1.0) return binary_(BinaryOp::Add, dst, b);
  binary_(BinaryOp::Add, dst, binary_scalar(BinaryOp::Mul, b, alpha));
}

Tensor clamp(const Tensor& x, double lo, double hi) {
  Tensor out = detail::new_tensor(x.sizes(), x.dtype(), detail::result_format(x.sizes(), {&x}));
  detail::dispatch(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T l = static_cast<T>(lo), h = static_cast<T>(hi);
    // NaN passes through, like PyTorch.
    map1<T, T>(out, x, [l, h](T v) { return v < l ? l : (v > h ? h : v); });
  });
  return out;
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  const Shape shape = broadcast_shapes(broadcast_shapes(cond.sizes(), a.sizes()), b.sizes());
  const DType dtype = result_type(a, b);
  const MemoryFormat fmt = detail::result_format(shape, {&cond, &a, &b});
  const Tensor c = as_dtype(cond, dtype).expand(shape).contiguous(fmt);
  const Tensor x = as_dtype(a, dtype).expand(shape);
  Tensor out = detail::new_tensor(shape, dtype, fmt);
  copy(out, b);
  detail::dispatch(dtype, [&](auto tag) {
    using T = decltype(tag);
    const T* pc = c.data_ptr<T>();
    const Tensor xs = x.contiguous(fmt);
    const T* px = xs.data_ptr<T>();
    T* po = out.data_ptr<T>();
    const int64_t n = out.numel();
    for (int64_t i = 0; i < n; ++i)
      if (pc[i] != T(0)) po[i] = px[i];
  });
  return out;
}

}  // namespace ember::kernels
