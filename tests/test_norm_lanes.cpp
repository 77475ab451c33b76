// The native float32 kernels sum in float lanes (layers/kernels/native/float_lanes.h: 64-element
// steps, 16-element steps, a scalar tail, a flush to double every 512 elements). Here LayerNorm
// and RMSNorm rows (plus dγ/dβ row blocks of 32) and BatchNorm planes (forward statistics of
// 2048+ element planes merged across the batch; backward sums of any plane) of every length
// those loops split differently run forward and backward against the formulas evaluated here in
// double on the same float inputs. Golden fixtures cover PyTorch's semantics;
// this covers the kernels' loop splits, which the fixture shapes hit only in part.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "ember/ember.h"
#include "tests/nn_test_util.h"

namespace ember {
namespace {

using test_util::BackendScope;
using test_util::values;

constexpr double kEps = 1e-5;

struct Expected {
  std::vector<double> y, dx, dweight, dbias;
};

// y = (x − μ)·rstd·γ + β per row; backward with ĝ = dy·γ:
// dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)), dγ = Σ_rows dy·x̂, dβ = Σ_rows dy.
// RMS norm (centered = false): μ = 0 and no mean(ĝ) term. The backward starts from μ and rstd
// rounded to float32, as the forward saves them (PyTorch too): with μ = 300, that rounding moves
// x̂ by up to ulp(300)/2·rstd = 1.5e-5, more than the kernels' own error.
Expected reference(const std::vector<double>& x, const std::vector<double>& dy,
                   const std::vector<double>& w, const std::vector<double>& b, int64_t R, int64_t D,
                   bool centered) {
  Expected e{std::vector<double>(R * D), std::vector<double>(R * D), std::vector<double>(D, 0.0),
             std::vector<double>(D, 0.0)};
  for (int64_t r = 0; r < R; ++r) {
    const double* xr = x.data() + r * D;
    const double* dyr = dy.data() + r * D;
    double mean = 0, m2 = 0;
    if (centered) {
      for (int64_t j = 0; j < D; ++j) mean += xr[j];
      mean /= D;
    }
    for (int64_t j = 0; j < D; ++j) m2 += (xr[j] - mean) * (xr[j] - mean);
    const double rstd = 1.0 / std::sqrt(m2 / D + kEps);
    for (int64_t j = 0; j < D; ++j) e.y[r * D + j] = (xr[j] - mean) * rstd * w[j] + b[j];
    const double saved_mean = static_cast<float>(mean), saved_rstd = static_cast<float>(rstd);
    double mean_g = 0, mean_gx = 0;
    for (int64_t j = 0; j < D; ++j) {
      const double xhat = (xr[j] - saved_mean) * saved_rstd, g = dyr[j] * w[j];
      e.dweight[j] += dyr[j] * xhat;
      e.dbias[j] += dyr[j];
      mean_g += g / D;
      mean_gx += g * xhat / D;
    }
    for (int64_t j = 0; j < D; ++j) {
      const double xhat = (xr[j] - saved_mean) * saved_rstd;
      e.dx[r * D + j] = saved_rstd * (dyr[j] * w[j] - (centered ? mean_g : 0.0) - xhat * mean_gx);
    }
  }
  return e;
}

// Largest |a − e| / (1 + |e|).
double worst_error(const std::vector<double>& actual, const std::vector<double>& expected) {
  EXPECT_EQ(actual.size(), expected.size());
  double worst = 0;
  for (size_t i = 0; i < actual.size() && i < expected.size(); ++i) {
    const double err = std::abs(actual[i] - expected[i]) / (1.0 + std::abs(expected[i]));
    worst = std::isnan(err) ? INFINITY : std::max(worst, err);
  }
  return worst;
}

// Runs one [R, D] row norm forward and backward on float32 data `offset` away from zero.
void check_rows(int64_t R, int64_t D, bool centered, float offset) {
  SCOPED_TRACE("R = " + std::to_string(R) + ", D = " + std::to_string(D) +
               (centered ? ", LayerNorm" : ", RMSNorm") + ", offset " + std::to_string(offset));
  manual_seed(static_cast<uint64_t>(R * 1000 + D));
  Tensor x = (randn({R, D}) + offset).detach().requires_grad_();
  const Tensor dy = randn({R, D});
  const Tensor w = randn({D}) * 0.5 + 1.0, b = randn({D});
  Tensor y;
  if (centered) {
    nn::LayerNorm ln(nn::LayerNormOptions({D}).eps(kEps));
    ln.weight().detach().copy_(w);
    ln.bias().detach().copy_(b);
    y = ln(x);
    y.backward(dy);
    const Expected e = reference(values(x), values(dy), values(w), values(b), R, D, true);
    EXPECT_LE(worst_error(values(ln.weight().grad()), e.dweight), 1e-5);
    EXPECT_LE(worst_error(values(ln.bias().grad()), e.dbias), 1e-5);
    EXPECT_LE(worst_error(values(y), e.y), 1e-5);
    EXPECT_LE(worst_error(values(x.grad()), e.dx), 1e-5);
  } else {
    nn::RMSNorm rms(nn::RMSNormOptions({D}).eps(kEps));
    rms.weight().detach().copy_(w);
    y = rms(x);
    y.backward(dy);
    const Expected e =
        reference(values(x), values(dy), values(w), std::vector<double>(D, 0.0), R, D, false);
    EXPECT_LE(worst_error(values(rms.weight().grad()), e.dweight), 1e-5);
    EXPECT_LE(worst_error(values(y), e.y), 1e-5);
    EXPECT_LE(worst_error(values(x.grad()), e.dx), 1e-5);
  }
}

TEST(NormLanes, LayerNormRowsOfEveryLoopSplit) {
  BackendScope scope(nn::NormBackend::Native);
  // Tails of 0-63 elements after 64-steps, lengths across the 512-element flush, and 1, 9, 40
  // rows (blocks of 32 rows for dγ/dβ: none full, none full, one full plus eight).
  // (No D = 1: its dx = rstd·(ĝ − ĝ) cancels terms of size ĝ/sqrt(eps) in float32.)
  for (int64_t D : {2, 5, 15, 16, 17, 63, 64, 65, 100, 511, 512, 513, 777, 1600}) {
    for (int64_t R : {1, 9, 40}) {
      check_rows(R, D, true, 0.0f);
      check_rows(R, D, true, 300.0f);  // mean ≫ σ: the shifted sums must not cancel
      check_rows(R, D, false, 0.5f);
    }
  }
}

TEST(NormLanes, LayerNormHugeValuesFallBackToDouble) {
  // (x − μ)² = 1e40 overflows float32 lanes; the row is redone in double: y = ±1 exactly, as
  // torch.nn.functional.layer_norm gives for float64 input (float32 PyTorch returns NaN here).
  BackendScope scope(nn::NormBackend::Native);
  const std::vector<float> x = {1e20f, -1e20f, 1e20f, -1e20f, 1e20f, -1e20f, 1e20f, -1e20f};
  nn::LayerNorm ln(Shape{8});
  const std::vector<double> y = values(ln(tensor(x, {1, 8})));
  for (size_t j = 0; j < y.size(); ++j) EXPECT_NEAR(y[j], j % 2 == 0 ? 1.0 : -1.0, 1e-6);
}

// BatchNorm over [N, C, S] planes: per channel μ, σ² over (N, S); dx = γ·rstd·(dy − mean(dy) −
// x̂·mean(dy·x̂)), dγ = Σ dy·x̂, dβ = Σ dy, the backward from the float32-rounded μ and rstd.
Expected batch_norm_reference(const std::vector<double>& x, const std::vector<double>& dy,
                              const std::vector<double>& w, const std::vector<double>& b, int64_t N,
                              int64_t C, int64_t S) {
  Expected e{std::vector<double>(x.size()), std::vector<double>(x.size()),
             std::vector<double>(C, 0.0), std::vector<double>(C, 0.0)};
  const double M = static_cast<double>(N * S);
  const auto at = [&](int64_t n, int64_t c, int64_t s) { return (n * C + c) * S + s; };
  for (int64_t c = 0; c < C; ++c) {
    double mean = 0, m2 = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t s = 0; s < S; ++s) mean += x[at(n, c, s)] / M;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t s = 0; s < S; ++s) m2 += std::pow(x[at(n, c, s)] - mean, 2);
    const double rstd = 1.0 / std::sqrt(m2 / M + kEps);
    const double saved_mean = static_cast<float>(mean), saved_rstd = static_cast<float>(rstd);
    double mean_dy = 0, mean_dyx = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t s = 0; s < S; ++s) {
        const int64_t i = at(n, c, s);
        e.y[i] = (x[i] - mean) * rstd * w[c] + b[c];
        const double xhat = (x[i] - saved_mean) * saved_rstd;
        e.dweight[c] += dy[i] * xhat;
        e.dbias[c] += dy[i];
        mean_dy += dy[i] / M;
        mean_dyx += dy[i] * xhat / M;
      }
    for (int64_t n = 0; n < N; ++n)
      for (int64_t s = 0; s < S; ++s) {
        const int64_t i = at(n, c, s);
        const double xhat = (x[i] - saved_mean) * saved_rstd;
        e.dx[i] = w[c] * saved_rstd * (dy[i] - mean_dy - xhat * mean_dyx);
      }
  }
  return e;
}

