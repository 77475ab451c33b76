// Flatten: a module around Tensor::flatten (a view when the strides allow, else a copy).
#include "ember/nn/flatten.h"

namespace ember::nn {

std::string Flatten::extra_repr() const {
  return "start_dim=" + std::to_string(options_.start_dim()) +
         ", end_dim=" + std::to_string(options_.end_dim());
}

Tensor Flatten::forward(const Tensor& input) {
  return input.flatten(options_.start_dim(), options_.end_dim());
}

}  // namespace ember::nn
