// The oneDNN normalization kernels against the native reference kernels, called directly (no
// dispatch): batch norm over every layout oneDNN reads in place, layer norm rows, the primitive
// cache, numerical stability far from zero, and what oneDNN refuses.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ember/ember.h"
#include "layers/kernels/dnnl/dnnl_norm.h"

using namespace ember;
namespace kn = ember::nn::kernels;

namespace {

constexpr double kEps = 1e-5;

void expect_close(const Tensor& actual, const Tensor& expected, const std::string& what,
                  double rtol = 1e-5, double atol = 1e-5) {
  ASSERT_TRUE(actual.defined()) << what << " missing";
  ASSERT_TRUE(expected.defined()) << what << " missing from the reference";
  EXPECT_EQ(actual.dtype(), kFloat32) << what;
  ASSERT_EQ(actual.sizes(), expected.sizes()) << what;
  EXPECT_TRUE(allclose(actual, expected, rtol, atol))
      << what << ": max |diff| " << max_abs_diff(actual, expected);
}

// oneDNN sums a channel (or a column of rows) in float32, native in double. The rounding of a sum
// grows with Σ|terms|, not with the result, which can cancel to near zero (Σ dy over random dy):
// so dγ and dβ get an absolute tolerance of 1e-6·Σ|terms| (observed ≤ 1.5e-7·Σ|terms|).
double sum_atol(const Tensor& terms, const Shape& dims) {
  return std::max(1e-5, 1e-6 * terms.abs().sum(dims).max().item<double>());
}

// The dims other than 1 (batch norm reduces over all of them).
Shape all_but_channels(int64_t dim) {
  Shape dims = {0};
  for (int64_t d = 2; d < dim; ++d) dims.push_back(d);
  return dims;
}

// [1, C, 1, ...]: per-channel statistics broadcast against x.
Tensor per_channel(const Tensor& stat, int64_t dim) {
  Shape shape(dim, 1);
  shape[1] = stat.numel();
  return stat.view(shape);
}

struct BnCase {
  Shape shape;
  bool channels_last;
};

Tensor make_input(const BnCase& c) {
  Tensor x = randn(c.shape) * 2.0 + 0.5;
  return c.channels_last ? x.contiguous(MemoryFormat::ChannelsLast) : x;
}

std::string describe(const BnCase& c, bool weight, bool bias) {
  std::ostringstream out;
  out << "shape [";
  for (size_t i = 0; i < c.shape.size(); ++i) out << (i ? "," : "") << c.shape[i];
  out << "]" << (c.channels_last ? " channels-last" : "") << (weight ? " +weight" : "")
      << (bias ? " +bias" : "");
  return out.str();
}

const BnCase kBnCases[] = {
    {{8, 16, 5, 7}, false},    // NCHW
    {{8, 16, 5, 7}, true},     // channels-last
    {{4, 32, 14, 14}, true},   // channels-last, C a multiple of the vector width
    {{3, 5, 4, 6}, true},      // channels-last, odd C (vector tails)
    {{64, 24}, false},         // [N, C]
    {{6, 10, 33}, false},      // [N, C, L] (run as (N, C, L, 1))
    {{2, 8, 3, 4, 5}, false},  // 5-D
    {{8, 3, 1, 1}, false},     // H = W = 1: contiguous and channels-last at once
};

}  // namespace

