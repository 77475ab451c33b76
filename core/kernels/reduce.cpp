// Reductions: the input is permuted so the reduced dims are innermost and made contiguous, so
// every output element reduces one contiguous run.
#include "core/kernels/reduce.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/dispatch.h"
#include "core/kernels/loop.h"
#include "core/parallel.h"
#include "core/tensor_internal.h"

namespace ember::kernels {

Shape normalize_dims(const Shape& dims, int64_t ndim) {
  Shape out;
  if (dims.empty()) {
    for (int64_t d = 0; d < ndim; ++d) out.push_back(d);
    return out;
  }
  for (int64_t d : dims) {
    const int64_t w = wrap_dim(d, ndim);
    EMBER_CHECK(std::find(out.begin(), out.end(), w) == out.end(), "dim ", w,
                " appears multiple times in the list of dims");
    out.push_back(w);
  }
  std::sort(out.begin(), out.end());
  if (ndim == 0) out.clear();  // a scalar reduces over nothing
  return out;
}

Shape reduced_shape(const Shape& sizes, const Shape& dims, bool keepdim) {
  Shape out;
  for (int64_t d = 0; d < static_cast<int64_t>(sizes.size()); ++d) {
    const bool reduced = std::find(dims.begin(), dims.end(), d) != dims.end();
    if (!reduced)
      out.push_back(sizes[d]);
    else if (keepdim)
      out.push_back(1);
  }
  return out;
}

namespace {

template <class T>
using Acc = std::conditional_t<std::is_integral_v<T>, int64_t, double>;

// Reduces one contiguous run of r elements.
template <class T>
double reduce_run(ReduceOp op, const T* p, int64_t r, bool unbiased) {
  using A = Acc<T>;
  switch (op) {
    case ReduceOp::Sum:
    case ReduceOp::Mean: {
      A acc = 0;
      for (int64_t i = 0; i < r; ++i) acc += static_cast<A>(p[i]);
      return op == ReduceOp::Mean ? static_cast<double>(acc) / static_cast<double>(r)
                                  : static_cast<double>(acc);
    }
    case ReduceOp::Var: {
      double mean = 0;
      for (int64_t i = 0; i < r; ++i) mean += static_cast<double>(p[i]);
      mean /= static_cast<double>(r);
      double m2 = 0;
      for (int64_t i = 0; i < r; ++i) {
        const double d = static_cast<double>(p[i]) - mean;
        m2 += d * d;
      }
      const double denom = static_cast<double>(r) - (unbiased ? 1.0 : 0.0);
      return denom > 0 ? m2 / denom : std::numeric_limits<double>::quiet_NaN();
    }
    case ReduceOp::Max:
    case ReduceOp::Min:
    case ReduceOp::ArgMax:
    case ReduceOp::ArgMin: {
      const bool want_max = op == ReduceOp::Max || op == ReduceOp::ArgMax;
      int64_t best = 0;
      for (int64_t i = 1; i < r; ++i) {
        if (p[best] != p[best]) break;  // NaN wins, like PyTorch
        if (p[i] != p[i] || (want_max ? p[i] > p[best] : p[i] < p[best])) best = i;
      }
      return (op == ReduceOp::ArgMax || op == ReduceOp::ArgMin) ? static_cast<double>(best)
                                                                : static_cast<double>(p[best]);
    }
  }
  return 0;
}

const char* op_name(ReduceOp op) {
  switch (op) {
    case ReduceOp::Max:
      return "max";
    case ReduceOp::Min:
      return "min";
    case ReduceOp::ArgMax:
      return "argmax";
    case ReduceOp::ArgMin:
      return "argmin";
    default:
      return "reduce";
  }
}

}  // namespace

Tensor reduce(ReduceOp op, const Tensor& x, const Shape& dims_in, bool keepdim, bool unbiased) {
  const Shape dims = normalize_dims(dims_in, x.dim());
  const Shape out_shape = reduced_shape(x.sizes(), dims, keepdim);
  const bool is_arg = op == ReduceOp::ArgMax || op == ReduceOp::ArgMin;
  const bool needs_float = op == ReduceOp::Mean || op == ReduceOp::Var;
  EMBER_CHECK(!needs_float || is_floating(x.dtype()),
              "mean(): could not infer output dtype. Input dtype must be either a floating point "
              "or complex dtype. Got: ",
              x.dtype());

  Shape perm;
  int64_t M = 1, R = 1;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (std::find(dims.begin(), dims.end(), d) == dims.end()) {
      perm.push_back(d);
      M *= x.size(d);
    }
  for (int64_t d : dims) {
    perm.push_back(d);
    R *= x.size(d);
  }
  const bool selects = op == ReduceOp::Max || op == ReduceOp::Min || is_arg;
  EMBER_CHECK(!(selects && R == 0 && M > 0), op_name(op),
              "(): Expected reduction dim to be specified for input.numel() == 0. Specify the "
              "reduction dim with the 'dim' argument (input shape ",
              shape_str(x.sizes()), ")");

  const Tensor src = x.detach().permute(perm).contiguous();
  const DType out_dtype = is_arg ? kInt64 : x.dtype();
  Tensor out = detail::new_tensor(out_shape, out_dtype);
  detail::dispatch(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* p = src.data_ptr<T>();
    auto store = [&](int64_t m, double v) {
      if (out_dtype == kInt64)
        out.data_ptr<int64_t>()[m] = static_cast<int64_t>(v);
      else
        detail::dispatch(out_dtype, [&](auto o) {
          out.data_ptr<decltype(o)>()[m] = static_cast<decltype(o)>(v);
        });
    };
    // Int64 sums stay exact (no trip through double).
    if constexpr (std::is_integral_v<T>) {
      if (op == ReduceOp::Sum) {
        int64_t* po = out.data_ptr<int64_t>();
        for (int64_t m = 0; m < M; ++m) {
          int64_t acc = 0;
          for (int64_t i = 0; i < R; ++i) acc += p[m * R + i];
          po[m] = acc;
        }
        return;
      }
    }
    if (R == 0) {  // empty reductions: sum 0, mean/var NaN
      for (int64_t m = 0; m < M; ++m)
        store(m, op == ReduceOp::Sum ? 0.0 : std::numeric_limits<double>::quiet_NaN());
      return;
    }
    detail::parallel_for(M, M * R > kParallelGrain,
                         [&](int64_t m) { store(m, reduce_run(op, p + m * R, R, unbiased)); });
  });
  return out;
}

