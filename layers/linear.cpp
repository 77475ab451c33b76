// Linear: functional::linear (one node: a GEMM forward, two GEMMs and a column sum backward) and
// the nn::Linear module.
#include "ember/nn/linear.h"

#include <cmath>

#include "core/kernels/linalg.h"
#include "ember/autograd/node.h"
#include "ember/nn/init.h"
#include "layers/layer_checks.h"
#include "layers/norm_common.h"

namespace ember::nn {

namespace functional {

Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias) {
  detail::check_floating_input(input, "linear");
  EMBER_CHECK(weight.defined() && weight.dim() == 2,
              "linear: expected a 2-D weight [out_features, in_features], but got weight of size ",
              weight.defined() ? shape_str(weight.sizes()) : "(undefined)");
  EMBER_CHECK(input.dim() >= 1, "both arguments to linear need to be at least 1D, but they are ",
              input.dim(), "D and ", weight.dim(), "D");
  detail::check_same_type(input, weight, "weight");
  detail::check_same_type(input, bias, "bias");
  const int64_t in = weight.size(1), out = weight.size(0), k = input.size(-1);
  const int64_t rows = k == 0 ? 0 : input.numel() / k;
  EMBER_CHECK(k == in, "mat1 and mat2 shapes cannot be multiplied (", input.dim() == 1 ? 1 : rows,
              "x", k, " and ", in, "x", out, ")");
  EMBER_CHECK(!bias.defined() || (bias.dim() == 1 && bias.size(0) == out),
              "linear: expected bias to be 1-dimensional with ", out,
              " elements (out_features), but got bias of size ", shape_str(bias.sizes()));

  Shape out_shape = input.sizes();
  out_shape.back() = out;
  // All leading dims are one batch of rows: one GEMM however many dims the input has.
  const Tensor x2 = input.detach().reshape({rows, in});
  const Tensor w = weight.detach();
  Tensor y2 = ember::kernels::mm(x2, false, w, true);  // x·Wᵀ, W read transposed in place
  if (bias.defined()) y2.add_(bias.detach());
  Tensor y = y2.view(out_shape);

  const bool need_x = input.requires_grad(), need_w = weight.requires_grad(),
             need_b = detail::needs_grad(bias);
  const autograd::SavedTensor saved_x(need_w ? input : Tensor()),
      saved_w(need_x ? weight : Tensor());
  const Shape x_shape = input.sizes();
  return autograd::record_function(
      "AddmmBackward0", {input, weight, bias}, y, [=](const Tensor& g) {
        const Tensor g2 = g.contiguous().reshape({rows, out});
        std::vector<Tensor> grads(3);
        // dx = dy·W, dW = dyᵀ·x, db = Σ_rows dy
        if (need_x)
          grads[0] = ember::kernels::mm(g2, saved_w.unpack("AddmmBackward0")).view(x_shape);
        if (need_w)
          grads[1] = ember::kernels::mm(
              g2, true, saved_x.unpack("AddmmBackward0").reshape({rows, in}), false);
        if (need_b) grads[2] = g2.sum({0});
        return grads;
      });
}

}  // namespace functional

Linear::Linear(LinearOptions options) : options_(std::move(options)) {
  const int64_t in = options_.in_features(), out = options_.out_features();
  EMBER_CHECK(in >= 0 && out >= 0,
              "Linear: in_features and out_features must be non-negative, got ", in, " and ", out);
  weight_ = register_parameter("weight", empty({out, in}));
  bias_ = register_parameter("bias", options_.bias() ? empty({out}) : Tensor());
  reset_parameters();
}

void Linear::reset_parameters() {
  // PyTorch's defaults: kaiming_uniform_(a=√5) is U(-1/√fan_in, 1/√fan_in); the bias uses the
  // same bound.
  init::kaiming_uniform_(weight_, std::sqrt(5.0));
  if (bias_.defined()) {
    const int64_t fan_in = options_.in_features();
    const double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
    init::uniform_(bias_, -bound, bound);
  }
}

std::string Linear::extra_repr() const {
  return "in_features=" + std::to_string(options_.in_features()) +
         ", out_features=" + std::to_string(options_.out_features()) +
         ", bias=" + detail::py_bool(options_.bias());
}

Tensor Linear::forward(const Tensor& input) { return functional::linear(input, weight_, bias_); }

}  // namespace ember::nn
