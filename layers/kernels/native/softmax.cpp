// Softmax / log-softmax along a dim (see softmax.h). For inner == 1 (the last dim) each row is
// contiguous; otherwise the C slices of one outer index are walked as whole rows of `inner`
// values, so every pass is unit-stride. Reductions run in double.
#include "layers/kernels/native/softmax.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/dispatch.h"
#include "core/parallel.h"

namespace ember::nn::kernels::native {

namespace {

constexpr int64_t kParallelGrain = 32768;

template <class T>
void forward_impl(const T* x, T* y, const SoftmaxLayout& l, bool log) {
  const int64_t C = l.C, inner = l.inner;
  // Per-thread scratch rows, allocated once per thread rather than once per row.
  ember::detail::parallel_region(l.outer * C * inner >= kParallelGrain, [&](int t, int nt) {
    std::vector<double> max(inner), sum(inner);
    int64_t begin, end;
    ember::detail::static_share(l.outer, t, nt, begin, end);
    for (int64_t o = begin; o < end; ++o) {
      const T* xo = x + o * C * inner;
      T* yo = y + o * C * inner;
      std::fill(max.begin(), max.end(), -std::numeric_limits<double>::infinity());
      std::fill(sum.begin(), sum.end(), 0.0);
      for (int64_t c = 0; c < C; ++c)
        for (int64_t k = 0; k < inner; ++k) max[k] = std::max<double>(max[k], xo[c * inner + k]);
      for (int64_t c = 0; c < C; ++c) {
        for (int64_t k = 0; k < inner; ++k) {
          const double e = std::exp(static_cast<double>(xo[c * inner + k]) - max[k]);
          sum[k] += e;
          if (!log) yo[c * inner + k] = static_cast<T>(e);
        }
      }
      if (log) {
        // log softmax = x − (max + log Σ e^(x − max))
        for (int64_t k = 0; k < inner; ++k) max[k] += std::log(sum[k]);
        for (int64_t c = 0; c < C; ++c)
          for (int64_t k = 0; k < inner; ++k)
            yo[c * inner + k] = static_cast<T>(xo[c * inner + k] - max[k]);
      } else {
        for (int64_t k = 0; k < inner; ++k) sum[k] = 1.0 / sum[k];
        for (int64_t c = 0; c < C; ++c)
          for (int64_t k = 0; k < inner; ++k)
            yo[c * inner + k] = static_cast<T>(yo[c * inner + k] * sum[k]);
      }
    }
  });
}

template <class T>
void backward_impl(const T* dy, const T* y, T* dx, const SoftmaxLayout& l, bool log) {
  const int64_t C = l.C, inner = l.inner;
  ember::detail::parallel_region(l.outer * C * inner >= kParallelGrain, [&](int t, int nt) {
    std::vector<double> dot(inner);
    int64_t begin, end;
    ember::detail::static_share(l.outer, t, nt, begin, end);
    for (int64_t o = begin; o < end; ++o) {
      const int64_t base = o * C * inner;
      std::fill(dot.begin(), dot.end(), 0.0);
      for (int64_t c = 0; c < C; ++c) {
        for (int64_t k = 0; k < inner; ++k) {
          const int64_t i = base + c * inner + k;
          dot[k] += log ? static_cast<double>(dy[i]) : static_cast<double>(dy[i]) * y[i];
        }
      }
      for (int64_t c = 0; c < C; ++c) {
        for (int64_t k = 0; k < inner; ++k) {
          const int64_t i = base + c * inner + k;
          dx[i] = log ? static_cast<T>(dy[i] - std::exp(static_cast<double>(y[i])) * dot[k])
                      : static_cast<T>(y[i] * (dy[i] - dot[k]));
        }
      }
    }
  });
}

}  // namespace

SoftmaxLayout softmax_layout(const Shape& sizes, int64_t dim) {
  SoftmaxLayout l;
  for (int64_t d = 0; d < static_cast<int64_t>(sizes.size()); ++d) {
    if (d < dim) l.outer *= sizes[d];
    if (d > dim) l.inner *= sizes[d];
  }
  l.C = sizes.empty() ? 1 : sizes[dim];
  return l;
}

Tensor softmax_forward(const Tensor& x, const SoftmaxLayout& l, bool log) {
  Tensor y = empty(x.sizes(), x.dtype());
  ember::detail::dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    forward_impl<T>(x.data_ptr<T>(), y.data_ptr<T>(), l, log);
  });
  return y;
}

Tensor softmax_backward(const Tensor& dy, const Tensor& y, const SoftmaxLayout& l, bool log) {
  const Tensor dyc = dy.contiguous();
  Tensor dx = empty(y.sizes(), y.dtype());
  ember::detail::dispatch_floating(y.dtype(), [&](auto tag) {
    using T = decltype(tag);
    backward_impl<T>(dyc.data_ptr<T>(), y.data_ptr<T>(), dx.data_ptr<T>(), l, log);
  });
  return dx;
}

}  // namespace ember::nn::kernels::native
