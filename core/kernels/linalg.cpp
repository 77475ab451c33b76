// Matrix products through Eigen maps over ember's buffers (no copies when already contiguous).
#include "core/kernels/linalg.h"

#include <Eigen/Core>

#include "core/dispatch.h"
#include "core/tensor_internal.h"

namespace ember::kernels {

namespace {

template <class T>
using RowMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// out (n x m, contiguous) = a (n x k) * b (k x m), all row-major contiguous.
template <class T>
void gemm(const T* a, const T* b, T* out, int64_t n, int64_t k, int64_t m) {
  Eigen::Map<const RowMajor<T>> A(a, n, k);
  Eigen::Map<const RowMajor<T>> B(b, k, m);
  Eigen::Map<RowMajor<T>> C(out, n, m);
  C.noalias() = A * B;
}

void check_same_dtype(const char* op, const Tensor& a, const Tensor& b) {
  EMBER_CHECK(a.dtype() == b.dtype(), op,
              ": expected both operands to have the same dtype, but "
              "got ",
              a.dtype(), " and ", b.dtype());
}

}  // namespace

Tensor mm(const Tensor& a, const Tensor& b) {
  EMBER_CHECK(a.dim() == 2 && b.dim() == 2, "mm: expected 2-D tensors, got ", shape_str(a.sizes()),
              " and ", shape_str(b.sizes()));
  return kernels::bmm(a.unsqueeze(0), b.unsqueeze(0)).squeeze(0);
}

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
    if (k == 0) {
      std::fill(po, po + B * n * m, T(0));
      return;
    }
    for (int64_t i = 0; i < B; ++i) gemm(pa + i * n * k, pb + i * k * m, po + i * n * m, n, k, m);
  });
  return out;
}

}  // namespace ember::kernels
