// Native 2-D pooling (see pool2d.h). Work is split across threads by whole planes, so the
// backward scatters (overlapping windows) never race. Sums accumulate in double, as ATen's CPU
// kernels do for float.
#include "layers/kernels/native/pool2d.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/dispatch.h"
#include "core/parallel.h"

namespace ember::nn::kernels::native {

namespace {

constexpr int64_t kParallelGrain = 32768;

bool parallel(const Pool2dGeometry& g, int64_t work) {
  return g.planes > 1 && g.planes * work >= kParallelGrain;
}

// An average-pool window clipped to the input, with the divisor PyTorch uses for it.
struct AvgWindow {
  int64_t h0, h1, w0, w1;
  int64_t divisor;
  bool empty() const { return h0 >= h1 || w0 >= w1; }
};
AvgWindow avg_window(const Pool2dGeometry& g, int64_t oh, int64_t ow, bool count_include_pad,
                     int64_t divisor_override) {
  AvgWindow w;
  w.h0 = oh * g.sh - g.ph;
  w.w0 = ow * g.sw - g.pw;
  w.h1 = std::min(w.h0 + g.kh, g.H + g.ph);
  w.w1 = std::min(w.w0 + g.kw, g.W + g.pw);
  const int64_t padded_size = (w.h1 - w.h0) * (w.w1 - w.w0);  // the window inside the padding
  w.h0 = std::max<int64_t>(w.h0, 0);
  w.w0 = std::max<int64_t>(w.w0, 0);
  w.h1 = std::min(w.h1, g.H);
  w.w1 = std::min(w.w1, g.W);
  w.divisor = divisor_override    ? divisor_override
              : count_include_pad ? padded_size
                                  : (w.h1 - w.h0) * (w.w1 - w.w0);
  return w;
}

// Adaptive windows: ATen's start_index/end_index in integer arithmetic.
int64_t start_index(int64_t o, int64_t out, int64_t in) {
  return (o / out) * in + ((o % out) * in) / out;
}
int64_t end_index(int64_t o, int64_t out, int64_t in) { return 1 + ((o + 1) * in - 1) / out; }

// The 2×2, stride-2 pooling of nearly every CNN, every window inside the input: the general
// loop's bounds, stride arithmetic and branches cost 5× more than four vectorized comparisons,
// so it gets its own loop (same scan order, same tie and NaN rule).
bool is_plain_2x2(const Pool2dGeometry& g) {
  return g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.ph == 0 && g.pw == 0 && g.dh == 1 &&
         g.dw == 1 && 2 * g.OH <= g.H && 2 * g.OW <= g.W;
}

// One output row of 2×2 windows over input rows r0, r1; `base` is r0's offset in its plane.
// Selects, not branches, so the loop vectorizes (random data mispredicts every other compare).
template <class T>
void max_row_2x2(const T* __restrict r0, const T* __restrict r1, T* __restrict out,
                 int64_t* __restrict idx, int64_t OW, int64_t base, int64_t W) {
  for (int64_t ow = 0; ow < OW; ++ow) {
    const T v0 = r0[2 * ow], v1 = r0[2 * ow + 1], v2 = r1[2 * ow], v3 = r1[2 * ow + 1];
    T best = v0;
    int64_t at = 0;
    bool take = v1 > best || v1 != v1;
    best = take ? v1 : best;
    at = take ? 1 : at;
    take = v2 > best || v2 != v2;
    best = take ? v2 : best;
    at = take ? W : at;
    take = v3 > best || v3 != v3;
    best = take ? v3 : best;
    at = take ? W + 1 : at;
    out[ow] = best;
    idx[ow] = base + 2 * ow + at;
  }
}

template <class T>
void max_forward_2x2(const Pool2dGeometry& g, const T* x, T* y, int64_t* idx) {
  ember::detail::parallel_for(g.planes, parallel(g, g.OH * g.OW * 4), [&](int64_t p) {
    const T* in = x + p * g.H * g.W;
    for (int64_t oh = 0; oh < g.OH; ++oh) {
      const int64_t o = (p * g.OH + oh) * g.OW;
      max_row_2x2(in + 2 * oh * g.W, in + (2 * oh + 1) * g.W, y + o, idx + o, g.OW, 2 * oh * g.W,
                  g.W);
    }
  });
}

// ATen's loop: each window scanned row by row; the first maximum wins ties, NaN wins always.
template <class T>
void max_forward(const Pool2dGeometry& g, const T* x, T* y, int64_t* idx) {
  if (is_plain_2x2(g)) return max_forward_2x2(g, x, y, idx);
  ember::detail::parallel_for(g.planes, parallel(g, g.OH * g.OW * g.kh * g.kw), [&](int64_t p) {
    const T* in = x + p * g.H * g.W;
    for (int64_t oh = 0; oh < g.OH; ++oh) {
      for (int64_t ow = 0; ow < g.OW; ++ow) {
        int64_t h0 = oh * g.sh - g.ph, w0 = ow * g.sw - g.pw;
        const int64_t h1 = std::min(h0 + (g.kh - 1) * g.dh + 1, g.H);
        const int64_t w1 = std::min(w0 + (g.kw - 1) * g.dw + 1, g.W);
        while (h0 < 0) h0 += g.dh;
        while (w0 < 0) w0 += g.dw;
        int64_t best = h0 * g.W + w0;  // a window of −∞ keeps its first element as argmax
        T best_value = -std::numeric_limits<T>::infinity();
        for (int64_t h = h0; h < h1; h += g.dh) {
          for (int64_t w = w0; w < w1; w += g.dw) {
            const T v = in[h * g.W + w];
            if (v > best_value || std::isnan(v)) {
              best_value = v;
              best = h * g.W + w;
            }
          }
        }
        const int64_t o = (p * g.OH + oh) * g.OW + ow;
        y[o] = best_value;
        idx[o] = best;
      }
    }
  });
}

template <class T>
void max_backward(const Pool2dGeometry& g, const T* dy, const int64_t* idx, T* dx) {
  const int64_t L = g.OH * g.OW, HW = g.H * g.W;
  ember::detail::parallel_for(g.planes, parallel(g, L), [&](int64_t p) {
    T* plane = dx + p * HW;
    for (int64_t o = p * L; o < (p + 1) * L; ++o) {
      const int64_t i = idx[o];
      if (i >= 0 && i < HW) plane[i] += dy[o];  // a window entirely in padding has no argmax
    }
  });
}

template <class T>
void avg_forward(const Pool2dGeometry& g, const T* x, T* y, bool count_include_pad,
                 int64_t divisor_override) {
  ember::detail::parallel_for(g.planes, parallel(g, g.OH * g.OW * g.kh * g.kw), [&](int64_t p) {
    const T* in = x + p * g.H * g.W;
    for (int64_t oh = 0; oh < g.OH; ++oh) {
      for (int64_t ow = 0; ow < g.OW; ++ow) {
        const AvgWindow w = avg_window(g, oh, ow, count_include_pad, divisor_override);
        T& out = y[(p * g.OH + oh) * g.OW + ow];
        if (w.empty()) {
          out = T(0);
          continue;
        }
        double sum = 0;
        for (int64_t h = w.h0; h < w.h1; ++h)
          for (int64_t c = w.w0; c < w.w1; ++c) sum += in[h * g.W + c];
        out = static_cast<T>(sum / static_cast<double>(w.divisor));
      }
    }
  });
}

template <class T>
void avg_backward(const Pool2dGeometry& g, const T* dy, T* dx, bool count_include_pad,
                  int64_t divisor_override) {
  ember::detail::parallel_for(g.planes, parallel(g, g.OH * g.OW * g.kh * g.kw), [&](int64_t p) {
    T* plane = dx + p * g.H * g.W;
    for (int64_t oh = 0; oh < g.OH; ++oh) {
      for (int64_t ow = 0; ow < g.OW; ++ow) {
        const AvgWindow w = avg_window(g, oh, ow, count_include_pad, divisor_override);
        if (w.empty()) continue;
        const T share = dy[(p * g.OH + oh) * g.OW + ow] / static_cast<T>(w.divisor);
        for (int64_t h = w.h0; h < w.h1; ++h)
          for (int64_t c = w.w0; c < w.w1; ++c) plane[h * g.W + c] += share;
      }
    }
  });
}

template <class T>
void adaptive_forward(const Pool2dGeometry& g, const T* x, T* y) {
  ember::detail::parallel_for(g.planes, parallel(g, g.H * g.W), [&](int64_t p) {
    const T* in = x + p * g.H * g.W;
    for (int64_t oh = 0; oh < g.OH; ++oh) {
      const int64_t h0 = start_index(oh, g.OH, g.H), h1 = end_index(oh, g.OH, g.H);
      for (int64_t ow = 0; ow < g.OW; ++ow) {
        const int64_t w0 = start_index(ow, g.OW, g.W), w1 = end_index(ow, g.OW, g.W);
        double sum = 0;
        for (int64_t h = h0; h < h1; ++h)
          for (int64_t w = w0; w < w1; ++w) sum += in[h * g.W + w];
        y[(p * g.OH + oh) * g.OW + ow] =
            static_cast<T>(sum / static_cast<double>((h1 - h0) * (w1 - w0)));
      }
    }
  });
}

template <class T>
void adaptive_backward(const Pool2dGeometry& g, const T* dy, T* dx) {
  ember::detail::parallel_for(g.planes, parallel(g, g.H * g.W), [&](int64_t p) {
    T* plane = dx + p * g.H * g.W;
    for (int64_t oh = 0; oh < g.OH; ++oh) {
      const int64_t h0 = start_index(oh, g.OH, g.H), h1 = end_index(oh, g.OH, g.H);
      for (int64_t ow = 0; ow < g.OW; ++ow) {
        const int64_t w0 = start_index(ow, g.OW, g.W), w1 = end_index(ow, g.OW, g.W);
        const T share = dy[(p * g.OH + oh) * g.OW + ow] / static_cast<T>((h1 - h0) * (w1 - w0));
        for (int64_t h = h0; h < h1; ++h)
          for (int64_t w = w0; w < w1; ++w) plane[h * g.W + w] += share;
      }
    }
  });
}

}  // namespace

MaxPool2dForward max_pool2d_forward(const Tensor& x, const Pool2dGeometry& g) {
  MaxPool2dForward f{empty({g.planes, g.OH, g.OW}, x.dtype()),
                     empty({g.planes, g.OH, g.OW}, kInt64)};
  ember::detail::dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    max_forward<T>(g, x.data_ptr<T>(), f.y.data_ptr<T>(), f.indices.data_ptr<int64_t>());
  });
  return f;
}

