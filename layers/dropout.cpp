// Dropout: a Bernoulli(1 − p) mask scaled by 1/(1 − p), applied with core's multiply (one node
// that saves the mask); the identity in eval mode.
#include "ember/nn/dropout.h"

#include "core/dispatch.h"
#include "ember/autograd/node.h"
#include "layers/layer_checks.h"
#include "layers/norm_common.h"

namespace ember::nn {

namespace {

void check_p(double p) {
  EMBER_CHECK(p >= 0.0 && p <= 1.0, "dropout probability has to be between 0 and 1, but got ", p);
}

// Elements kept (U < 1 − p) become 1/(1 − p), dropped ones 0.
Tensor dropout_mask(const Shape& shape, DType dtype, double p) {
  Tensor mask = rand(shape, dtype);
  ember::detail::dispatch_floating(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* m = mask.data_ptr<T>();
    const T keep = static_cast<T>(1.0 - p), scale = static_cast<T>(1.0 / (1.0 - p));
    for (int64_t i = 0; i < mask.numel(); ++i) m[i] = m[i] < keep ? scale : T(0);
  });
  return mask;
}

}  // namespace

namespace functional {

Tensor dropout(const Tensor& input, double p, bool training, bool inplace) {
  check_p(p);
  detail::check_floating_input(input, "dropout");
  if (!training || p == 0.0) return input;
  // p = 1 drops everything; multiplying by zero keeps the graph (and a zero gradient).
  const Tensor mask =
      p == 1.0 ? zeros({}, input.dtype()) : dropout_mask(input.sizes(), input.dtype(), p);
  if (!inplace) return input * mask;
  EMBER_CHECK(!autograd::any_requires_grad({input}),
              "dropout(inplace=true) on a tensor that requires grad: ember does not record "
              "in-place ops in the graph; use inplace=false");
  Tensor out = input;
  out.mul_(mask);
  return out;
}

}  // namespace functional

Dropout::Dropout(DropoutOptions options) : options_(std::move(options)) { check_p(options_.p()); }

std::string Dropout::extra_repr() const {
  return "p=" + py_float(options_.p()) + ", inplace=" + detail::py_bool(options_.inplace());
}

Tensor Dropout::forward(const Tensor& input) {
  return functional::dropout(input, options_.p(), is_training(), options_.inplace());
}

}  // namespace ember::nn
