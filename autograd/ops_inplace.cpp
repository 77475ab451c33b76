// In-place ops. They bump the storage's version counter (so autograd notices a saved tensor that
// changed) but are not recorded in the graph: ember's autograd is out-of-place. Optimizers and
// running statistics use them under NoGradGuard.
#include "core/kernels/elementwise.h"
#include "ember/autograd/grad_mode.h"
#include "ember/tensor.h"

namespace ember {

using kernels::BinaryOp;

namespace {
void check_inplace(const Tensor& t, const char* op) {
  EMBER_CHECK(t.defined(), op, " on an undefined tensor");
  if (!is_grad_enabled() || !t.requires_grad()) return;
  EMBER_CHECK(!t.is_leaf(),
              "a leaf Variable that requires grad is being used in an in-place "
              "operation (",
              op, " on a tensor of shape ", shape_str(t.sizes()), "); wrap it in NoGradGuard");
  throw Error(detail::concat(op,
                             ": ember's autograd does not record in-place operations on "
                             "tensors that require grad (shape ",
                             shape_str(t.sizes()), "); use the out-of-place op"));
}
}  // namespace

Tensor& Tensor::add_(const Tensor& other, double alpha) {
  check_inplace(*this, "add_");
  kernels::axpy_(*this, other, alpha);
  return *this;
}
Tensor& Tensor::add_(double value) {
  check_inplace(*this, "add_");
  kernels::binary_(BinaryOp::Add, *this, full({}, value, dtype()));
  return *this;
}
Tensor& Tensor::mul_(const Tensor& other) {
  check_inplace(*this, "mul_");
  kernels::binary_(BinaryOp::Mul, *this, other);
  return *this;
}
Tensor& Tensor::mul_(double value) {
  check_inplace(*this, "mul_");
  kernels::binary_(BinaryOp::Mul, *this, full({}, value, dtype()));
  return *this;
}
Tensor& Tensor::div_(const Tensor& other) {
  check_inplace(*this, "div_");
  kernels::binary_(BinaryOp::Div, *this, other);
  return *this;
}
Tensor& Tensor::addcmul_(const Tensor& a, const Tensor& b, double value) {
  check_inplace(*this, "addcmul_");
  kernels::axpy_(*this, kernels::binary(BinaryOp::Mul, a, b), value);
  return *this;
}
Tensor& Tensor::addcdiv_(const Tensor& a, const Tensor& b, double value) {
  check_inplace(*this, "addcdiv_");
  kernels::axpy_(*this, kernels::binary(BinaryOp::Div, a, b), value);
  return *this;
}
Tensor& Tensor::fill_(double value) {
  check_inplace(*this, "fill_");
  kernels::fill(*this, value);
  return *this;
}
Tensor& Tensor::copy_(const Tensor& src) {
  check_inplace(*this, "copy_");
  kernels::copy(*this, src);
  return *this;
}
Tensor& Tensor::clamp_(double lo, double hi) {
  check_inplace(*this, "clamp_");
  copy_(kernels::clamp(*this, lo, hi));
  return *this;
}

}  // namespace ember
