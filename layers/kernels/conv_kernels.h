#pragma once
// Internal: the 2-D convolution behind functional::conv2d, on plain tensors (no autograd).
// dispatch.cpp sends a call to oneDNN's direct convolution where that was measured faster
// (layers/kernels/dnnl/conv2d.cpp) and to the native im2col kernel otherwise. The choice depends
// only on the dtype and the geometry, so a call's forward and backward take the same path.
#include "layers/kernels/native/conv2d.h"

namespace ember::nn::kernels {

using native::Conv2dGeometry;
using native::Conv2dGrads;

Tensor conv2d_forward(const Tensor& x, const Tensor& weight, const Tensor& bias,
                      const Conv2dGeometry& g);
Conv2dGrads conv2d_backward(const Tensor& dy, const Tensor& x, const Tensor& weight,
                            const Conv2dGeometry& g, bool need_x, bool need_weight, bool need_bias);

}  // namespace ember::nn::kernels
