#pragma once
// The normalization layers, with PyTorch's options, defaults, parameter/buffer names and reprs.
#include <optional>

#include "ember/nn/module.h"
#include "ember/nn/options.h"

namespace ember::nn {

struct BatchNormOptions {
  BatchNormOptions(int64_t num_features) : num_features_(num_features) {}
  EMBER_ARG(int64_t, num_features);
  EMBER_ARG(double, eps) = 1e-5;
  // nullopt: a cumulative moving average (momentum = 1 / num_batches_tracked).
  EMBER_OPTIONAL_ARG(momentum, true, 0.1);
  EMBER_ARG(bool, affine) = true;
  EMBER_ARG(bool, track_running_stats) = true;
};

struct InstanceNormOptions {
  InstanceNormOptions(int64_t num_features) : num_features_(num_features) {}
  EMBER_ARG(int64_t, num_features);
  EMBER_ARG(double, eps) = 1e-5;
  EMBER_ARG(double, momentum) = 0.1;
  EMBER_ARG(bool, affine) = false;
  EMBER_ARG(bool, track_running_stats) = false;
};

struct LayerNormOptions {
  LayerNormOptions(Shape normalized_shape) : normalized_shape_(std::move(normalized_shape)) {}
  EMBER_ARG(Shape, normalized_shape);
  EMBER_ARG(double, eps) = 1e-5;
  EMBER_ARG(bool, elementwise_affine) = true;
  EMBER_ARG(bool, bias) = true;
};

struct GroupNormOptions {
  GroupNormOptions(int64_t num_groups, int64_t num_channels)
      : num_groups_(num_groups), num_channels_(num_channels) {}
  EMBER_ARG(int64_t, num_groups);
  EMBER_ARG(int64_t, num_channels);
  EMBER_ARG(double, eps) = 1e-5;
  EMBER_ARG(bool, affine) = true;
};

struct RMSNormOptions {
  RMSNormOptions(Shape normalized_shape) : normalized_shape_(std::move(normalized_shape)) {}
  EMBER_ARG(Shape, normalized_shape);
  // nullopt: the machine epsilon of the input's dtype (PyTorch's default).
  EMBER_OPTIONAL_ARG(eps, false, 0.0);
  EMBER_ARG(bool, elementwise_affine) = true;
};

// What BatchNorm and InstanceNorm share (PyTorch's _NormBase): the affine parameters and the
// running statistics, registered under PyTorch's names and in its order.
class NormBase : public Module {
 public:
  Tensor& weight() { return weight_; }
  Tensor& bias() { return bias_; }
  Tensor& running_mean() { return running_mean_; }
  Tensor& running_var() { return running_var_; }
  Tensor& num_batches_tracked() { return num_batches_tracked_; }

 protected:
  NormBase(int64_t num_features, bool affine, bool track_running_stats);
  Tensor weight_, bias_, running_mean_, running_var_, num_batches_tracked_;
};

// BatchNorm1d/2d/3d share everything but the accepted input ranks.
class BatchNormImpl : public NormBase {
 public:
  BatchNormImpl(BatchNormOptions options, int dims);
  Tensor forward(const Tensor& input) override;
  std::string name() const override;
  std::string extra_repr() const override;
  void reset_running_stats();
  void reset_parameters();

  const BatchNormOptions& options() const { return options_; }

 protected:
  std::vector<std::pair<std::string, Tensor>> optional_state() const override;

 private:
  BatchNormOptions options_;
  int dims_;  // 1, 2 or 3
};

class BatchNorm1d : public BatchNormImpl {
 public:
  BatchNorm1d(BatchNormOptions options) : BatchNormImpl(std::move(options), 1) {}
};
class BatchNorm2d : public BatchNormImpl {
 public:
  BatchNorm2d(BatchNormOptions options) : BatchNormImpl(std::move(options), 2) {}
};
class BatchNorm3d : public BatchNormImpl {
 public:
  BatchNorm3d(BatchNormOptions options) : BatchNormImpl(std::move(options), 3) {}
};

class InstanceNormImpl : public NormBase {
 public:
  InstanceNormImpl(InstanceNormOptions options, int dims);
  Tensor forward(const Tensor& input) override;
  std::string name() const override;
  std::string extra_repr() const override;

  const InstanceNormOptions& options() const { return options_; }

 private:
  InstanceNormOptions options_;
  int dims_;
};

class InstanceNorm1d : public InstanceNormImpl {
 public:
  InstanceNorm1d(InstanceNormOptions options) : InstanceNormImpl(std::move(options), 1) {}
};
class InstanceNorm2d : public InstanceNormImpl {
 public:
  InstanceNorm2d(InstanceNormOptions options) : InstanceNormImpl(std::move(options), 2) {}
};
class InstanceNorm3d : public InstanceNormImpl {
 public:
  InstanceNorm3d(InstanceNormOptions options) : InstanceNormImpl(std::move(options), 3) {}
};

class LayerNorm : public Module {
 public:
  LayerNorm(LayerNormOptions options);
  Tensor forward(const Tensor& input) override;
  std::string name() const override { return "LayerNorm"; }
  std::string extra_repr() const override;
  const LayerNormOptions& options() const { return options_; }
  Tensor& weight() { return weight_; }
  Tensor& bias() { return bias_; }

 private:
  LayerNormOptions options_;
  Tensor weight_, bias_;
};

class GroupNorm : public Module {
 public:
  GroupNorm(GroupNormOptions options);
  GroupNorm(int64_t num_groups, int64_t num_channels)
      : GroupNorm(GroupNormOptions(num_groups, num_channels)) {}
  Tensor forward(const Tensor& input) override;
  std::string name() const override { return "GroupNorm"; }
  std::string extra_repr() const override;
  const GroupNormOptions& options() const { return options_; }
  Tensor& weight() { return weight_; }
  Tensor& bias() { return bias_; }

 private:
  GroupNormOptions options_;
  Tensor weight_, bias_;
};

class RMSNorm : public Module {
 public:
  RMSNorm(RMSNormOptions options);
  Tensor forward(const Tensor& input) override;
  std::string name() const override { return "RMSNorm"; }
  std::string extra_repr() const override;
  const RMSNormOptions& options() const { return options_; }
  Tensor& weight() { return weight_; }

 private:
  RMSNormOptions options_;
  Tensor weight_;
};

}  // namespace ember::nn
