// Layer normalization and RMS normalization: statistics over the trailing normalized_shape.
#include <limits>

#include "core/dispatch.h"
#include "ember/nn/functional.h"
#include "ember/nn/normalization.h"
#include "layers/norm_common.h"

namespace ember::nn {

namespace {

// Checks x's trailing dims and the parameters' shapes against normalized_shape; returns the
// row layout [R, D].
kernels::RowLayout trailing_rows(const Tensor& x, const Shape& normalized_shape,
                                 const Tensor& weight, const Tensor& bias) {
  const int64_t k = static_cast<int64_t>(normalized_shape.size());
  EMBER_CHECK(k >= 1,
              "Expected normalized_shape to be at least 1-dimensional, i.e., containing "
              "at least one element, but got normalized_shape = []");
  bool match = x.dim() >= k;
  for (int64_t i = 0; match && i < k; ++i) match = x.size(x.dim() - k + i) == normalized_shape[i];
  if (!match) {
    std::string expected = "[*";
    for (int64_t s : normalized_shape) expected += ", " + std::to_string(s);
    throw Error("Given normalized_shape=" + shape_str(normalized_shape) +
                ", expected input with shape " + expected + "], but got input of size" +
                shape_str(x.sizes()));
  }
  for (const auto& [what, t] : {std::pair{"weight", &weight}, std::pair{"bias", &bias}})
    EMBER_CHECK(!t->defined() || t->sizes() == normalized_shape, "Expected ", what,
                " to be of same shape as normalized_shape, but got ", what, " of shape ",
                shape_str(t->sizes()), " and normalized_shape = ", shape_str(normalized_shape));
  detail::check_same_dtype(x, {{"weight", &weight}, {"bias", &bias}});
  kernels::RowLayout layout;
  layout.row_size = 1;
  for (int64_t s : normalized_shape) layout.row_size *= s;
  layout.rows = layout.row_size == 0 ? 0 : x.numel() / layout.row_size;
  return layout;
}

}  // namespace

namespace functional {

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight,
                  const Tensor& bias, double eps) {
  const kernels::RowLayout layout = trailing_rows(x, normalized_shape, weight, bias);
  return detail::row_norm("NativeLayerNormBackward0", x, layout, weight, bias, eps,
                          /*centered=*/true);
}

Tensor rms_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight,
                std::optional<double> eps) {
  const kernels::RowLayout layout = trailing_rows(x, normalized_shape, weight, Tensor());
  // PyTorch's default eps is the machine epsilon of the input's dtype.
  const double e = eps.value_or(ember::detail::dispatch_floating(x.dtype(), [](auto tag) {
    return static_cast<double>(std::numeric_limits<decltype(tag)>::epsilon());
  }));
  return detail::row_norm("RmsNormBackward0", x, layout, weight, Tensor(), e, /*centered=*/false);
}

}  // namespace functional

LayerNorm::LayerNorm(LayerNormOptions options) : options_(std::move(options)) {
  const Shape& shape = options_.normalized_shape();
  const bool affine = options_.elementwise_affine();
  weight_ = register_parameter("weight", affine ? ones(shape) : Tensor());
  bias_ = register_parameter("bias", affine && options_.bias() ? zeros(shape) : Tensor());
}

Tensor LayerNorm::forward(const Tensor& input) {
  return functional::layer_norm(input, options_.normalized_shape(), weight_, bias_, options_.eps());
}

std::string LayerNorm::extra_repr() const {
  return py_tuple(options_.normalized_shape()) + ", eps=" + py_float(options_.eps()) +
         ", elementwise_affine=" + detail::py_bool(options_.elementwise_affine());
}

RMSNorm::RMSNorm(RMSNormOptions options) : options_(std::move(options)) {
  weight_ = register_parameter(
      "weight", options_.elementwise_affine() ? ones(options_.normalized_shape()) : Tensor());
}

Tensor RMSNorm::forward(const Tensor& input) {
  return functional::rms_norm(input, options_.normalized_shape(), weight_, options_.eps());
}

std::string RMSNorm::extra_repr() const {
  return py_tuple(options_.normalized_shape()) +
         ", eps=" + (options_.eps() ? py_float(*options_.eps()) : "None") +
         ", elementwise_affine=" + detail::py_bool(options_.elementwise_affine());
}

}  // namespace ember::nn
