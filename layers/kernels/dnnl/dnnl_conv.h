#pragma once
// Internal: oneDNN's direct convolution (float32), forward and both backward passes, behind
// functional::conv2d. Only layers/kernels/dnnl includes oneDNN headers.
#include "layers/kernels/native/conv2d.h"

namespace ember::nn::kernels::dnnl {

// Whether oneDNN can run this convolution (float32, padding it can express).
bool supports_conv2d(const Tensor& x, const native::Conv2dGeometry& g);
// Whether it is faster there than the native im2col path (see conv2d.cpp for the measurements).
bool prefers_conv2d(const Tensor& x, const native::Conv2dGeometry& g);

// Same contracts as native::conv2d_forward / conv2d_backward.
Tensor conv2d_forward(const Tensor& x, const Tensor& weight, const Tensor& bias,
                      const native::Conv2dGeometry& g);
native::Conv2dGrads conv2d_backward(const Tensor& dy, const Tensor& x, const Tensor& weight,
                                    const native::Conv2dGeometry& g, bool need_x, bool need_weight,
                                    bool need_bias);

}  // namespace ember::nn::kernels::dnnl
