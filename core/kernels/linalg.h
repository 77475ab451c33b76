#pragma once
// Internal: matrix products (oneDNN's sgemm for float32, Eigen otherwise; no autograd).
#include "ember/tensor.h"

namespace ember::kernels {

// The GEMM under everything, on raw row-major buffers: C = op(A)·op(B) (+ C when `accumulate`),
// C n×m, op(A) n×k, op(B) k×m; op transposes when asked, so A is stored k×n when trans_a (and B
// m×k when trans_b). Kernels such as conv's backward call it directly to avoid materializing
// transposes.
struct Gemm {
  int64_t n, m, k;
  bool trans_a = false, trans_b = false, accumulate = false;
};
void gemm(const Gemm& g, const float* a, const float* b, float* c);
void gemm(const Gemm& g, const double* a, const double* b, double* c);
void gemm(const Gemm& g, const int64_t* a, const int64_t* b, int64_t* c);

// [n,k] x [k,m] -> [n,m]; any strides; same dtype.
Tensor mm(const Tensor& a, const Tensor& b);
// op(a)·op(b) with op = transpose where asked (a is [k,n] when trans_a, b [m,k] when trans_b):
// the GEMM reads the operands as stored, so no transposed copy is made.
Tensor mm(const Tensor& a, bool trans_a, const Tensor& b, bool trans_b);
// [B,n,k] x [B,k,m] -> [B,n,m].
Tensor bmm(const Tensor& a, const Tensor& b);

}  // namespace ember::kernels
