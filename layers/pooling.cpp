// Pooling: argument checks and output sizes (PyTorch's pool2d_shape_check and
// pooling_output_shape), one autograd node per call around the native kernels, and the modules.
#include "ember/nn/pooling.h"

#include "ember/autograd/node.h"
#include "layers/kernels/native/pool2d.h"
#include "layers/layer_checks.h"
#include "layers/norm_common.h"

namespace ember::nn {

namespace {

using kernels::native::Pool2dGeometry;

// Floor division (rounds toward −∞, unlike C++'s /).
int64_t div_floor(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

int64_t pooled_size(int64_t in, int64_t k, int64_t pad, int64_t stride, int64_t dilation,
                    bool ceil_mode) {
  int64_t out =
      div_floor(in + 2 * pad - dilation * (k - 1) - 1 + (ceil_mode ? stride - 1 : 0), stride) + 1;
  // In ceil mode the last window must start inside the input or its left padding.
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out;
}

void check_pool_input(const Tensor& x, const char* op) {
  detail::check_floating_input(x, op);
  const int64_t d = x.dim();
  const bool ok = (d == 3 && x.size(0) != 0 && x.size(1) != 0 && x.size(2) != 0) ||
                  (d == 4 && x.size(1) != 0 && x.size(2) != 0 && x.size(3) != 0);
  EMBER_CHECK(ok, op,
              ": Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, "
              "but got: ",
              shape_str(x.sizes()));
}

// The geometry of a max/avg pool over the last two dims of x (3-D or 4-D, already checked).
Pool2dGeometry pool_geometry(const Tensor& x, const ExpandingArray<2>& k,
                             const ExpandingArray<2>& s, const ExpandingArray<2>& p,
                             const ExpandingArray<2>& d, bool ceil_mode) {
  EMBER_CHECK(k[0] > 0 && k[1] > 0, "kernel size should be greater than zero, but got kH: ", k[0],
              " kW: ", k[1]);
  EMBER_CHECK(s[0] > 0 && s[1] > 0, "stride should be greater than zero, but got dH: ", s[0],
              " dW: ", s[1]);
  EMBER_CHECK(d[0] > 0 && d[1] > 0,
              "dilation should be greater than zero, but got dilationH: ", d[0],
              " dilationW: ", d[1]);
  EMBER_CHECK(p[0] >= 0 && p[1] >= 0 && p[0] <= k[0] / 2 && p[1] <= k[1] / 2,
              "pad should be at most half of kernel size, but got pad=", p.repr(),
              " and kernel_size=", k.repr());
  Pool2dGeometry g;
  const int64_t nd = x.dim();
  g.H = x.size(nd - 2);
  g.W = x.size(nd - 1);
  g.planes = x.numel() / (g.H * g.W);
  g.kh = k[0];
  g.kw = k[1];
  g.sh = s[0];
  g.sw = s[1];
  g.ph = p[0];
  g.pw = p[1];
  g.dh = d[0];
  g.dw = d[1];
  g.OH = pooled_size(g.H, g.kh, g.ph, g.sh, g.dh, ceil_mode);
  g.OW = pooled_size(g.W, g.kw, g.pw, g.sw, g.dw, ceil_mode);
  EMBER_CHECK(g.OH >= 1 && g.OW >= 1, "Given input size: (", x.size(nd - 3), "x", g.H, "x", g.W,
              "). Calculated output size: (", x.size(nd - 3), "x", g.OH, "x", g.OW,
              "). Output size is too small");
  return g;
}

Shape pooled_shape(const Tensor& x, const Pool2dGeometry& g) {
  Shape out = x.sizes();
  out[out.size() - 2] = g.OH;
  out[out.size() - 1] = g.OW;
  return out;
}

}  // namespace

namespace functional {

Tensor max_pool2d(const Tensor& input, const MaxPool2dOptions& o) {
  check_pool_input(input, "max_pool2d");
  const Pool2dGeometry g =
      pool_geometry(input, o.kernel_size(), o.stride(), o.padding(), o.dilation(), o.ceil_mode());
  auto f = kernels::native::max_pool2d_forward(input.detach().contiguous(), g);
  const Tensor indices = f.indices;
  const Shape in_shape = input.sizes();
  return autograd::record_function(
      "MaxPool2DWithIndicesBackward0", {input}, f.y.view(pooled_shape(input, g)),
      [=](const Tensor& dy) {
        return std::vector<Tensor>{
            kernels::native::max_pool2d_backward(dy, indices, g).view(in_shape)};
      });
}

Tensor max_pool2d(const Tensor& input, ExpandingArray<2> kernel_size,
                  std::optional<ExpandingArray<2>> stride, ExpandingArray<2> padding,
                  ExpandingArray<2> dilation, bool ceil_mode) {
  return max_pool2d(input, MaxPool2dOptions(kernel_size)
                               .stride(stride.value_or(kernel_size))
                               .padding(padding)
                               .dilation(dilation)
                               .ceil_mode(ceil_mode));
}

Tensor avg_pool2d(const Tensor& input, const AvgPool2dOptions& o) {
  check_pool_input(input, "avg_pool2d");
  const int64_t divisor = o.divisor_override().value_or(0);
  EMBER_CHECK(!o.divisor_override() || divisor != 0, "divisor must be not zero");
  const Pool2dGeometry g =
      pool_geometry(input, o.kernel_size(), o.stride(), o.padding(), 1, o.ceil_mode());
  const bool include_pad = o.count_include_pad();
  Tensor y =
      kernels::native::avg_pool2d_forward(input.detach().contiguous(), g, include_pad, divisor);
  const Shape in_shape = input.sizes();
  return autograd::record_function(
      "AvgPool2DBackward0", {input}, y.view(pooled_shape(input, g)), [=](const Tensor& dy) {
        return std::vector<Tensor>{
            kernels::native::avg_pool2d_backward(dy, g, include_pad, divisor).view(in_shape)};
      });
}

Tensor avg_pool2d(const Tensor& input, ExpandingArray<2> kernel_size,
                  std::optional<ExpandingArray<2>> stride, ExpandingArray<2> padding,
                  bool ceil_mode, bool count_include_pad, std::optional<int64_t> divisor_override) {
  return avg_pool2d(input, AvgPool2dOptions(kernel_size)
                               .stride(stride.value_or(kernel_size))
                               .padding(padding)
                               .ceil_mode(ceil_mode)
                               .count_include_pad(count_include_pad)
                               .divisor_override(divisor_override));
}

Tensor adaptive_avg_pool2d(const Tensor& input, ExpandingArray<2> output_size) {
  detail::check_floating_input(input, "adaptive_avg_pool2d");
  EMBER_CHECK(input.dim() == 3 || input.dim() == 4,
              "adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got ",
              shape_str(input.sizes()));
  for (int64_t d = 1; d < input.dim(); ++d)
    EMBER_CHECK(input.size(d) > 0,
                "adaptive_avg_pool2d(): Expected input to have non-zero size for non-batch "
                "dimensions, but input has sizes ",
                shape_str(input.sizes()), " with dimension ", d, " being empty");
  EMBER_CHECK(output_size[0] >= 0 && output_size[1] >= 0,
              "adaptive_avg_pool2d: elements of output_size must be greater than or equal to 0 "
              "but received ",
              output_size.tuple_repr());
  Pool2dGeometry g;
  const int64_t nd = input.dim();
  g.H = input.size(nd - 2);
  g.W = input.size(nd - 1);
  g.planes = input.numel() / (g.H * g.W);
  g.OH = output_size[0];
  g.OW = output_size[1];
  Tensor y = kernels::native::adaptive_avg_pool2d_forward(input.detach().contiguous(), g);
  const Shape in_shape = input.sizes();
  return autograd::record_function(
      "AdaptiveAvgPool2DBackward0", {input}, y.view(pooled_shape(input, g)), [=](const Tensor& dy) {
        return std::vector<Tensor>{
            kernels::native::adaptive_avg_pool2d_backward(dy, g).view(in_shape)};
      });
}

}  // namespace functional

// Like PyTorch's, the modules store their options as given; the functional call checks them.
MaxPool2d::MaxPool2d(MaxPool2dOptions options) : options_(std::move(options)) {}

std::string MaxPool2d::extra_repr() const {
  const auto& o = options_;
  return "kernel_size=" + o.kernel_size().repr() + ", stride=" + o.stride().repr() +
         ", padding=" + o.padding().repr() + ", dilation=" + o.dilation().repr() +
         ", ceil_mode=" + detail::py_bool(o.ceil_mode());
}

Tensor MaxPool2d::forward(const Tensor& input) { return functional::max_pool2d(input, options_); }

AvgPool2d::AvgPool2d(AvgPool2dOptions options) : options_(std::move(options)) {}

std::string AvgPool2d::extra_repr() const {
  const auto& o = options_;
  return "kernel_size=" + o.kernel_size().repr() + ", stride=" + o.stride().repr() +
         ", padding=" + o.padding().repr();
}

Tensor AvgPool2d::forward(const Tensor& input) { return functional::avg_pool2d(input, options_); }

std::string AdaptiveAvgPool2d::extra_repr() const {
  return "output_size=" + options_.output_size().repr();
}

Tensor AdaptiveAvgPool2d::forward(const Tensor& input) {
  return functional::adaptive_avg_pool2d(input, options_.output_size());
}

}  // namespace ember::nn
