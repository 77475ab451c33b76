#pragma once
// 2-D pooling: MaxPool2d, AvgPool2d and AdaptiveAvgPool2d on [N, C, H, W] or [C, H, W] inputs,
// with PyTorch's options, output sizes (ceil_mode included) and reprs.
#include <optional>

#include "ember/nn/expanding_array.h"
#include "ember/nn/module.h"
#include "ember/nn/options.h"

namespace ember::nn {

struct MaxPool2dOptions {
  // stride defaults to kernel_size (PyTorch's stride=None).
  MaxPool2dOptions(ExpandingArray<2> kernel_size)
      : kernel_size_(kernel_size), stride_(kernel_size) {}
  EMBER_ARG(ExpandingArray<2>, kernel_size);
  EMBER_ARG(ExpandingArray<2>, stride);
  EMBER_ARG(ExpandingArray<2>, padding) = 0;
  EMBER_ARG(ExpandingArray<2>, dilation) = 1;
  EMBER_ARG(bool, ceil_mode) = false;
};

struct AvgPool2dOptions {
  AvgPool2dOptions(ExpandingArray<2> kernel_size)
      : kernel_size_(kernel_size), stride_(kernel_size) {}
  EMBER_ARG(ExpandingArray<2>, kernel_size);
  EMBER_ARG(ExpandingArray<2>, stride);
  EMBER_ARG(ExpandingArray<2>, padding) = 0;
  EMBER_ARG(bool, ceil_mode) = false;
  EMBER_ARG(bool, count_include_pad) = true;
  // When set (non-zero), every window's sum is divided by this instead of its size.
  EMBER_ARG(std::optional<int64_t>, divisor_override);
};

struct AdaptiveAvgPool2dOptions {
  AdaptiveAvgPool2dOptions(ExpandingArray<2> output_size) : output_size_(output_size) {}
  EMBER_ARG(ExpandingArray<2>, output_size);
};

class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(MaxPool2dOptions options);
  explicit MaxPool2d(ExpandingArray<2> kernel_size) : MaxPool2d(MaxPool2dOptions(kernel_size)) {}
  Tensor forward(const Tensor& input) override;
  std::string name() const override { return "MaxPool2d"; }
  std::string extra_repr() const override;
  const MaxPool2dOptions& options() const { return options_; }

 private:
  MaxPool2dOptions options_;
};

class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(AvgPool2dOptions options);
  explicit AvgPool2d(ExpandingArray<2> kernel_size) : AvgPool2d(AvgPool2dOptions(kernel_size)) {}
  Tensor forward(const Tensor& input) override;
  std::string name() const override { return "AvgPool2d"; }
  std::string extra_repr() const override;
  const AvgPool2dOptions& options() const { return options_; }

 private:
  AvgPool2dOptions options_;
};

class AdaptiveAvgPool2d : public Module {
 public:
  explicit AdaptiveAvgPool2d(AdaptiveAvgPool2dOptions options) : options_(std::move(options)) {}
  explicit AdaptiveAvgPool2d(ExpandingArray<2> output_size)
      : AdaptiveAvgPool2d(AdaptiveAvgPool2dOptions(output_size)) {}
  Tensor forward(const Tensor& input) override;
  std::string name() const override { return "AdaptiveAvgPool2d"; }
  std::string extra_repr() const override;
  const AdaptiveAvgPool2dOptions& options() const { return options_; }

 private:
  AdaptiveAvgPool2dOptions options_;
};

namespace functional {
// Each is one autograd node. max_pool2d saves the argmax of every window for backward; ties go to
// the first maximum in row-major window order, and NaN wins (PyTorch's rules).
Tensor max_pool2d(const Tensor& input, const MaxPool2dOptions& options);
Tensor max_pool2d(const Tensor& input, ExpandingArray<2> kernel_size,
                  std::optional<ExpandingArray<2>> stride = std::nullopt,
                  ExpandingArray<2> padding = 0, ExpandingArray<2> dilation = 1,
                  bool ceil_mode = false);
Tensor avg_pool2d(const Tensor& input, const AvgPool2dOptions& options);
Tensor avg_pool2d(const Tensor& input, ExpandingArray<2> kernel_size,
                  std::optional<ExpandingArray<2>> stride = std::nullopt,
                  ExpandingArray<2> padding = 0, bool ceil_mode = false,
                  bool count_include_pad = true,
                  std::optional<int64_t> divisor_override = std::nullopt);
Tensor adaptive_avg_pool2d(const Tensor& input, ExpandingArray<2> output_size);
}  // namespace functional

}  // namespace ember::nn