TEST(NormDnnl, BatchNormMatchesNative) {
  manual_seed(7);
  for (const BnCase& c : kBnCases) {
    for (const bool with_weight : {true, false}) {
      for (const bool with_bias : {true, false}) {
        SCOPED_TRACE(describe(c, with_weight, with_bias));
        const Tensor x = make_input(c);
        ASSERT_TRUE(kn::dnnl::supports_batch_norm(x));
        const int64_t C = c.shape[1];
        const Tensor w = with_weight ? randn({C}) : Tensor();
        const Tensor b = with_bias ? randn({C}) : Tensor();

        const auto got = kn::dnnl::batch_norm_train(x, w, b, kEps);
        const auto want = kn::native::batch_norm_train(x, w, b, kEps);
        expect_close(got.y, want.y, "y");
        expect_close(got.mean, want.mean, "mean");
        expect_close(got.rstd, want.rstd, "rstd");
        expect_close(got.var, want.var, "var");
        EXPECT_EQ(got.mean.sizes(), (Shape{C}));
        EXPECT_FALSE(got.y.shares_storage(x));
        EXPECT_EQ(got.y.suggest_memory_format(), x.suggest_memory_format());

        // dy in the other layout than x: the kernel must bring it to x's.
        Tensor dy = randn(c.shape);
        if (!c.channels_last && c.shape.size() == 4) dy = dy.contiguous(MemoryFormat::ChannelsLast);
        const kn::NeedGrads all = {true, true, true};
        const auto g =
            kn::dnnl::batch_norm_backward(dy, x, w, want.mean, want.rstd, true, all, kEps);
        const auto r =
            kn::native::batch_norm_backward(dy, x, w, want.mean, want.rstd, true, all, kEps);
        const int64_t dim = x.dim();
        const Shape dims = all_but_channels(dim);
        const Tensor x_hat = (x - per_channel(want.mean, dim)) * per_channel(want.rstd, dim);
        expect_close(g.dx, r.dx, "dx");
        expect_close(g.dweight, r.dweight, "dweight", 1e-5, sum_atol(dy * x_hat, dims));
        expect_close(g.dbias, r.dbias, "dbias", 1e-5, sum_atol(dy, dims));
        EXPECT_EQ(g.dx.suggest_memory_format(), x.suggest_memory_format());
      }
    }
  }
}

TEST(NormDnnl, BatchNormBackwardComputesOnlyWhatIsNeeded) {
  manual_seed(8);
  const Tensor x = randn({4, 16, 6, 6}).contiguous(MemoryFormat::ChannelsLast);
  const Tensor w = randn({16}), dy = randn({4, 16, 6, 6});
  const auto fwd = kn::native::batch_norm_train(x, w, Tensor(), kEps);
  const auto ref =
      kn::native::batch_norm_backward(dy, x, w, fwd.mean, fwd.rstd, true, {true, true, true}, kEps);

  const auto dx_only =
      kn::dnnl::batch_norm_backward(dy, x, w, fwd.mean, fwd.rstd, true, {true, false, false}, kEps);
  expect_close(dx_only.dx, ref.dx, "dx");
  EXPECT_FALSE(dx_only.dweight.defined());
  EXPECT_FALSE(dx_only.dbias.defined());

  const auto params =
      kn::dnnl::batch_norm_backward(dy, x, w, fwd.mean, fwd.rstd, true, {false, true, true}, kEps);
  EXPECT_FALSE(params.dx.defined());
  expect_close(params.dweight, ref.dweight, "dweight");
  expect_close(params.dbias, ref.dbias, "dbias");

  // Constant statistics (eval mode): dx = dy·γ·rstd.
  const auto eval =
      kn::dnnl::batch_norm_backward(dy, x, w, fwd.mean, fwd.rstd, false, {true, true, true}, kEps);
  const auto eval_ref = kn::native::batch_norm_backward(dy, x, w, fwd.mean, fwd.rstd, false,
                                                        {true, true, true}, kEps);
  expect_close(eval.dx, eval_ref.dx, "eval dx");
  expect_close(eval.dweight, eval_ref.dweight, "eval dweight");
}

