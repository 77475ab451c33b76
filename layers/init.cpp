// nn::init: torch.nn.init's formulas over ember's generator (the values differ from torch's, the
// distributions do not).
#include "ember/nn/init.h"

#include <cmath>

#include "ember/autograd/grad_mode.h"
#include "ember/runtime.h"

namespace ember::nn::init {

namespace {

// Overwrites t's values with `values` (same shape), in place: handles held by modules and
// optimizers keep pointing at the new values.
Tensor assign(Tensor t, const Tensor& values) {
  NoGradGuard no_grad;
  t.copy_(values);
  return t;
}

void check_floating(const Tensor& t, const char* fn) {
  EMBER_CHECK(t.defined(), "nn::init::", fn, ": the tensor is undefined");
  EMBER_CHECK(is_floating(t.dtype()), "nn::init::", fn, ": expected a floating point tensor, got ",
              t.dtype());
}

int64_t fan_for(const Tensor& t, const std::string& mode) {
  EMBER_CHECK(mode == "fan_in" || mode == "fan_out", "Mode ", mode,
              " not supported, please use one of fan_in, fan_out");
  const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  return mode == "fan_in" ? fan_in : fan_out;
}

}  // namespace

double calculate_gain(const std::string& nonlinearity, double param) {
  if (nonlinearity == "linear" || nonlinearity == "conv1d" || nonlinearity == "conv2d" ||
      nonlinearity == "conv3d" || nonlinearity == "conv_transpose1d" ||
      nonlinearity == "conv_transpose2d" || nonlinearity == "conv_transpose3d" ||
      nonlinearity == "sigmoid")
    return 1.0;
  if (nonlinearity == "tanh") return 5.0 / 3.0;
  if (nonlinearity == "relu") return std::sqrt(2.0);
  if (nonlinearity == "leaky_relu") return std::sqrt(2.0 / (1.0 + param * param));
  if (nonlinearity == "selu") return 3.0 / 4.0;
  throw Error("Unsupported nonlinearity " + nonlinearity);
}

std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& tensor) {
  EMBER_CHECK(tensor.dim() >= 2,
              "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions "
              "(got a tensor of size ",
              shape_str(tensor.sizes()), ")");
  int64_t receptive = 1;
  for (int64_t d = 2; d < tensor.dim(); ++d) receptive *= tensor.size(d);
  return {tensor.size(1) * receptive, tensor.size(0) * receptive};
}

Tensor uniform_(Tensor tensor, double a, double b) {
  check_floating(tensor, "uniform_");
  return assign(tensor, rand(tensor.sizes(), tensor.dtype()) * (b - a) + a);
}

Tensor normal_(Tensor tensor, double mean, double std) {
  check_floating(tensor, "normal_");
  return assign(tensor, randn(tensor.sizes(), tensor.dtype()) * std + mean);
}

Tensor constant_(Tensor tensor, double value) {
  check_floating(tensor, "constant_");
  NoGradGuard no_grad;
  tensor.fill_(value);
  return tensor;
}

Tensor ones_(Tensor tensor) { return constant_(tensor, 1.0); }
Tensor zeros_(Tensor tensor) { return constant_(tensor, 0.0); }

Tensor xavier_uniform_(Tensor tensor, double gain) {
  const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(tensor);
  const double std = gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out));
  const double bound = std::sqrt(3.0) * std;  // U(-b, b) has standard deviation b/√3
  return uniform_(tensor, -bound, bound);
}

Tensor xavier_normal_(Tensor tensor, double gain) {
  const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(tensor);
  return normal_(tensor, 0.0, gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out)));
}

Tensor kaiming_uniform_(Tensor tensor, double a, const std::string& mode,
                        const std::string& nonlinearity) {
  check_floating(tensor, "kaiming_uniform_");
  if (tensor.numel() == 0) {  // PyTorch warns and leaves it alone
    log_warn("Initializing zero-element tensors is a no-op");
    return tensor;
  }
  const double std = calculate_gain(nonlinearity, a) / std::sqrt(fan_for(tensor, mode));
  const double bound = std::sqrt(3.0) * std;
  return uniform_(tensor, -bound, bound);
}

Tensor kaiming_normal_(Tensor tensor, double a, const std::string& mode,
                       const std::string& nonlinearity) {
  check_floating(tensor, "kaiming_normal_");
  if (tensor.numel() == 0) {
    log_warn("Initializing zero-element tensors is a no-op");
    return tensor;
  }
  return normal_(tensor, 0.0, calculate_gain(nonlinearity, a) / std::sqrt(fan_for(tensor, mode)));
}

}  // namespace ember::nn::init
