// oneDNN's convolution kernels against the native im2col ones, called directly (no dispatch),
// over strides, padding (incl. asymmetric bottom/right), dilation, groups, with and without
// bias, and each subset of requested gradients. The native kernels are themselves pinned to
// PyTorch by tests/test_layers.cpp's golden cases.
#include <gtest/gtest.h>

#include <string>

#include "ember/ember.h"
#include "layers/kernels/dnnl/dnnl_conv.h"

using namespace ember;
namespace kn = ember::nn::kernels;

namespace {

struct ConvCase {
  std::string name;
  int64_t N, C, H, W, O, k, stride, pad, dilation, groups;
};

kn::native::Conv2dGeometry geometry(const ConvCase& c) {
  kn::native::Conv2dGeometry g;
  g.N = c.N, g.C = c.C, g.H = c.H, g.W = c.W, g.O = c.O;
  g.kh = g.kw = c.k;
  g.sh = g.sw = c.stride;
  g.ph = g.pw = c.pad;
  g.dh = g.dw = c.dilation;
  g.groups = c.groups;
  g.OH = (c.H + 2 * c.pad - c.dilation * (c.k - 1) - 1) / c.stride + 1;
  g.OW = (c.W + 2 * c.pad - c.dilation * (c.k - 1) - 1) / c.stride + 1;
  return g;
}

// float32 sums over C·k² (forward, dx) or N·OH·OW (dW, db) terms in different orders.
void expect_close(const Tensor& actual, const Tensor& expected, const std::string& what) {
  ASSERT_EQ(actual.defined(), expected.defined()) << what;
  if (!expected.defined()) return;
  ASSERT_EQ(actual.sizes(), expected.sizes()) << what;
  const double scale = expected.abs().max().item<double>();
  EXPECT_LE(max_abs_diff(actual, expected), 1e-5 * std::max(1.0, scale)) << what;
}

class ConvDnnl : public testing::TestWithParam<ConvCase> {};

TEST_P(ConvDnnl, MatchesNative) {
  const ConvCase& c = GetParam();
  const auto g = geometry(c);
  manual_seed(7);
  const Tensor x = randn({c.N, c.C, c.H, c.W}), w = randn({c.O, c.C / c.groups, c.k, c.k}),
               b = randn({c.O}), dy = randn({c.N, c.O, g.OH, g.OW});
  ASSERT_TRUE(kn::dnnl::supports_conv2d(x, g)) << c.name;
  for (const bool with_bias : {true, false}) {
    const Tensor bias = with_bias ? b : Tensor();
    const std::string tag = c.name + (with_bias ? " (bias)" : "");
    expect_close(kn::dnnl::conv2d_forward(x, w, bias, g), kn::native::conv2d_forward(x, w, bias, g),
                 tag + " y");
    // Each combination of requested gradients, so every primitive variant runs.
    for (int mask = 1; mask < 8; ++mask) {
      const bool need_x = mask & 1, need_w = mask & 2, need_b = with_bias && (mask & 4);
      const auto got = kn::dnnl::conv2d_backward(dy, x, w, g, need_x, need_w, need_b);
      const auto want = kn::native::conv2d_backward(dy, x, w, g, need_x, need_w, need_b);
      const std::string what = tag + " mask " + std::to_string(mask);
      expect_close(got.dx, want.dx, what + " dx");
      expect_close(got.dweight, want.dweight, what + " dweight");
      expect_close(got.dbias, want.dbias, what + " dbias");
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Geometries, ConvDnnl,
    testing::Values(ConvCase{"same_3x3", 4, 16, 14, 14, 32, 3, 1, 1, 1, 1},
                    ConvCase{"one_channel", 2, 1, 9, 9, 8, 3, 1, 1, 1, 1},
                    ConvCase{"stride2_odd", 2, 8, 11, 11, 16, 3, 2, 1, 1, 1},
                    ConvCase{"stride2_uneven_tail", 2, 8, 10, 10, 8, 3, 2, 0, 1, 1},
                    ConvCase{"dilated", 2, 8, 12, 12, 8, 3, 1, 2, 2, 1},
                    ConvCase{"groups", 2, 16, 8, 8, 32, 3, 1, 1, 1, 4},
                    ConvCase{"depthwise", 2, 8, 8, 8, 8, 3, 1, 1, 1, 8},
                    ConvCase{"pointwise", 3, 24, 7, 7, 12, 1, 1, 0, 1, 1},
                    ConvCase{"channels_not_a_block", 2, 10, 9, 9, 6, 5, 1, 2, 1, 1}),
    [](const auto& info) { return info.param.name; });

TEST(ConvDnnl, PrefersOnlyWhereMeasuredFaster) {
  ConvCase first{"first", 64, 1, 28, 28, 32, 3, 1, 1, 1, 1};
  ConvCase second{"second", 64, 32, 14, 14, 64, 3, 1, 1, 1, 1};
  const Tensor x1 = zeros({64, 1, 28, 28}), x2 = zeros({64, 32, 14, 14});
  EXPECT_FALSE(kn::dnnl::prefers_conv2d(x1, geometry(first)));
  EXPECT_TRUE(kn::dnnl::prefers_conv2d(x2, geometry(second)));
  EXPECT_FALSE(kn::dnnl::prefers_conv2d(x2.to(kFloat64), geometry(second)));
}

}  // namespace
