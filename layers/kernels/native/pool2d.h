#pragma once
// Internal: native 2-D pooling kernels (float32/float64) on contiguous planes [P, H, W]
// (P = N·C), forward and backward side by side in pool2d.cpp. Window bounds, divisors and
// tie-breaking follow ATen's CPU kernels, so results match PyTorch element for element.
//
// Why not oneDNN's pooling (the issue allows it where it wins): its max pooling JIT was 2-3x
// faster on the CNN example's shapes (fwd+bwd, 1 thread: [64,32,28,28] 1.46 vs 2.9 ms through
// ember's module, on a loaded machine), and it breaks ties like ATen (first maximum), but it
// skips NaN: a window {0, NaN, 5, NaN} gives 5 where PyTorch gives NaN (and routes the gradient
// to the last NaN). Diverging activations would then look finite. Max pooling stays native and
// exact; the 2x2 stride-2 case has a vectorized loop of its own.
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
