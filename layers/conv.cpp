// Conv2d: functional::conv2d (argument checks, geometry, one autograd node around the native
// kernel) and the nn::Conv2d module.
#include "ember/nn/conv.h"

#include <cmath>

#include "ember/autograd/node.h"
#include "ember/nn/init.h"
#include "layers/kernels/conv_kernels.h"
#include "layers/layer_checks.h"
#include "layers/norm_common.h"

namespace ember::nn {

Conv2dPadding::Conv2dPadding(const std::string& mode) : mode_(mode) {
  EMBER_CHECK(mode == "same" || mode == "valid", "Invalid padding string '", mode,
              "', should be one of {'valid', 'same'}");
}

namespace {

using kernels::native::Conv2dGeometry;

// Checks every argument (before anything is computed) and returns the geometry of x4 [N,C,H,W].
Conv2dGeometry conv2d_geometry(const Tensor& x4, const Tensor& weight, const Tensor& bias,
                               const ExpandingArray<2>& stride, const Conv2dPadding& padding,
                               const ExpandingArray<2>& dilation, int64_t groups) {
  EMBER_CHECK(stride[0] > 0 && stride[1] > 0, "non-positive stride is not supported");
  EMBER_CHECK(dilation[0] > 0 && dilation[1] > 0, "dilation should be greater than zero");
  EMBER_CHECK(groups > 0, "non-positive groups is not supported");
  EMBER_CHECK(padding.is_same() || padding.is_valid() ||
                  (padding.sizes()[0] >= 0 && padding.sizes()[1] >= 0),
              "negative padding is not supported");
  EMBER_CHECK(!padding.is_same() || stride.all_equal(1),
              "padding='same' is not supported for strided convolutions");
  const Shape& ws = weight.sizes();
  EMBER_CHECK(ws[0] % groups == 0, "Given groups=", groups, ", expected weight to be divisible by ",
              groups, " at dimension 0, but got weight of size ", shape_str(ws), " instead");
  EMBER_CHECK(x4.size(1) == ws[1] * groups, "Given groups=", groups, ", weight of size ",
              shape_str(ws), ", expected input", shape_str(x4.sizes()), " to have ", ws[1] * groups,
              " channels, but got ", x4.size(1), " channels instead");
  EMBER_CHECK(!bias.defined() || (bias.dim() == 1 && bias.size(0) == ws[0]),
              "Given weight of size ", shape_str(ws), ", expected bias to be 1-dimensional with ",
              ws[0], " elements, but got bias of size ", shape_str(bias.sizes()), " instead");

  Conv2dGeometry g;
  g.N = x4.size(0);
  g.C = x4.size(1);
  g.H = x4.size(2);
  g.W = x4.size(3);
  g.O = ws[0];
  g.kh = ws[2];
  g.kw = ws[3];
  g.sh = stride[0];
  g.sw = stride[1];
  g.dh = dilation[0];
  g.dw = dilation[1];
  g.groups = groups;
  const int64_t ekh = g.dh * (g.kh - 1) + 1, ekw = g.dw * (g.kw - 1) + 1;  // dilated kernel
  if (padding.is_same()) {
    // PyTorch pads d·(k − 1) in total, the odd element at the bottom/right.
    g.ph = (ekh - 1) / 2;
    g.pw = (ekw - 1) / 2;
    g.OH = g.H;
    g.OW = g.W;
    return g;
  }
  if (!padding.is_valid()) {
    g.ph = padding.sizes()[0];
    g.pw = padding.sizes()[1];
  }
  const int64_t ph = g.H + 2 * g.ph, pw = g.W + 2 * g.pw;
  EMBER_CHECK(ph >= ekh && pw >= ekw, "Calculated padded input size per channel: (", ph, " x ", pw,
              "). Kernel size: (", ekh, " x ", ekw,
              "). Kernel size can't be greater than actual input size");
  g.OH = (ph - ekh) / g.sh + 1;
  g.OW = (pw - ekw) / g.sw + 1;
  return g;
}

}  // namespace

namespace functional {

Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias,
              ExpandingArray<2> stride, Conv2dPadding padding, ExpandingArray<2> dilation,
              int64_t groups) {
  detail::check_floating_input(input, "conv2d");
  EMBER_CHECK(weight.defined() && weight.dim() == 4,
              "conv2d: expected a 4-D weight [out_channels, in_channels/groups, kH, kW], but got "
              "weight of size ",
              weight.defined() ? shape_str(weight.sizes()) : "(undefined)");
  EMBER_CHECK(input.dim() == 3 || input.dim() == 4,
              "Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: ",
              shape_str(input.sizes()));
  detail::check_same_type(input, weight, "weight");
  detail::check_same_type(input, bias, "bias");
  const bool batched = input.dim() == 4;
  const Tensor x4 = batched ? input.detach() : input.detach().unsqueeze(0);
  const Conv2dGeometry g = conv2d_geometry(x4, weight, bias, stride, padding, dilation, groups);

  // Contiguous operands for the kernel. When the input already is contiguous these alias it, so
  // saving them still catches an in-place change of the caller's tensor before backward.
  const Tensor xc = x4.contiguous(), wc = weight.detach().contiguous();
  const Tensor bc = bias.defined() ? bias.detach().contiguous() : Tensor();
  Tensor y = kernels::conv2d_forward(xc, wc, bc, g);
  if (!batched) y = y.squeeze(0);

  const bool need_x = input.requires_grad(), need_w = weight.requires_grad(),
             need_b = detail::needs_grad(bias);
  const autograd::SavedTensor saved_x(need_w ? xc : Tensor()), saved_w(need_x ? wc : Tensor());
  return autograd::record_function(
      "ConvolutionBackward0", {input, weight, bias}, y, [=](const Tensor& dy) {
        const char* name = "ConvolutionBackward0";
        const Tensor dy4 = batched ? dy : dy.unsqueeze(0);
        const auto grads = kernels::conv2d_backward(dy4, saved_x.unpack(name), saved_w.unpack(name),
                                                    g, need_x, need_w, need_b);
        return std::vector<Tensor>{need_x && !batched ? grads.dx.squeeze(0) : grads.dx,
                                   grads.dweight, grads.dbias};
      });
}

Tensor conv2d(const Tensor& input, const Tensor& weight, const Conv2dFuncOptions& options) {
  return conv2d(input, weight, options.bias(), options.stride(), options.padding(),
                options.dilation(), options.groups());
}

}  // namespace functional

