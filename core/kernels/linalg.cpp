// Matrix products over ember's buffers (no copies when already contiguous): float32 through
// oneDNN's sgemm when ember is built with oneDNN, everything else through Eigen maps.
//
// Why sgemm for float32: on the conv and LSTM shapes of the examples it ran 1.5–4× faster than
// Eigen at 2 threads (its JIT kernels, and OpenMP barriers that yield), and Eigen's own OpenMP
// GEMM busy-waits between its blocks — on a loaded 2-core machine that spinning took two
// thirds of a CNN training step.
#include "core/kernels/linalg.h"

#include <Eigen/Core>

#ifdef EMBER_WITH_DNNL
#include <dnnl.h>
#endif

#include "core/dispatch.h"
#include "core/tensor_internal.h"

namespace ember::kernels {

namespace {

template <class T>
using RowMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

template <class T>
using Stored = Eigen::Map<const RowMajor<T>>;

template <class T>
void eigen_gemm(const Gemm& g, const T* a, const T* b, T* c) {
  Eigen::Map<RowMajor<T>> C(c, g.n, g.m);
  const Stored<T> A(a, g.trans_a ? g.k : g.n, g.trans_a ? g.n : g.k);
  const Stored<T> B(b, g.trans_b ? g.m : g.k, g.trans_b ? g.k : g.m);
  // Four spelled-out cases: Eigen picks its GEMM kernel from the expression's static type.
  auto assign = [&](const auto& opa, const auto& opb) {
    if (g.accumulate)
      C.noalias() += opa * opb;
    else
      C.noalias() = opa * opb;
  };
  if (g.trans_a && g.trans_b)
    assign(A.transpose(), B.transpose());
  else if (g.trans_a)
    assign(A.transpose(), B);
  else if (g.trans_b)
    assign(A, B.transpose());
  else
    assign(A, B);
}

}  // namespace

void gemm(const Gemm& g, const float* a, const float* b, float* c) {
#ifdef EMBER_WITH_DNNL
  if (g.n == 0 || g.m == 0) return;
  if (g.k == 0) {
    if (!g.accumulate) std::fill(c, c + g.n * g.m, 0.0f);
    return;
  }
  // Row-major with leading dimensions = stored row lengths; the status only reports bad
  // arguments, which the callers' shape checks rule out.
  dnnl_sgemm(g.trans_a ? 'T' : 'N', g.trans_b ? 'T' : 'N', g.n, g.m, g.k, 1.0f, a,
             g.trans_a ? g.n : g.k, b, g.trans_b ? g.k : g.m, g.accumulate ? 1.0f : 0.0f, c, g.m);
#else
  eigen_gemm(g, a, b, c);
#endif
}
void gemm(const Gemm& g, const double* a, const double* b, double* c) { eigen_gemm(g, a, b, c); }
void gemm(const Gemm& g, const int64_t* a, const int64_t* b, int64_t* c) { eigen_gemm(g, a, b, c); }

namespace {

void check_same_dtype(const char* op, const Tensor& a, const Tensor& b) {
  EMBER_CHECK(a.dtype() == b.dtype(), op,
              ": expected both operands to have the same dtype, but "
              "got ",
              a.dtype(), " and ", b.dtype());
}

}  // namespace

Tensor mm(const Tensor& a_in, bool trans_a, const Tensor& b_in, bool trans_b) {
  EMBER_CHECK(a_in.dim() == 2 && b_in.dim() == 2, "mm: expected 2-D tensors, got ",
              shape_str(a_in.sizes()), " and ", shape_str(b_in.sizes()));
  check_same_dtype("mm", a_in, b_in);
  const Tensor a = a_in.detach().contiguous(), b = b_in.detach().contiguous();
  const Gemm g{.n = a.size(trans_a ? 1 : 0),
               .m = b.size(trans_b ? 0 : 1),
               .k = a.size(trans_a ? 0 : 1),
               .trans_a = trans_a,
               .trans_b = trans_b};
  EMBER_CHECK(b.size(trans_b ? 1 : 0) == g.k, "mat1 and mat2 shapes cannot be multiplied (",
              shape_str(a.sizes()), trans_a ? "ᵀ" : "", " and ", shape_str(b.sizes()),
              trans_b ? "ᵀ" : "", ")");
  Tensor out = detail::new_tensor({g.n, g.m}, a.dtype());
  detail::dispatch(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    gemm(g, a.data_ptr<T>(), b.data_ptr<T>(), out.data_ptr<T>());
  });
  return out;
}

Tensor mm(const Tensor& a, const Tensor& b) { return mm(a, false, b, false); }

Tensor bmm(const Tensor& a_in, const Tensor& b_in) {
  EMBER_CHECK(a_in.dim() == 3 && b_in.dim() == 3, "bmm: expected 3-D tensors, got ",
              shape_str(a_in.sizes()), " and ", shape_str(b_in.sizes()));
  EMBER_CHECK(a_in.size(0) == b_in.size(0) && a_in.size(2) == b_in.size(1),
              "mat1 and mat2 shapes cannot be multiplied (", shape_str(a_in.sizes()), " and ",
              shape_str(b_in.sizes()), ")");
  check_same_dtype("bmm", a_in, b_in);
  const Tensor a = a_in.detach().contiguous(), b = b_in.detach().contiguous();
  const int64_t B = a.size(0), n = a.size(1), k = a.size(2), m = b.size(2);
  Tensor out = detail::new_tensor({B, n, m}, a.dtype());
  detail::dispatch(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* pa = a.data_ptr<T>();
    const T* pb = b.data_ptr<T>();
    T* po = out.data_ptr<T>();
    for (int64_t i = 0; i < B; ++i)
      gemm(Gemm{n, m, k}, pa + i * n * k, pb + i * k * m, po + i * n * m);
  });
  return out;
}

}  // namespace ember::kernels