namespace {
// Shared walk of gather/scatter: for every element of `index`, calls f(index_pos, x_pos) with
// element offsets into the contiguous index/src and into the contiguous x/out.
template <class F>
void walk_along(const Shape& x_shape, int64_t dim, const Tensor& index, F f) {
  const Tensor idx = index.contiguous();
  const int64_t* pi = idx.data_ptr<int64_t>();
  const Shape x_strides = contiguous_strides(x_shape);
  const Shape& isz = idx.sizes();
  const int64_t n = idx.numel();
  std::vector<int64_t> pos(isz.size(), 0);
  for (int64_t k = 0; k < n; ++k) {
    int64_t off = 0;
    for (size_t d = 0; d < isz.size(); ++d) {
      int64_t coord = pos[d];
      if (static_cast<int64_t>(d) == dim) {
        coord = pi[k];
        EMBER_CHECK(coord >= 0 && coord < x_shape[d], "index ", coord,
                    " is out of bounds for dimension ", dim, " with size ", x_shape[d]);
      }
      off += coord * x_strides[d];
    }
    f(k, off);
    for (int64_t d = static_cast<int64_t>(isz.size()) - 1; d >= 0; --d) {
      if (++pos[d] < isz[d]) break;
      pos[d] = 0;
    }
  }
}
}  // namespace

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  dim = wrap_dim(dim, x.dim());
  EMBER_CHECK(index.dtype() == kInt64, "gather(): Expected dtype int64 for index, got ",
              index.dtype());
  EMBER_CHECK(index.dim() == x.dim(),
              "Index tensor must have the same number of dimensions as "
              "input tensor (index ",
              shape_str(index.sizes()), ", input ", shape_str(x.sizes()), ")");
  const Tensor src = x.detach().contiguous();
  Tensor out = detail::new_tensor(index.sizes(), x.dtype());
  detail::dispatch(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* ps = src.data_ptr<T>();
    T* po = out.data_ptr<T>();
    walk_along(x.sizes(), dim, index, [&](int64_t k, int64_t off) { po[k] = ps[off]; });
  });
  return out;
}

Tensor scatter_add(const Shape& shape, int64_t dim, const Tensor& index, const Tensor& src) {
  dim = wrap_dim(dim, static_cast<int64_t>(shape.size()));
  EMBER_CHECK(index.sizes() == src.sizes(), "scatter_add(): index ", shape_str(index.sizes()),
              " and src ", shape_str(src.sizes()), " must have the same shape");
  Tensor out = zeros(shape, src.dtype());
  const Tensor s = src.detach().contiguous();
  detail::dispatch(src.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* ps = s.data_ptr<T>();
    T* po = out.data_ptr<T>();
    walk_along(shape, dim, index, [&](int64_t k, int64_t off) { po[off] += ps[k]; });
  });
  return out;
}

}  // namespace ember::kernels
