// Activations: GELU (one node, both forms), softmax/log_softmax (one node each), and the modules.
// ReLU, Tanh and Sigmoid are core's differentiable ops.
#include "ember/nn/activation.h"

#include <cmath>
#include <numbers>

#include "core/dispatch.h"
#include "core/parallel.h"
#include "ember/autograd/node.h"
#include "layers/kernels/native/softmax.h"
#include "layers/layer_checks.h"

namespace ember::nn {

namespace {

constexpr int64_t kParallelGrain = 32768;

// GELU and its derivative at x, in double.
//   exact: x·Φ(x), Φ(x) = ½(1 + erf(x/√2)); d/dx = Φ(x) + x·φ(x)
//   tanh:  ½x(1 + tanh u), u = √(2/π)(x + 0.044715x³); d/dx = ½(1 + t) + ½x(1 − t²)·u'
struct Gelu {
  bool tanh_form;
  static constexpr double kAlpha = 0.044715;
  double value(double x) const {
    if (tanh_form) return 0.5 * x * (1.0 + std::tanh(u(x)));
    return 0.5 * x * (1.0 + std::erf(x * std::numbers::sqrt2 / 2.0));
  }
  double derivative(double x) const {
    if (tanh_form) {
      const double t = std::tanh(u(x));
      const double du = kBeta * (1.0 + 3.0 * kAlpha * x * x);
      return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du;
    }
    const double cdf = 0.5 * (1.0 + std::erf(x * std::numbers::sqrt2 / 2.0));
    const double pdf = std::exp(-0.5 * x * x) * std::numbers::inv_sqrtpi / std::numbers::sqrt2;
    return cdf + x * pdf;
  }

 private:
  static constexpr double kBeta = std::numbers::sqrt2 * std::numbers::inv_sqrtpi;  // √(2/π)
  static double u(double x) { return kBeta * (x + kAlpha * x * x * x); }
};

bool is_tanh_form(const std::string& approximate) {
  EMBER_CHECK(approximate == "none" || approximate == "tanh",
              "approximate argument must be either none or tanh, got '", approximate, "'");
  return approximate == "tanh";
}

// dim of a softmax, wrapped; a 0-d tensor counts as 1-d, like PyTorch.
int64_t softmax_dim(const Tensor& x, int64_t dim) {
  return wrap_dim(dim, std::max<int64_t>(x.dim(), 1));
}

Tensor softmax_impl(const Tensor& input, int64_t dim, bool log) {
  detail::check_floating_input(input, log ? "log_softmax" : "softmax");
  const auto layout = kernels::native::softmax_layout(input.sizes(), softmax_dim(input, dim));
  Tensor y = kernels::native::softmax_forward(input.detach().contiguous(), layout, log);
  const char* name = log ? "LogSoftmaxBackward0" : "SoftmaxBackward0";
  const autograd::SavedTensor saved_y(y);
  return autograd::record_function(name, {input}, y, [=](const Tensor& dy) {
    return std::vector<Tensor>{
        kernels::native::softmax_backward(dy, saved_y.unpack(name), layout, log)};
  });
}

}  // namespace

namespace functional {

Tensor relu(const Tensor& input) { return input.relu(); }

Tensor gelu(const Tensor& input, const std::string& approximate) {
  detail::check_floating_input(input, "gelu");
  const Gelu f{is_tanh_form(approximate)};
  const Tensor x = input.detach().contiguous();
  Tensor y = empty(x.sizes(), x.dtype());
  const int64_t n = x.numel();
  ember::detail::dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data_ptr<T>();
    T* py = y.data_ptr<T>();
    ember::detail::parallel_for(n, n >= kParallelGrain,
                                [&](int64_t i) { py[i] = static_cast<T>(f.value(px[i])); });
  });
  const autograd::SavedTensor saved_x(x);
  return autograd::record_function("GeluBackward0", {input}, y, [=](const Tensor& g) {
    const Tensor xs = saved_x.unpack("GeluBackward0"), dy = g.contiguous();
    Tensor dx = empty(xs.sizes(), xs.dtype());
    ember::detail::dispatch_floating(xs.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* px = xs.data_ptr<T>();
      const T* pg = dy.data_ptr<T>();
      T* pd = dx.data_ptr<T>();
      ember::detail::parallel_for(n, n >= kParallelGrain, [&](int64_t i) {
        pd[i] = static_cast<T>(pg[i] * f.derivative(px[i]));
      });
    });
    return std::vector<Tensor>{dx};
  });
}

Tensor softmax(const Tensor& input, int64_t dim) { return softmax_impl(input, dim, false); }
Tensor log_softmax(const Tensor& input, int64_t dim) { return softmax_impl(input, dim, true); }

}  // namespace functional

Tensor ReLU::forward(const Tensor& input) { return input.relu(); }

GELU::GELU(GELUOptions options) : options_(std::move(options)) {
  is_tanh_form(options_.approximate());  // reject a bad value when the module is built
}

std::string GELU::extra_repr() const { return "approximate='" + options_.approximate() + "'"; }

Tensor GELU::forward(const Tensor& input) {
  return functional::gelu(input, options_.approximate());
}

Tensor Tanh::forward(const Tensor& input) { return input.tanh(); }
Tensor Sigmoid::forward(const Tensor& input) { return input.sigmoid(); }
Tensor Softmax::forward(const Tensor& input) { return functional::softmax(input, dim_); }
Tensor LogSoftmax::forward(const Tensor& input) { return functional::log_softmax(input, dim_); }

}  // namespace ember::nn
