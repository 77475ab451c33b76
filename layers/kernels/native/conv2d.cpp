// Native 2-D convolution: im2col + one GEMM per group (see conv2d.h). The lowering loops are
// templated on float/double and split across threads by (row, sample) or (sample, channel), so
// no two threads ever write the same element (col2im needs no atomics); small calls stay serial
// without entering OpenMP at all (core/parallel.h).
#include "layers/kernels/native/conv2d.h"

#include <algorithm>

#include "core/dispatch.h"
#include "core/kernels/linalg.h"
#include "core/parallel.h"

namespace ember::nn::kernels::native {

namespace {

// Below this many elements a lowering loop stays on one thread.
constexpr int64_t kParallelGrain = 32768;
// Columns for at most this many elements per chunk of the batch (16 MB in float32): bounds the
// workspace for large inputs while keeping each GEMM big enough to run well on all threads.
constexpr int64_t kColumnBudget = int64_t{1} << 22;

// The outputs o in [0, out) whose input index o·stride + offset lies in [0, in): [lo, hi).
struct Range {
  int64_t lo, hi;
};
Range valid_outputs(int64_t out, int64_t stride, int64_t offset, int64_t in) {
  int64_t lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  int64_t hi = in - offset <= 0 ? 0 : (in - offset + stride - 1) / stride;
  lo = std::min(lo, out);
  hi = std::clamp(hi, lo, out);
  return {lo, hi};
}

// cols [Kg, nb·L]: row r = (c, i, j) of group channels starting at c0, column n·L + (oh, ow) for
// samples n0 .. n0 + nb. Padding reads as zero.
template <class T>
void im2col(const Conv2dGeometry& g, const T* x, int64_t n0, int64_t nb, int64_t c0, T* cols) {
  const int64_t K = g.Kg(), L = g.L(), NL = nb * L, HW = g.H * g.W;
  ember::detail::parallel_for(K * nb, K * NL >= kParallelGrain, [&](int64_t rn) {
    const int64_t r = rn / nb, n = rn % nb;
    const int64_t c = r / (g.kh * g.kw), i = (r / g.kw) % g.kh, j = r % g.kw;
    const T* plane = x + ((n0 + n) * g.C + c0 + c) * HW;
    T* out = cols + r * NL + n * L;
    const int64_t woff = j * g.dw - g.pw;
    const Range rw = valid_outputs(g.OW, g.sw, woff, g.W);
    for (int64_t oh = 0; oh < g.OH; ++oh) {
      T* row = out + oh * g.OW;
      const int64_t ih = oh * g.sh - g.ph + i * g.dh;
      if (ih < 0 || ih >= g.H) {
        std::fill(row, row + g.OW, T(0));
        continue;
      }
      const T* in = plane + ih * g.W;
      std::fill(row, row + rw.lo, T(0));
      if (g.sw == 1) {
        std::copy(in + (rw.lo + woff), in + (rw.hi + woff), row + rw.lo);
      } else {
        for (int64_t ow = rw.lo; ow < rw.hi; ++ow) row[ow] = in[ow * g.sw + woff];
      }
      std::fill(row + rw.hi, row + g.OW, T(0));
    }
  });
}

// dx += col2im(dcols): the adjoint of im2col. Each thread owns whole (sample, channel) planes.
template <class T>
void col2im(const Conv2dGeometry& g, const T* dcols, int64_t n0, int64_t nb, int64_t c0, T* dx) {
  const int64_t L = g.L(), NL = nb * L, HW = g.H * g.W;
  ember::detail::parallel_for(nb * g.Cg(), g.Kg() * NL >= kParallelGrain, [&](int64_t nc) {
    const int64_t n = nc / g.Cg(), c = nc % g.Cg();
    T* plane = dx + ((n0 + n) * g.C + c0 + c) * HW;
    for (int64_t i = 0; i < g.kh; ++i) {
      for (int64_t j = 0; j < g.kw; ++j) {
        const T* src = dcols + ((c * g.kh + i) * g.kw + j) * NL + n * L;
        const int64_t woff = j * g.dw - g.pw;
        const Range rw = valid_outputs(g.OW, g.sw, woff, g.W);
        for (int64_t oh = 0; oh < g.OH; ++oh) {
          const int64_t ih = oh * g.sh - g.ph + i * g.dh;
          if (ih < 0 || ih >= g.H) continue;
          T* row = plane + ih * g.W;
          const T* s = src + oh * g.OW;
          if (g.sw == 1) {  // unit stride: a contiguous run the compiler vectorizes
            T* d = row + (rw.lo + woff);
            for (int64_t k = 0; k < rw.hi - rw.lo; ++k) d[k] += s[rw.lo + k];
          } else {
            for (int64_t ow = rw.lo; ow < rw.hi; ++ow) row[ow * g.sw + woff] += s[ow];
          }
        }
      }
    }
  });
}

// Samples per chunk: as many as fit the column budget, at least one.
int64_t chunk_size(const Conv2dGeometry& g) {
  const int64_t per_sample = std::max<int64_t>(1, g.groups * g.Kg() * g.L());
  return std::clamp<int64_t>(kColumnBudget / per_sample, 1, std::max<int64_t>(g.N, 1));
}

template <class T>
void forward_impl(const Tensor& x, const Tensor& weight, const Tensor& bias,
                  const Conv2dGeometry& g, Tensor& y) {
  const int64_t G = g.groups, Og = g.Og(), K = g.Kg(), L = g.L(), O = g.O;
  const Tensor w = weight.contiguous();  // [G·Og, K]: group gi's rows start at gi·Og
  const T* pw = w.data_ptr<T>();
  const T* px = x.data_ptr<T>();
  const T* pb = bias.defined() ? bias.data_ptr<T>() : nullptr;
  T* py = y.data_ptr<T>();
  const int64_t step = chunk_size(g);
  for (int64_t n0 = 0; n0 < g.N; n0 += step) {
    const int64_t nb = std::min(step, g.N - n0), NL = nb * L;
    Tensor cols = empty({G, K, NL}, x.dtype()), out = empty({G, Og, NL}, x.dtype());
    T* pc = cols.data_ptr<T>();
    T* po = out.data_ptr<T>();
    for (int64_t gi = 0; gi < G; ++gi) {
      im2col(g, px, n0, nb, gi * g.Cg(), pc + gi * K * NL);
      // Y_g [Og, nb·L] = W_g [Og, K] · cols_g [K, nb·L]
      ember::kernels::gemm({Og, NL, K}, pw + gi * Og * K, pc + gi * K * NL, po + gi * Og * NL);
    }
    // Output channel o = gi·Og + og sits at row o of `out`; scatter to [n, o, L] plus bias.
    ember::detail::parallel_for(nb * O, nb * O * L >= kParallelGrain, [&](int64_t no) {
      const int64_t n = no / O, o = no % O;
      const T* src = po + (o * nb + n) * L;
      T* dst = py + ((n0 + n) * O + o) * L;
      const T b = pb ? pb[o] : T(0);
      for (int64_t l = 0; l < L; ++l) dst[l] = src[l] + b;
    });
  }
}

template <class T>
Conv2dGrads backward_impl(const Tensor& dy, const Tensor& x, const Tensor& weight,
                          const Conv2dGeometry& g, bool need_x, bool need_w, bool need_b) {
  const int64_t G = g.groups, Og = g.Og(), K = g.Kg(), L = g.L(), O = g.O;
  const T* pdy = dy.data_ptr<T>();
  const DType dtype = dy.dtype();
  const T* px = need_w ? x.data_ptr<T>() : nullptr;
  Conv2dGrads grads;
  if (need_b) {
    grads.dbias = empty({O}, dtype);
    T* pdb = grads.dbias.data_ptr<T>();
    ember::detail::parallel_for(O, g.N * O * L >= kParallelGrain, [&](int64_t o) {
      double s = 0;  // float32 sums of N·L terms keep full precision in double
      for (int64_t n = 0; n < g.N; ++n) {
        const T* src = pdy + (n * O + o) * L;
#pragma omp simd reduction(+ : s)
        for (int64_t l = 0; l < L; ++l) s += src[l];
      }
      pdb[o] = static_cast<T>(s);
    });
  }
  if (!need_x && !need_w) return grads;
  // Both products take a transposed operand straight from the GEMM (no transposed copies):
  // dW_g += dY_g · cols_gᵀ and dcols_g = W_gᵀ · dY_g.
  const Tensor w = need_x ? weight.contiguous() : Tensor();
  const T* pw = need_x ? w.data_ptr<T>() : nullptr;
  Tensor dw;
  if (need_w) dw = zeros({g.O, g.Cg(), g.kh, g.kw}, dtype);
  if (need_x) grads.dx = zeros({g.N, g.C, g.H, g.W}, dtype);
  const int64_t step = chunk_size(g);
  for (int64_t n0 = 0; n0 < g.N; n0 += step) {
    const int64_t nb = std::min(step, g.N - n0), NL = nb * L;
    // dy regrouped as [G, Og, nb·L], the forward's output order (the GEMM operand layout).
    Tensor dyg = empty({G, Og, NL}, dtype);
    T* pg = dyg.data_ptr<T>();
    ember::detail::parallel_for(nb * O, nb * O * L >= kParallelGrain, [&](int64_t no) {
      const int64_t n = no / O, o = no % O;
      const T* src = pdy + ((n0 + n) * O + o) * L;
      std::copy(src, src + L, pg + (o * nb + n) * L);
    });
    if (need_w) {
      Tensor cols = empty({G, K, NL}, dtype);
      T* pc = cols.data_ptr<T>();
      T* pdw = dw.data_ptr<T>();
      for (int64_t gi = 0; gi < G; ++gi) {
        im2col(g, px, n0, nb, gi * g.Cg(), pc + gi * K * NL);
        ember::kernels::gemm({.n = Og, .m = K, .k = NL, .trans_b = true, .accumulate = true},
                             pg + gi * Og * NL, pc + gi * K * NL, pdw + gi * Og * K);
      }
    }
    if (need_x) {
      Tensor dcols = empty({G, K, NL}, dtype);
      T* pd = dcols.data_ptr<T>();
      T* pdx = grads.dx.data_ptr<T>();
      for (int64_t gi = 0; gi < G; ++gi) {
        ember::kernels::gemm({.n = K, .m = NL, .k = Og, .trans_a = true}, pw + gi * Og * K,
                             pg + gi * Og * NL, pd + gi * K * NL);
        col2im(g, pd + gi * K * NL, n0, nb, gi * g.Cg(), pdx);
      }
    }
  }
  if (need_w) grads.dweight = dw;
  return grads;
}

}  // namespace

Tensor conv2d_forward(const Tensor& x, const Tensor& weight, const Tensor& bias,
                      const Conv2dGeometry& g) {
  Tensor y = empty({g.N, g.O, g.OH, g.OW}, x.dtype());
  ember::detail::dispatch_floating(
      x.dtype(), [&](auto tag) { forward_impl<decltype(tag)>(x, weight, bias, g, y); });
  return y;
}

Conv2dGrads conv2d_backward(const Tensor& dy, const Tensor& x, const Tensor& weight,
                            const Conv2dGeometry& g, bool need_x, bool need_weight,
                            bool need_bias) {
  const Tensor dyc = dy.contiguous();
  return ember::detail::dispatch_floating(dyc.dtype(), [&](auto tag) {
    return backward_impl<decltype(tag)>(dyc, x, weight, g, need_x, need_weight, need_bias);
  });
}

}  // namespace ember::nn::kernels::native
