#pragma once
// Internal: the per-row (per-plane) statistics shared by the native norm kernels, generic over
// float32/float64, with float32 specializations that run in float lanes (float_lanes.h) and keep
// double's accuracy: every sum is taken around a mean, never as E[x²] − E[x]².
#include <array>
#include <cmath>
#include <cstdint>

#include "layers/kernels/native/float_lanes.h"

namespace ember::nn::kernels::native {

// μ as a T-precision head and tail: x − μ computed as (x − hi) − lo stays accurate when
// |μ| ≫ σ, where folding μ into a constant would cost one ulp of |μ| per element.
template <class T>
struct MeanSplit {
  T hi, lo;
  explicit MeanSplit(double mean)
      : hi(static_cast<T>(mean)), lo(static_cast<T>(mean - static_cast<double>(hi))) {}
  T centered(T x) const { return (x - hi) - lo; }
};

struct Moments {
  double mean, var;  // biased variance; for RMS norm (!centered) mean = 0 and var = mean square
};

// Two passes in double: the mean, then the variance around it (exact for rows far from zero,
// where E[x²] − E[x]² cancels to nothing).
template <class T>
Moments two_pass_moments(const T* row, int64_t n, bool centered) {
  double mean = 0;
  if (centered) {
#pragma omp simd reduction(+ : mean)
    for (int64_t j = 0; j < n; ++j) mean += row[j];
    mean /= static_cast<double>(n);
  }
  double m2 = 0;
#pragma omp simd reduction(+ : m2)
  for (int64_t j = 0; j < n; ++j) {
    const double d = row[j] - mean;
    m2 += d * d;
  }
  return {mean, m2 / static_cast<double>(n)};
}

template <class T>
Moments row_moments(const T* row, int64_t n, bool centered) {
  return two_pass_moments(row, n, centered);
}

// float32: the same two passes in float lanes. The second is shifted by the first's mean rounded
// to float, k, and Σ(x − k) puts back what the rounding lost: mean = k + Σ(x − k)/n,
// var = Σ(x − k)²/n − (Σ(x − k)/n)², where the correction term is tiny next to var.
template <>
inline Moments row_moments(const float* row, int64_t n, bool centered) {
  using lanes::f32x16;
  const double inv_n = 1.0 / static_cast<double>(n);
  float k = 0;
  if (centered) {
    const auto [sum] = lanes::row_sums<1>(
        n, [&](int64_t j, f32x16* acc) { acc[0] += lanes::load(row + j); },
        [&](int64_t j, auto& sums) { sums[0] += row[j]; });
    k = static_cast<float>(sum * inv_n);
  }
  const auto [s, q] = lanes::row_sums<2>(
      n,
      [&](int64_t j, f32x16* acc) {
        const f32x16 d = lanes::load(row + j) - k;
        acc[0] += d;
        acc[1] += d * d;
      },
      [&](int64_t j, auto& sums) {
        const double d = static_cast<double>(row[j]) - k;
        sums[0] += d;
        sums[1] += d * d;
      });
  // A float lane overflowed ((x − k)² beyond 3e38), or the row holds inf/NaN: the double loops
  // give the exact answer or the same NaN.
  if (!std::isfinite(s) || !std::isfinite(q)) return two_pass_moments(row, n, centered);
  const double shift = s * inv_n;
  if (!centered) return {0.0, q * inv_n};
  return {k + shift, std::max(0.0, q * inv_n - shift * shift)};
}

// The two sums of a norm's backward over n elements: {Σ dy·γ·(x − μ), Σ dy·γ}, γ per element;
// gamma == nullptr means γ = 1 (batch norm, whose γ is per channel and applied by the caller).
template <class T>
std::array<double, 2> grad_sums(const T* dy, const T* gamma, const T* x, const MeanSplit<T>& mu,
                                int64_t n) {
  double ds = 0, db = 0;
#pragma omp simd reduction(+ : ds, db)
  for (int64_t j = 0; j < n; ++j) {
    const double dg = gamma ? static_cast<double>(dy[j]) * gamma[j] : static_cast<double>(dy[j]);
    ds += dg * mu.centered(x[j]);
    db += dg;
  }
  return {ds, db};
}

template <bool kGamma>
std::array<double, 2> grad_sums_in_lanes(const float* dy, const float* gamma, const float* x,
                                         const MeanSplit<float>& mu, int64_t n) {
  using lanes::f32x16;
  return lanes::row_sums<2>(
      n,
      [&](int64_t j, f32x16* acc) {
        f32x16 dg = lanes::load(dy + j);
        if constexpr (kGamma) dg *= lanes::load(gamma + j);
        acc[0] += dg * ((lanes::load(x + j) - mu.hi) - mu.lo);
        acc[1] += dg;
      },
      [&](int64_t j, auto& sums) {
        double dg = dy[j];
        if constexpr (kGamma) dg *= gamma[j];
        sums[0] += dg * mu.centered(x[j]);
        sums[1] += dg;
      });
}

template <>
inline std::array<double, 2> grad_sums(const float* dy, const float* gamma, const float* x,
                                       const MeanSplit<float>& mu, int64_t n) {
  return gamma ? grad_sums_in_lanes<true>(dy, gamma, x, mu, n)
               : grad_sums_in_lanes<false>(dy, gamma, x, mu, n);
}

}  // namespace ember::nn::kernels::native
