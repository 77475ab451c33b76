#pragma once
// Internal: argument checks shared by the training-stack layers (linear, conv, pooling, losses),
// worded like PyTorch's messages and naming the shapes and dtypes involved.
#include <string>

#include "ember/tensor.h"

namespace ember::nn::detail {

// "conv2d: expected a floating point input, but got int64"
inline void check_floating_input(const Tensor& x, const char* op) {
  EMBER_CHECK(x.defined(), op, ": the input is an undefined tensor");
  EMBER_CHECK(is_floating(x.dtype()), op, ": expected a floating point input, but got ", x.dtype());
}

// PyTorch's "Input type (float32) and weight type (float64) should be the same".
inline void check_same_type(const Tensor& x, const Tensor& t, const char* what) {
  EMBER_CHECK(!t.defined() || t.dtype() == x.dtype(), "Input type (", x.dtype(), ") and ", what,
              " type (", t.dtype(), ") should be the same");
}

inline bool needs_grad(const Tensor& t) { return t.defined() && t.requires_grad(); }

}  // namespace ember::nn::detail
