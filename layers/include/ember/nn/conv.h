#pragma once
// Conv2d: 2-D convolution (cross-correlation, like PyTorch) with stride, padding (sizes or
// "same"/"valid"), dilation, groups and bias.
#include <string>

#include "ember/nn/expanding_array.h"
#include "ember/nn/module.h"
#include "ember/nn/options.h"

namespace ember::nn {

// Conv2d's padding: explicit sizes, or "same" (output as large as the input; stride 1 only) or
// "valid" (no padding), like PyTorch's padding argument.
class Conv2dPadding {
 public:
  Conv2dPadding(int64_t size) : sizes_(size) {}
  Conv2dPadding(std::initializer_list<int64_t> sizes) : sizes_(sizes) {}
  Conv2dPadding(ExpandingArray<2> sizes) : sizes_(sizes) {}
  // A template so a literal 0 is the size 0, not a null pointer.
  template <size_t N>
  Conv2dPadding(const char (&mode)[N]) : Conv2dPadding(std::string(mode)) {}
  Conv2dPadding(const std::string& mode);

  bool is_same() const { return mode_ == "same"; }
  bool is_valid() const { return mode_ == "valid"; }
  // The explicit sizes ((0, 0) for "valid"; meaningless for "same").
  const ExpandingArray<2>& sizes() const { return sizes_; }
  // What PyTorch prints: "(1, 1)", "same", "valid".
  std::string repr() const { return mode_.empty() ? sizes_.tuple_repr() : mode_; }
  // Padding PyTorch leaves out of the repr: (0, 0) given as sizes.
  bool is_zero() const { return mode_.empty() && sizes_.all_equal(0); }

 private:
  ExpandingArray<2> sizes_ = 0;
  std::string mode_;  // "", "same" or "valid"
};

struct Conv2dOptions {
  Conv2dOptions(int64_t in_channels, int64_t out_channels, ExpandingArray<2> kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
  EMBER_ARG(int64_t, in_channels);
  EMBER_ARG(int64_t, out_channels);
  EMBER_ARG(ExpandingArray<2>, kernel_size);
  EMBER_ARG(ExpandingArray<2>, stride) = 1;
  EMBER_ARG(Conv2dPadding, padding) = 0;
  EMBER_ARG(ExpandingArray<2>, dilation) = 1;
  EMBER_ARG(int64_t, groups) = 1;
  EMBER_ARG(bool, bias) = true;
  // Only "zeros" is implemented; the others are rejected by the constructor.
  EMBER_ARG(std::string, padding_mode) = "zeros";
};

// The functional form's options (LibTorch's Conv2dFuncOptions).
struct Conv2dFuncOptions {
  EMBER_ARG(Tensor, bias);
  EMBER_ARG(ExpandingArray<2>, stride) = 1;
  EMBER_ARG(Conv2dPadding, padding) = 0;
  EMBER_ARG(ExpandingArray<2>, dilation) = 1;
  EMBER_ARG(int64_t, groups) = 1;
};

// weight [out, in/groups, kH, kW] and bias [out], both U(-1/√fan_in, 1/√fan_in) with
// fan_in = in/groups·kH·kW (PyTorch's defaults).
class Conv2d : public Module {
 public:
  explicit Conv2d(Conv2dOptions options);
  Conv2d(int64_t in_channels, int64_t out_channels, ExpandingArray<2> kernel_size)
      : Conv2d(Conv2dOptions(in_channels, out_channels, kernel_size)) {}
  // input [N, C, H, W] or unbatched [C, H, W]
  Tensor forward(const Tensor& input) override;
  std::string name() const override { return "Conv2d"; }
  std::string extra_repr() const override;
  void reset_parameters();

  const Conv2dOptions& options() const { return options_; }
  Tensor& weight() { return weight_; }
  Tensor& bias() { return bias_; }

 private:
  Conv2dOptions options_;
  Tensor weight_, bias_;
};

namespace functional {
// One autograd node (im2col + GEMM forward; GEMMs + col2im backward).
Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias = {},
              ExpandingArray<2> stride = 1, Conv2dPadding padding = 0,
              ExpandingArray<2> dilation = 1, int64_t groups = 1);
Tensor conv2d(const Tensor& input, const Tensor& weight, const Conv2dFuncOptions& options);
}  // namespace functional

}  // namespace ember::nn
