// Native row norms (LayerNorm, GroupNorm, InstanceNorm, RMSNorm) for float32/float64, after
// llm.c's layernorm forward/backward and ATen's folded formulas: x is [R, D] contiguous rows,
// statistics per row (two-pass, in double), the affine parameter of element (r, j) is
// weight[(r % G)·(D/S) + j/S].
#include <omp.h>

#include <cmath>
#include <utility>
#include <vector>

#include "core/dispatch.h"
#include "core/parallel.h"
#include "layers/kernels/native/moments.h"
#include "layers/kernels/norm_kernels.h"

namespace ember::nn::kernels::native {

namespace {

template <class T>
std::vector<T> values_or(const Tensor& t, int64_t n, T fallback) {
  return t.defined() ? t.to_vector<T>() : std::vector<T>(n, fallback);
}

struct Geometry {
  int64_t R, D, G, S, Cg;  // Cg: affine entries per group (D / S)
  explicit Geometry(const RowLayout& l)
      : R(l.rows),
        D(l.row_size),
        G(l.groups),
        S(l.spatial),
        Cg(l.spatial > 0 ? l.row_size / l.spatial : 0) {}
  int64_t first_param(int64_t r) const { return (r % G) * Cg; }
  bool parallel() const { return R > 1 && R * D > 32768; }
};

template <class T>
RowNormForward forward_impl(const Tensor& x_in, const Tensor& weight, const Tensor& bias,
                            const RowLayout& layout, double eps, bool centered) {
  const Geometry g(layout);
  const Tensor x = x_in.contiguous();
  const int64_t W = g.G * g.Cg;
  const auto gamma = values_or<T>(weight, W, 1), beta = values_or<T>(bias, W, 0);
  RowNormForward out;
  out.y = empty(x.sizes(), x.dtype());
  out.mean = empty({g.R}, x.dtype());
  out.rstd = empty({g.R}, x.dtype());
  const T* px = x.data_ptr<T>();
  T* py = out.y.data_ptr<T>();
  T* pm = out.mean.data_ptr<T>();
  T* pr = out.rstd.data_ptr<T>();
  detail::parallel_for(g.R, g.parallel(), [&](int64_t r) {
    const T* row = px + r * g.D;
    const auto [mean, var] = row_moments(row, g.D, centered);
    const double rstd = 1.0 / std::sqrt(var + eps);
    pm[r] = static_cast<T>(mean);
    pr[r] = static_cast<T>(rstd);
    T* yr = py + r * g.D;
    const int64_t p0 = g.first_param(r);
    const MeanSplit<T> mu(mean);
    if (g.S == 1) {  // LayerNorm/RMSNorm: γ and β per element
      const T* gr = gamma.data() + p0;
      const T* br = beta.data() + p0;
      const T trstd = static_cast<T>(rstd);
#pragma omp simd
      for (int64_t j = 0; j < g.D; ++j) yr[j] = mu.centered(row[j]) * (trstd * gr[j]) + br[j];
      return;
    }
    for (int64_t c = 0; c < g.Cg; ++c) {
      const T a = static_cast<T>(rstd * gamma[p0 + c]), b = static_cast<T>(beta[p0 + c]);
      const T* xs = row + c * g.S;
      T* ys = yr + c * g.S;
      for (int64_t s = 0; s < g.S; ++s) ys[s] = mu.centered(xs[s]) * a + b;
    }
  });
  return out;
}

// The element-wise halves of a LayerNorm/RMSNorm row's backward, each its own function over
// restrict pointers, kept out of line: inlined into backward_impl's row loop, GCC ran a scalar
// copy of the first (perf: 40% of a LayerNorm [64,256] step).
// dγ += dy·(x − μ)·rstd, dβ += dy
template <class T>
__attribute__((noinline)) void add_param_grads(T* __restrict dgamma, T* __restrict dbeta,
                                               const T* __restrict dy, const T* __restrict x,
                                               const MeanSplit<T> mu, const T rstd, int64_t n) {
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) {
    dgamma[j] += dy[j] * (mu.centered(x[j]) * rstd);
    dbeta[j] += dy[j];
  }
}

// dx = rstd·γ·dy + b·(x − μ) + k
template <class T>
__attribute__((noinline)) void row_dx(T* __restrict dx, const T* __restrict dy,
                                      const T* __restrict x, const T* __restrict gamma,
                                      const MeanSplit<T> mu, const T rstd, const T b, const T k,
                                      int64_t n) {
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) dx[j] = dy[j] * (rstd * gamma[j]) + mu.centered(x[j]) * b + k;
}