TEST(NormDnnl, LayerNormMatchesNative) {
  manual_seed(9);
  struct LnCase {
    Shape shape, normalized;
    double atol = 1e-5;
  };
  const LnCase cases[] = {
      {{32, 768}, {768}},   // transformer rows
      {{13, 7}, {7}},       // odd row size
      {{2, 3, 7}, {7}},     // leading dims flattened into rows
      {{4, 3, 5}, {3, 5}},  // multi-dim normalized_shape: weight [3, 5] flattens to 15
      // D = 1: variance 0, so rstd = 1/sqrt(eps) ≈ 316 and y = x·(γ·rstd) + (β − μ·γ·rstd)
      // cancels float32 terms of ~1e3; both kernels fold it so and round at ~1e-4.
      {{5, 1}, {1}, 1e-3},
      {{3, 1000}, {1000}},  // row size not a multiple of the vector width
  };
  for (const LnCase& c : cases) {
    int64_t D = 1;
    for (int64_t s : c.normalized) D *= s;
    const int64_t numel = [&] {
      int64_t n = 1;
      for (int64_t s : c.shape) n *= s;
      return n;
    }();
    const kn::RowLayout layout{numel / D, D, 1, 1};
    for (const bool with_weight : {true, false}) {
      for (const bool with_bias : {true, false}) {
        SCOPED_TRACE(describe({c.shape, false}, with_weight, with_bias));
        const Tensor x = randn(c.shape) * 3.0 - 1.0;
        ASSERT_TRUE(kn::dnnl::supports_layer_norm(x, layout));
        const Tensor w = with_weight ? randn(c.normalized) : Tensor();
        const Tensor b = with_bias ? randn(c.normalized) : Tensor();

        const auto got = kn::dnnl::layer_norm_forward(x, w, b, layout, kEps);
        const auto want = kn::native::row_norm_forward(x, w, b, layout, kEps, true);
        expect_close(got.y, want.y, "y", 1e-5, c.atol);
        expect_close(got.mean, want.mean, "mean");
        expect_close(got.rstd, want.rstd, "rstd");
        EXPECT_EQ(got.y.sizes(), x.sizes());
        EXPECT_EQ(got.mean.sizes(), (Shape{layout.rows}));

        const Tensor dy = randn(c.shape);
        const kn::NeedGrads all = {true, true, true};
        const auto g =
            kn::dnnl::layer_norm_backward(dy, x, w, want.mean, want.rstd, layout, all, kEps);
        const auto r =
            kn::native::row_norm_backward(dy, x, w, want.mean, want.rstd, layout, true, all, kEps);
        const Tensor rows_dy = dy.reshape({layout.rows, D});
        const Tensor x_hat = (x.reshape({layout.rows, D}) - want.mean.view({layout.rows, 1})) *
                             want.rstd.view({layout.rows, 1});
        expect_close(g.dx, r.dx, "dx", 1e-5, c.atol);
        expect_close(g.dweight, r.dweight, "dweight", 1e-5, sum_atol(rows_dy * x_hat, {0}));
        expect_close(g.dbias, r.dbias, "dbias", 1e-5, sum_atol(rows_dy, {0}));
      }
    }
  }
}

TEST(NormDnnl, SecondCallCreatesNoPrimitive) {
  // A shape no other test uses, so the first call must create its primitives.
  const Tensor x = randn({3, 11, 5, 2}).contiguous(MemoryFormat::ChannelsLast);
  const Tensor w = randn({11}), b = randn({11}), dy = randn({3, 11, 5, 2});
  const kn::RowLayout rows{33, 10, 1, 1};
  const Tensor lw = randn({10}), lb = randn({10});
  auto run = [&] {
    const auto f = kn::dnnl::batch_norm_train(x, w, b, kEps);
    kn::dnnl::batch_norm_backward(dy, x, w, f.mean, f.rstd, true, {true, true, true}, kEps);
    const auto lf = kn::dnnl::layer_norm_forward(x, lw, lb, rows, kEps);
    kn::dnnl::layer_norm_backward(dy, x, lw, lf.mean, lf.rstd, rows, {true, true, true}, kEps);
  };
  const size_t before = kn::dnnl::primitive_cache_size();
  run();
  const size_t after_first = kn::dnnl::primitive_cache_size();
  EXPECT_EQ(after_first, before + 4);
  run();
  run();
  EXPECT_EQ(kn::dnnl::primitive_cache_size(), after_first);
  // Another eps is another primitive; so is another thread count (oneDNN splits work at creation).
  kn::dnnl::batch_norm_train(x, w, b, 1e-3);
  EXPECT_EQ(kn::dnnl::primitive_cache_size(), after_first + 1);
  const int threads = get_num_threads();
  set_num_threads(threads + 1);
  kn::dnnl::batch_norm_train(x, w, b, kEps);
  set_num_threads(threads);
  EXPECT_EQ(kn::dnnl::primitive_cache_size(), after_first + 2);
}

TEST(NormDnnl, CacheIsBounded) {
  // Ever-changing shapes (RNN sequence lengths) evict old primitives instead of piling up.
  const kn::RowLayout first{1, 3, 1, 1};
  const Tensor x = tensor({1, 2, 4}, {1, 3});
  for (int64_t r = 1; r <= 300; ++r)
    kn::dnnl::layer_norm_forward(zeros({r, 3}), Tensor(), Tensor(), {r, 3, 1, 1}, kEps);
  EXPECT_LE(kn::dnnl::primitive_cache_size(), 256u);
  // The evicted first shape is recreated and still right.
  const auto f = kn::dnnl::layer_norm_forward(x, Tensor(), Tensor(), first, kEps);
  expect_close(f.y, kn::native::row_norm_forward(x, Tensor(), Tensor(), first, kEps, true).y, "y");
}

