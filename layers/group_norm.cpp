// Group normalization: statistics per (sample, group of C/G channels), affine per channel.
#include "ember/nn/functional.h"
#include "ember/nn/normalization.h"
#include "layers/norm_common.h"

namespace ember::nn {

namespace functional {

Tensor group_norm(const Tensor& x, int64_t num_groups, const Tensor& weight, const Tensor& bias,
                  double eps) {
  EMBER_CHECK(x.dim() >= 2, "Expected at least 2 dimensions for input tensor but received ",
              x.dim());
  EMBER_CHECK(num_groups > 0, "num_groups must be positive, got ", num_groups);
  const int64_t N = x.size(0), C = x.size(1);
  EMBER_CHECK(C % num_groups == 0,
              "Expected number of channels in input to be divisible by "
              "num_groups, but got input of shape ",
              shape_str(x.sizes()), " and num_groups=", num_groups);
  for (const auto& [what, t] : {std::pair{"weight", &weight}, std::pair{"bias", &bias}})
    EMBER_CHECK(!t->defined() || (t->dim() == 1 && t->numel() == C), "Expected ", what,
                " to be a vector of size equal to the number of channels in input, but got ", what,
                " of shape ", shape_str(t->sizes()), " and input of shape ", shape_str(x.sizes()));
  detail::check_same_dtype(x, {{"weight", &weight}, {"bias", &bias}});
  kernels::RowLayout layout;
  for (int64_t d = 2; d < x.dim(); ++d) layout.spatial *= x.size(d);
  layout.groups = num_groups;
  layout.rows = N * num_groups;
  layout.row_size = (C / num_groups) * layout.spatial;
  if (x.numel() == 0) layout.rows = 0;

  return detail::row_norm("NativeGroupNormBackward0", x, layout, weight, bias, eps, true);
}

}  // namespace functional

GroupNorm::GroupNorm(GroupNormOptions options) : options_(std::move(options)) {
  const int64_t G = options_.num_groups(), C = options_.num_channels();
  EMBER_CHECK(G > 0 && C % G == 0,
              "num_channels must be divisible by num_groups (got num_groups=", G,
              ", num_channels=", C, ")");
  weight_ = register_parameter("weight", options_.affine() ? ones({C}) : Tensor());
  bias_ = register_parameter("bias", options_.affine() ? zeros({C}) : Tensor());
}

Tensor GroupNorm::forward(const Tensor& input) {
  return functional::group_norm(input, options_.num_groups(), weight_, bias_, options_.eps());
}

std::string GroupNorm::extra_repr() const {
  return std::to_string(options_.num_groups()) + ", " + std::to_string(options_.num_channels()) +
         ", eps=" + py_float(options_.eps()) + ", affine=" + detail::py_bool(options_.affine());
}

}  // namespace ember::nn