Tensor max_pool2d_backward(const Tensor& dy, const Tensor& indices, const Pool2dGeometry& g) {
  const Tensor dyc = dy.contiguous();
  Tensor dx = zeros({g.planes, g.H, g.W}, dy.dtype());
  ember::detail::dispatch_floating(dy.dtype(), [&](auto tag) {
    using T = decltype(tag);
    max_backward<T>(g, dyc.data_ptr<T>(), indices.data_ptr<int64_t>(), dx.data_ptr<T>());
  });
  return dx;
}

Tensor avg_pool2d_forward(const Tensor& x, const Pool2dGeometry& g, bool count_include_pad,
                          int64_t divisor_override) {
  Tensor y = empty({g.planes, g.OH, g.OW}, x.dtype());
  ember::detail::dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    avg_forward<T>(g, x.data_ptr<T>(), y.data_ptr<T>(), count_include_pad, divisor_override);
  });
  return y;
}

Tensor avg_pool2d_backward(const Tensor& dy, const Pool2dGeometry& g, bool count_include_pad,
                           int64_t divisor_override) {
  const Tensor dyc = dy.contiguous();
  Tensor dx = zeros({g.planes, g.H, g.W}, dy.dtype());
  ember::detail::dispatch_floating(dy.dtype(), [&](auto tag) {
    using T = decltype(tag);
    avg_backward<T>(g, dyc.data_ptr<T>(), dx.data_ptr<T>(), count_include_pad, divisor_override);
  });
  return dx;
}

Tensor adaptive_avg_pool2d_forward(const Tensor& x, const Pool2dGeometry& g) {
  Tensor y = empty({g.planes, g.OH, g.OW}, x.dtype());
  ember::detail::dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    adaptive_forward<T>(g, x.data_ptr<T>(), y.data_ptr<T>());
  });
  return y;
}

Tensor adaptive_avg_pool2d_backward(const Tensor& dy, const Pool2dGeometry& g) {
  const Tensor dyc = dy.contiguous();
  Tensor dx = zeros({g.planes, g.H, g.W}, dy.dtype());
  ember::detail::dispatch_floating(dy.dtype(), [&](auto tag) {
    using T = decltype(tag);
    adaptive_backward<T>(g, dyc.data_ptr<T>(), dx.data_ptr<T>());
  });
  return dx;
}

}  // namespace ember::nn::kernels::native