template <class T>
NormGrads backward_impl(const Tensor& dy_in, const Tensor& x_in, const Tensor& weight,
                        const Tensor& mean_t, const Tensor& rstd_t, const RowLayout& layout,
                        bool centered, NeedGrads needs) {
  const Geometry g(layout);
  const Tensor x = x_in.contiguous(), dy = dy_in.contiguous();
  const int64_t W = g.G * g.Cg;
  const auto gamma = values_or<T>(weight, W, 1);
  const T* px = x.data_ptr<T>();
  const T* pdy = dy.data_ptr<T>();
  const Tensor mean_c = mean_t.contiguous(), rstd_c = rstd_t.contiguous();
  const T* pm = mean_c.data_ptr<T>();
  const T* pr = rstd_c.data_ptr<T>();
  NormGrads out;
  if (needs[0]) out.dx = empty(x.sizes(), x.dtype());
  T* pdx = needs[0] ? out.dx.data_ptr<T>() : nullptr;
  const bool param_grads = needs[1] || needs[2];
  const int max_threads = g.parallel() ? omp_get_max_threads() : 1;
  // Per-thread partial sums of dγ and dβ, merged once at the end. Rows with γ per element
  // (S == 1) first sum kRowsPerBlock rows in T, which vectorizes twice as wide for float (32
  // rows: float error ~32 ulp of the block sum; 6 % faster than 8 on LayerNorm [4096,768]).
  std::vector<double> dgamma(param_grads ? max_threads * W : 0, 0.0), dbeta(dgamma.size(), 0.0);
  constexpr int kRowsPerBlock = 32;
  std::vector<T> block_dgamma(param_grads && g.S == 1 ? max_threads * W : 0, T(0));
  std::vector<T> block_dbeta(block_dgamma.size(), T(0));
  const double inv_d = 1.0 / static_cast<double>(g.D);
  // dx = rstd·γ·dy + b·(x − μ) + k, with b and k from the row's two sums ds = Σ dy·γ·(x − μ),
  // db = Σ dy·γ (ATen's folding, kept around the mean so rows far from zero lose nothing).
  const auto dx_terms = [&](double ds, double db, double rstd) {
    return std::pair<T, T>{static_cast<T>(-ds * rstd * rstd * rstd * inv_d),
                           static_cast<T>(centered ? -db * rstd * inv_d : 0.0)};
  };

  detail::parallel_region(g.parallel(), [&](int t, int threads) {
    int64_t begin, end;
    detail::static_share(g.R, t, threads, begin, end);
    const auto flush_block = [&] {
      for (int64_t i = t * W; i < (t + 1) * W; ++i) {
        dgamma[i] += block_dgamma[i];
        dbeta[i] += block_dbeta[i];
        block_dgamma[i] = block_dbeta[i] = 0;
      }
    };
    for (int64_t r = begin; r < end; ++r) {
      const T* xr = px + r * g.D;
      const T* dyr = pdy + r * g.D;
      const double mean = pm[r], rstd = pr[r];
      const int64_t p0 = g.first_param(r);
      const MeanSplit<T> mu(mean);
      if (g.S == 1) {  // LayerNorm/RMSNorm: γ per element, so per-element loops
        const T* gr = gamma.data() + p0;
        const auto [ds, db] = grad_sums(dyr, gr, xr, mu, g.D);
        const T trstd = static_cast<T>(rstd);
        if (param_grads) {  // dγ += dy·(x − μ)·rstd, dβ += dy
          add_param_grads(block_dgamma.data() + t * W + p0, block_dbeta.data() + t * W + p0, dyr,
                          xr, mu, trstd, g.D);
          if ((r - begin) % kRowsPerBlock == kRowsPerBlock - 1 || r == end - 1) flush_block();
        }
        if (!pdx) continue;
        const auto [tb, tk] = dx_terms(ds, db, rstd);
        row_dx(pdx + r * g.D, dyr, xr, gr, mu, trstd, tb, tk, g.D);
        continue;
      }
      double ds = 0, db = 0;  // Σ dy·γ·(x − μ) and Σ dy·γ over the row
      for (int64_t c = 0; c < g.Cg; ++c) {
        const double gc = gamma[p0 + c];
        // Σ dy·(x − μ) and Σ dy over the channel's S values
        const auto [sdx, sd] = grad_sums<T>(dyr + c * g.S, nullptr, xr + c * g.S, mu, g.S);
        ds += gc * sdx;
        db += gc * sd;
        if (param_grads) {  // dγ = Σ dy·(x−μ)·rstd, dβ = Σ dy
          dgamma[t * W + p0 + c] += sdx * rstd;
          dbeta[t * W + p0 + c] += sd;
        }
      }
      if (!pdx) continue;
      const auto [tb, tk] = dx_terms(ds, db, rstd);
      T* dxr = pdx + r * g.D;
      for (int64_t c = 0; c < g.Cg; ++c) {
        const T a = static_cast<T>(rstd * gamma[p0 + c]);
        for (int64_t s = 0; s < g.S; ++s) {
          const int64_t j = c * g.S + s;
          dxr[j] = dyr[j] * a + mu.centered(xr[j]) * tb + tk;
        }
      }
    }
  });
  if (param_grads) {
    std::vector<double> dw(W, 0.0), dbias(W, 0.0);
    for (int t = 0; t < max_threads; ++t)
      for (int64_t i = 0; i < W; ++i) {
        dw[i] += dgamma[t * W + i];
        dbias[i] += dbeta[t * W + i];
      }
    if (needs[1]) out.dweight = tensor(dw, {W}, x.dtype());
    if (needs[2]) out.dbias = tensor(dbias, {W}, x.dtype());
  }
  return out;
}

}  // namespace

RowNormForward row_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                const RowLayout& layout, double eps, bool centered) {
  return detail::dispatch_floating(x.dtype(), [&](auto tag) {
    return forward_impl<decltype(tag)>(x, weight, bias, layout, eps, centered);
  });
}

NormGrads row_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight,
                            const Tensor& mean, const Tensor& rstd, const RowLayout& layout,
                            bool centered, NeedGrads needs, double /*eps*/) {
  return detail::dispatch_floating(x.dtype(), [&](auto tag) {
    return backward_impl<decltype(tag)>(dy, x, weight, mean, rstd, layout, centered, needs);
  });
}

}  // namespace ember::nn::kernels::native
