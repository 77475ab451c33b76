#pragma once
// nn::functional: the normalizations as functions (one fused autograd node per call).
#include <optional>

#include "ember/tensor.h"

namespace ember::nn::functional {

// training: normalize with batch statistics and, when running stats are given, update them
// (running = (1 - momentum)·running + momentum·batch, with the unbiased batch variance).
// !training: normalize with the running statistics (which must then be defined).
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight = {}, const Tensor& bias = {}, bool training = false,
                  double momentum = 0.1, double eps = 1e-5);
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = {},
                  const Tensor& bias = {}, double eps = 1e-5);
Tensor group_norm(const Tensor& x, int64_t num_groups, const Tensor& weight = {},
                  const Tensor& bias = {}, double eps = 1e-5);
// Running stats (when given and use_input_stats) get the batch mean of the per-instance
// statistics, like PyTorch.
Tensor instance_norm(const Tensor& x, const Tensor& running_mean = {},
                     const Tensor& running_var = {}, const Tensor& weight = {},
                     const Tensor& bias = {}, bool use_input_stats = true, double momentum = 0.1,
                     double eps = 1e-5);
Tensor rms_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = {},
                std::optional<double> eps = {});

}  // namespace ember::nn::functional
