#pragma once
// nn::init: PyTorch's in-place initializers (torch.nn.init), drawing from ember's generator.
// They write into the tensor's existing storage (module handles stay valid) and record no graph.
#include <string>
#include <utility>

#include "ember/tensor.h"

namespace ember::nn::init {

// The recommended gain for a nonlinearity: "linear", "conv2d", "sigmoid", ... → 1, "tanh" → 5/3,
// "relu" → √2, "leaky_relu" → √(2 / (1 + param²)) (param = negative slope, default 0.01),
// "selu" → 3/4.
double calculate_gain(const std::string& nonlinearity, double param = 0.01);
// (fan_in, fan_out) of a weight of at least 2 dims: size(1)·receptive field, size(0)·receptive.
std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& tensor);

Tensor uniform_(Tensor tensor, double a = 0.0, double b = 1.0);
Tensor normal_(Tensor tensor, double mean = 0.0, double std = 1.0);
Tensor constant_(Tensor tensor, double value);
Tensor ones_(Tensor tensor);
Tensor zeros_(Tensor tensor);
Tensor xavier_uniform_(Tensor tensor, double gain = 1.0);
Tensor xavier_normal_(Tensor tensor, double gain = 1.0);
// mode "fan_in" or "fan_out"; `a` is the negative slope used by "leaky_relu".
Tensor kaiming_uniform_(Tensor tensor, double a = 0.0, const std::string& mode = "fan_in",
                        const std::string& nonlinearity = "leaky_relu");
Tensor kaiming_normal_(Tensor tensor, double a = 0.0, const std::string& mode = "fan_in",
                       const std::string& nonlinearity = "leaky_relu");

}  // namespace ember::nn::init