TEST(NormDnnl, ConcurrentCallsAgree) {
  // One cached primitive runs from several threads at once: each execution must bring its own
  // scratchpad (oneDNN's library-managed one is shared and its spin barriers would deadlock).
  manual_seed(10);
  const Tensor x = randn({4, 16, 6, 6}).contiguous(MemoryFormat::ChannelsLast);
  const Tensor w = randn({16}), b = randn({16});
  const Tensor rows = randn({24, 40});
  const kn::RowLayout layout{24, 40, 1, 1};
  const Tensor bn_ref = kn::native::batch_norm_train(x, w, b, kEps).y;
  const Tensor ln_ref =
      kn::native::row_norm_forward(rows, Tensor(), Tensor(), layout, kEps, true).y;
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        if (!allclose(kn::dnnl::batch_norm_train(x, w, b, kEps).y, bn_ref, 1e-5, 1e-5))
          ++mismatches;
        const auto f = kn::dnnl::layer_norm_forward(rows, Tensor(), Tensor(), layout, kEps);
        if (!allclose(f.y, ln_ref, 1e-5, 1e-5)) ++mismatches;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(NormDnnl, StableFarFromZero) {
  // 10000 + 0.25 k: the statistics must not cancel catastrophically (E[x²] − E[x]² would).
  // Each channel / row holds k = 0..7 repeated: mean 10000.875, biased variance 0.328125.
  const double mean = 10000.875, var = 0.328125, rstd = 1.0 / std::sqrt(var + kEps);
  auto ramp = [](int64_t n) {
    std::vector<float> v(n);
    for (int64_t i = 0; i < n; ++i) v[i] = 10000.0f + 0.25f * static_cast<float>(i % 8);
    return v;
  };
  auto expected_y = [&](const Tensor& x) { return ((x.to(kFloat64) - mean) * rstd).to(kFloat32); };
  // y is float32 of values up to ~2.1; the inputs (exact in float32) leave no other error.
  const double tol = 1e-5;

  // Batch norm [2, 3, 4, 8]: k runs along W in every channel; the same values channels-last.
  const Tensor xn = tensor(ramp(2 * 3 * 32), {2, 3, 4, 8});
  for (const Tensor& x : {xn, xn.contiguous(MemoryFormat::ChannelsLast)}) {
    const auto f = kn::dnnl::batch_norm_train(x, Tensor(), Tensor(), kEps);
    expect_close(f.y, expected_y(x), "bn y", 0, tol);
    expect_close(f.mean, full({3}, mean), "bn mean", 0, 1e-3);
    expect_close(f.var, full({3}, var), "bn var", 0, 1e-6);
    expect_close(f.rstd, full({3}, rstd), "bn rstd", 0, 1e-5);
  }
  // Layer norm rows of 64 and 768.
  for (const int64_t D : {64, 768}) {
    const Tensor x = tensor(ramp(4 * D), {4, D});
    const auto f = kn::dnnl::layer_norm_forward(x, Tensor(), Tensor(), {4, D, 1, 1}, kEps);
    expect_close(f.y, expected_y(x), "ln y", 0, tol);
    expect_close(f.mean, full({4}, mean), "ln mean", 0, 1e-3);
    expect_close(f.rstd, full({4}, rstd), "ln rstd", 0, 1e-5);
  }

  // A constant 10000.3 over 1024 values: variance 0, so rstd = 1/sqrt(eps) ≈ 316 magnifies any
  // error in the mean (oneDNN's float32 one is off by ~1e-3 here) — y must be exactly β.
  const Tensor w = tensor({2.0f, 0.5f}, {2}), b = tensor({0.125f, -1.0f}, {2});
  const Tensor flat = full({4, 2, 16, 16}, 10000.3f).contiguous(MemoryFormat::ChannelsLast);
  const auto fb = kn::dnnl::batch_norm_train(flat, w, b, kEps);
  expect_close(fb.y, b.view({1, 2, 1, 1}).expand_as(flat), "bn constant y", 0, 1e-3);
  expect_close(fb.var, zeros({2}), "bn constant var", 0, 1e-6);
  const auto fl = kn::dnnl::layer_norm_forward(full({2, 1024}, 10000.3f), Tensor(),
                                               full({1024}, 0.5), {2, 1024, 1, 1}, kEps);
  expect_close(fl.y, full({2, 1024}, 0.5), "ln constant y", 0, 1e-3);
}

TEST(NormDnnl, RefusesWhatItCannotRunInPlace) {
  EXPECT_FALSE(kn::dnnl::supports_batch_norm(randn({4, 3, 2, 2}, kFloat64)));
  EXPECT_FALSE(kn::dnnl::supports_batch_norm(randn({4})));
  EXPECT_FALSE(kn::dnnl::supports_batch_norm(randn({2, 3, 2, 2, 2, 2})));
  EXPECT_FALSE(kn::dnnl::supports_batch_norm(zeros({0, 3, 2, 2})));
  EXPECT_FALSE(kn::dnnl::supports_batch_norm(randn({4, 3, 5}).transpose(0, 2)));
  EXPECT_TRUE(
      kn::dnnl::supports_batch_norm(randn({4, 3, 5, 5}).contiguous(MemoryFormat::ChannelsLast)));
  EXPECT_THROW(kn::dnnl::batch_norm_train(randn({4, 3}, kFloat64), Tensor(), Tensor(), kEps),
               Error);
  EXPECT_THROW(kn::dnnl::batch_norm_train(randn({4, 3}), randn({4}), Tensor(), kEps), Error);

  const Tensor x = randn({4, 6});
  EXPECT_TRUE(kn::dnnl::supports_layer_norm(x, {4, 6, 1, 1}));
  EXPECT_FALSE(kn::dnnl::supports_layer_norm(x, {4, 6, 2, 1}));  // GroupNorm rows
  EXPECT_FALSE(kn::dnnl::supports_layer_norm(x, {4, 6, 1, 3}));  // spatial inside the row
  EXPECT_FALSE(kn::dnnl::supports_layer_norm(x.to(kFloat64), {4, 6, 1, 1}));
  EXPECT_THROW(kn::dnnl::layer_norm_forward(x, Tensor(), Tensor(), {4, 6, 2, 1}, kEps), Error);
}

TEST(NormDnnl, PrefersWhereMeasuredFaster) {
  const auto cl = [](Shape s) { return zeros(s).contiguous(MemoryFormat::ChannelsLast); };
  // Batch norm: oneDNN's JIT runs channels-last (and [N, C]) with C a multiple of 8.
  EXPECT_TRUE(kn::dnnl::prefers_batch_norm(cl({8, 64, 16, 16})));
  EXPECT_TRUE(kn::dnnl::prefers_batch_norm(zeros({4096, 256})));
  EXPECT_FALSE(kn::dnnl::prefers_batch_norm(zeros({8, 64, 16, 16})));   // nchw: generic kernel
  EXPECT_FALSE(kn::dnnl::prefers_batch_norm(zeros({8, 64, 256})));      // (N, C, L, 1) likewise
  EXPECT_FALSE(kn::dnnl::prefers_batch_norm(zeros({8, 64, 4, 8, 8})));  // ncdhw likewise
  EXPECT_FALSE(kn::dnnl::prefers_batch_norm(cl({8, 10, 32, 32})));      // C % 8: generic kernel
  EXPECT_FALSE(kn::dnnl::prefers_batch_norm(cl({2, 16, 8, 8})));        // too small to pay
  EXPECT_FALSE(kn::dnnl::prefers_batch_norm(zeros({8, 64, 16, 16}, kFloat64)));
  // Layer norm: many short rows (the native kernel wins on rows of 256+).
  EXPECT_FALSE(kn::dnnl::prefers_layer_norm(zeros({4096, 768}), {4096, 768, 1, 1}));
  EXPECT_TRUE(kn::dnnl::prefers_layer_norm(zeros({4096, 64}), {4096, 64, 1, 1}));
  EXPECT_TRUE(kn::dnnl::prefers_layer_norm(zeros({4096, 7}), {4096, 7, 1, 1}));
  EXPECT_FALSE(kn::dnnl::prefers_layer_norm(zeros({8, 768}), {8, 768, 1, 1}));
  EXPECT_FALSE(kn::dnnl::prefers_layer_norm(zeros({4096, 8}), {512, 64, 8, 1}));  // GroupNorm
}
