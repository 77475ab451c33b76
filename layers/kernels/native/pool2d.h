#pragma once
// Internal: native 2-D pooling kernels (float32/float64) on contiguous planes [P, H, W]
// (P = N·C), forward and backward side by side in pool2d.cpp. Window bounds, divisors and
// tie-breaking follow ATen's CPU kernels, so results match PyTorch element for element.
#include <cstdint>

#include "ember/tensor.h"

namespace ember::nn::kernels::native {

struct Pool2dGeometry {
  int64_t planes = 0, H = 0, W = 0, OH = 0, OW = 0;
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;
};

struct MaxPool2dForward {
  Tensor y;        // [P, OH, OW]
  Tensor indices;  // Int64 [P, OH, OW]: argmax of each window as h·W + w within its plane
};
MaxPool2dForward max_pool2d_forward(const Tensor& x, const Pool2dGeometry& g);
// dx [P, H, W]: each dy lands on its window's argmax.
Tensor max_pool2d_backward(const Tensor& dy, const Tensor& indices, const Pool2dGeometry& g);

// divisor_override = 0: divide by the window size (with or without the padding it covers).
Tensor avg_pool2d_forward(const Tensor& x, const Pool2dGeometry& g, bool count_include_pad,
                          int64_t divisor_override);
Tensor avg_pool2d_backward(const Tensor& dy, const Pool2dGeometry& g, bool count_include_pad,
                           int64_t divisor_override);

// Uses H, W, OH, OW only: window o spans [⌊o·I/O⌋, ⌈(o+1)·I/O⌉).
Tensor adaptive_avg_pool2d_forward(const Tensor& x, const Pool2dGeometry& g);
Tensor adaptive_avg_pool2d_backward(const Tensor& dy, const Pool2dGeometry& g);

}  // namespace ember::nn::kernels::native