TEST(NormLanes, BatchNormPlanesOfEveryLoopSplit) {
  BackendScope scope(nn::NormBackend::Native);
  const int64_t C = 3;
  for (int64_t S : {1, 3, 16, 17, 64, 100, 513, 2053, 3136}) {
    for (int64_t N : {2, 9}) {
      // Planes whose means differ (the merge across the batch must add their spread), and a
      // first value far out (a shift by the first value would cancel).
      for (bool outlier : {false, true}) {
        SCOPED_TRACE("N = " + std::to_string(N) + ", S = " + std::to_string(S) +
                     (outlier ? ", outlier first" : ""));
        manual_seed(static_cast<uint64_t>(N * 10000 + S));
        std::vector<float> xv = randn({N, C, S}).to_vector<float>();
        for (int64_t i = 0; i < N * C * S; ++i) xv[i] += 40.0f * static_cast<float>(i / (C * S));
        if (outlier)
          for (int64_t c = 0; c < C; ++c) xv[c * S] = 5000.0f;
        Tensor x = tensor(xv, {N, C, S}).requires_grad_();
        const Tensor dy = randn({N, C, S});
        const Tensor w = randn({C}) * 0.5 + 1.0, b = randn({C});
        nn::BatchNorm1d bn(C);
        bn.weight().detach().copy_(w);
        bn.bias().detach().copy_(b);
        const Tensor y = bn(x);
        y.backward(dy);
        const Expected e =
            batch_norm_reference(values(x), values(dy), values(w), values(b), N, C, S);
        EXPECT_LE(worst_error(values(y), e.y), 1e-5);
        EXPECT_LE(worst_error(values(x.grad()), e.dx), 1e-5);
        EXPECT_LE(worst_error(values(bn.weight().grad()), e.dweight), 1e-5);
        EXPECT_LE(worst_error(values(bn.bias().grad()), e.dbias), 1e-5);
      }
    }
  }
}

}  // namespace
}  // namespace ember