Conv2d::Conv2d(Conv2dOptions options) : options_(std::move(options)) {
  const auto& o = options_;
  const int64_t in = o.in_channels(), out = o.out_channels(), groups = o.groups();
  EMBER_CHECK(groups > 0, "groups must be a positive integer");
  EMBER_CHECK(in >= 0 && out >= 0,
              "Conv2d: in_channels and out_channels must be non-negative, got ", in, " and ", out);
  EMBER_CHECK(in % groups == 0, "in_channels must be divisible by groups");
  EMBER_CHECK(out % groups == 0, "out_channels must be divisible by groups");
  EMBER_CHECK(o.kernel_size()[0] > 0 && o.kernel_size()[1] > 0,
              "Conv2d: kernel_size must be positive, got ", o.kernel_size().tuple_repr());
  EMBER_CHECK(o.stride()[0] > 0 && o.stride()[1] > 0, "Conv2d: stride must be positive, got ",
              o.stride().tuple_repr());
  EMBER_CHECK(o.dilation()[0] > 0 && o.dilation()[1] > 0, "Conv2d: dilation must be positive, got ",
              o.dilation().tuple_repr());
  EMBER_CHECK(o.padding().is_same() || o.padding().is_valid() ||
                  (o.padding().sizes()[0] >= 0 && o.padding().sizes()[1] >= 0),
              "Conv2d: padding must be non-negative, got ", o.padding().repr());
  EMBER_CHECK(!o.padding().is_same() || o.stride().all_equal(1),
              "padding='same' is not supported for strided convolutions");
  const std::string& mode = o.padding_mode();
  EMBER_CHECK(mode == "zeros" || mode == "reflect" || mode == "replicate" || mode == "circular",
              "padding_mode must be one of ['zeros', 'reflect', 'replicate', 'circular'], but got "
              "padding_mode='",
              mode, "'");
  EMBER_CHECK(mode == "zeros", "Conv2d: padding_mode='", mode,
              "' is not implemented in ember (only 'zeros')");
  weight_ = register_parameter("weight",
                               empty({out, in / groups, o.kernel_size()[0], o.kernel_size()[1]}));
  bias_ = register_parameter("bias", o.bias() ? empty({out}) : Tensor());
  reset_parameters();
}

void Conv2d::reset_parameters() {
  // As Linear: kaiming_uniform_(a=√5), i.e. U(-1/√fan_in, 1/√fan_in), and the bias likewise.
  init::kaiming_uniform_(weight_, std::sqrt(5.0));
  if (bias_.defined()) {
    const int64_t fan_in = init::calculate_fan_in_and_fan_out(weight_).first;
    const double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
    init::uniform_(bias_, -bound, bound);
  }
}

std::string Conv2d::extra_repr() const {
  // PyTorch's _ConvNd.extra_repr: defaults other than stride are left out.
  const auto& o = options_;
  std::string s = std::to_string(o.in_channels()) + ", " + std::to_string(o.out_channels()) +
                  ", kernel_size=" + o.kernel_size().tuple_repr() +
                  ", stride=" + o.stride().tuple_repr();
  if (!o.padding().is_zero()) s += ", padding=" + o.padding().repr();
  if (!o.dilation().all_equal(1)) s += ", dilation=" + o.dilation().tuple_repr();
  if (o.groups() != 1) s += ", groups=" + std::to_string(o.groups());
  if (!o.bias()) s += ", bias=False";
  if (o.padding_mode() != "zeros") s += ", padding_mode=" + o.padding_mode();
  return s;
}

Tensor Conv2d::forward(const Tensor& input) {
  const auto& o = options_;
  return functional::conv2d(input, weight_, bias_, o.stride(), o.padding(), o.dilation(),
                            o.groups());
}

}  // namespace ember::nn
