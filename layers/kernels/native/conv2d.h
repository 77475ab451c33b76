#pragma once
// Internal: the native 2-D convolution (float32/float64, NCHW) behind functional::conv2d.
// Forward lowers each group to one GEMM, W_g [Og, Kg] · cols_g [Kg, N·L], where a column of
// cols (im2col) holds the Kg = Cg·kH·kW input values one output position sees and L = OH·OW.
// Backward reuses the lowering: dW_g = dY_g · colsᵀ and dcols = W_gᵀ · dY_g, folded back onto
// the input by col2im. GEMMs are core's kernels::gemm (sgemm for float32, Eigen otherwise);
// batches are chunked to bound the columns' memory. functional::conv2d sends float32 calls with
// many input channels to oneDNN's direct convolution instead (layers/kernels/dnnl/conv2d.cpp).
#include <cstdint>

#include "ember/tensor.h"

namespace ember::nn::kernels::native {

struct Conv2dGeometry {
  int64_t N = 0, C = 0, H = 0, W = 0;  // input [N, C, H, W]
  int64_t O = 0, kh = 1, kw = 1;       // weight [O, C/groups, kh, kw]
  int64_t sh = 1, sw = 1;              // stride
  int64_t ph = 0, pw = 0;              // top/left padding; bottom/right follow from OH/OW
  int64_t dh = 1, dw = 1;              // dilation
  int64_t groups = 1;
  int64_t OH = 0, OW = 0;  // output size

  int64_t Cg() const { return C / groups; }
  int64_t Og() const { return O / groups; }
  int64_t Kg() const { return Cg() * kh * kw; }
  int64_t L() const { return OH * OW; }
};

// x [N, C, H, W] and weight contiguous, bias [O] or undefined; returns y [N, O, OH, OW].
Tensor conv2d_forward(const Tensor& x, const Tensor& weight, const Tensor& bias,
                      const Conv2dGeometry& g);

struct Conv2dGrads {
  Tensor dx, dweight, dbias;
};
// dy [N, O, OH, OW] (any layout); x/weight as in forward. Only the requested grads are computed,
// and only what they read must be defined: x for the weight gradient, weight for the input's.
Conv2dGrads conv2d_backward(const Tensor& dy, const Tensor& x, const Tensor& weight,
                            const Conv2dGeometry& g, bool need_x, bool need_weight, bool need_bias);

}  // namespace ember::nn::kernels::native
