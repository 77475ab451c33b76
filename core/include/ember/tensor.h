#pragma once
// Tensor: a cheap handle to a shared TensorImpl (storage + offset + sizes + strides + dtype +
// autograd metadata). Copying a Tensor copies the handle; views share storage.
#include <cstdint>
#include <memory>
#include <ostream>
#include <vector>

#include "ember/dtype.h"
#include "ember/error.h"

namespace ember {

namespace autograd {
class Node;
}

// A flat, 64-byte aligned byte buffer. `version` counts in-place writes so autograd can refuse a
// backward through a tensor that changed after it was saved.
class Storage {
 public:
  explicit Storage(size_t nbytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* data() { return data_; }
  const void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  uint64_t version() const { return version_; }
  void bump_version() { ++version_; }

 private:
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  uint64_t version_ = 0;
};

class Tensor;
struct TensorImpl;

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- metadata ----
  bool defined() const { return impl_ != nullptr; }
  const Shape& sizes() const;
  const Shape& strides() const;
  int64_t size(int64_t dim) const;
  int64_t stride(int64_t dim) const;
  int64_t dim() const;
  int64_t numel() const;
  DType dtype() const;
  int64_t storage_offset() const;
  bool is_contiguous(MemoryFormat format = MemoryFormat::Contiguous) const;
  // The memory format a new tensor of this kind should take (ChannelsLast if this one is).
  MemoryFormat suggest_memory_format() const;
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }
  bool shares_storage(const Tensor& other) const;
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

  // ---- data access ----
  template <class T>
  T* data_ptr();
  template <class T>
  const T* data_ptr() const;
  template <class T>
  T item() const;  // one-element tensor to T (converting)
  template <class T>
  std::vector<T> to_vector() const;  // logical (row-major) order, converting

  // ---- views (share storage; differentiable) ----
  Tensor view(Shape shape) const;
  Tensor reshape(Shape shape) const;  // a view when strides allow, else a copy
  Tensor permute(Shape dims) const;
  Tensor transpose(int64_t dim0, int64_t dim1) const;
  Tensor t() const;  // transpose(0, 1) of a 2-D tensor
  Tensor unsqueeze(int64_t dim) const;
  Tensor squeeze(int64_t dim) const;
  Tensor squeeze() const;
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
  Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor select(int64_t dim, int64_t index) const;
  Tensor operator[](int64_t index) const { return select(0, index); }
  Tensor expand(Shape shape) const;
  Tensor expand_as(const Tensor& other) const { return expand(other.sizes()); }
  Tensor contiguous(MemoryFormat format = MemoryFormat::Contiguous) const;
  Tensor clone(MemoryFormat format = MemoryFormat::Contiguous) const;
  Tensor detach() const;  // shares storage, no autograd history
  Tensor to(DType dtype) const;

  // ---- elementwise (broadcasting; differentiable) ----
  Tensor operator-() const { return neg(); }
  Tensor neg() const;
  Tensor exp() const;
  Tensor log() const;
  Tensor sqrt() const;
  Tensor rsqrt() const;
  Tensor abs() const;
  Tensor tanh() const;
  Tensor sigmoid() const;
  Tensor relu() const;
  Tensor square() const;
  Tensor pow(double exponent) const;
  Tensor pow(const Tensor& exponent) const;
  Tensor clamp(double min, double max) const;
  Tensor clamp_min(double min) const;
  Tensor clamp_max(double max) const;
  Tensor maximum(const Tensor& other) const;
  Tensor minimum(const Tensor& other) const;
  // Comparisons return 0/1 in the promoted dtype (ember has no bool dtype); not differentiable.
  Tensor eq(const Tensor& other) const;
  Tensor ne(const Tensor& other) const;
  Tensor lt(const Tensor& other) const;
  Tensor le(const Tensor& other) const;
  Tensor gt(const Tensor& other) const;
  Tensor ge(const Tensor& other) const;

  // ---- reductions (over all dims, or the given dims; differentiable) ----
  Tensor sum() const;
  Tensor sum(Shape dims, bool keepdim = false) const;
  Tensor mean() const;
  Tensor mean(Shape dims, bool keepdim = false) const;
  // Over all dims, unbiased. (No var(bool) overload: x.var({0}) must mean dim 0, not false.)
  Tensor var() const;
  Tensor var(Shape dims, bool unbiased = true, bool keepdim = false) const;
  Tensor std() const;
  Tensor std(Shape dims, bool unbiased = true, bool keepdim = false) const;
  Tensor max() const;
  Tensor max(int64_t dim, bool keepdim = false) const;
  Tensor min() const;
  Tensor min(int64_t dim, bool keepdim = false) const;
  Tensor argmax() const;  // Int64; index into the flattened tensor
  Tensor argmax(int64_t dim, bool keepdim = false) const;
  Tensor argmin(int64_t dim, bool keepdim = false) const;

  // ---- linear algebra ----
  Tensor matmul(const Tensor& other) const;

  // ---- in-place (bump the version counter; not recorded by autograd) ----
  Tensor& add_(const Tensor& other, double alpha = 1.0);
  Tensor& add_(double value);
  Tensor& sub_(const Tensor& other) { return add_(other, -1.0); }
  Tensor& mul_(const Tensor& other);
  Tensor& mul_(double value);
  Tensor& div_(const Tensor& other);
  Tensor& div_(double value) { return mul_(1.0 / value); }
  Tensor& addcmul_(const Tensor& a, const Tensor& b, double value = 1.0);  // this += value*a*b
  Tensor& addcdiv_(const Tensor& a, const Tensor& b, double value = 1.0);  // this += value*a/b
  Tensor& fill_(double value);
  Tensor& zero_() { return fill_(0.0); }
  Tensor& copy_(const Tensor& src);  // broadcasts src, converts dtype
  Tensor& clamp_(double min, double max);

  // ---- autograd ----
  Tensor& requires_grad_(bool on = true);
  bool requires_grad() const;
  bool is_leaf() const;
  Tensor grad() const;
  Tensor& mutable_grad();  // the leaf's .grad slot (optimizers write through it)
  void set_grad(const Tensor& grad);
  const std::shared_ptr<autograd::Node>& grad_fn() const;
  void backward(const Tensor& gradient = {}, bool retain_graph = false) const;
  void bump_version();
  uint64_t version() const;

 private:
  std::shared_ptr<TensorImpl> impl_;
};

// The shared state behind Tensor handles.
struct TensorImpl {
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;  // in elements
  Shape sizes;
  Shape strides;  // in elements
  DType dtype = kFloat32;
  int64_t numel = 0;
  // autograd
  bool requires_grad = false;
  Tensor grad;
  std::shared_ptr<autograd::Node> grad_fn;
  uint32_t output_nr = 0;                          // which output of grad_fn this is
  std::weak_ptr<autograd::Node> grad_accumulator;  // leaves: the node that accumulates into grad

  void* data() { return static_cast<char*>(storage->data()) + offset * element_size(dtype); }
};

// ---- binary operators (broadcasting; differentiable) ----
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator+(const Tensor& a, double b);
Tensor operator-(const Tensor& a, double b);
Tensor operator*(const Tensor& a, double b);
Tensor operator/(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(double a, const Tensor& b);
Tensor operator/(double a, const Tensor& b);

Tensor matmul(const Tensor& a, const Tensor& b);
Tensor bmm(const Tensor& a, const Tensor& b);  // [B,n,k] x [B,k,m]
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0);
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
// where(cond, a, b): a where cond != 0, else b (broadcasting; differentiable in a and b).
Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b);

// ---- factories ----
Tensor tensor(const std::vector<float>& values, Shape shape);
Tensor tensor(const std::vector<double>& values, Shape shape, DType dtype);
Tensor scalar_tensor(double value, DType dtype = kFloat32);  // shape []
Tensor empty(Shape shape, DType dtype = kFloat32, MemoryFormat format = MemoryFormat::Contiguous);
Tensor zeros(Shape shape, DType dtype = kFloat32);
Tensor ones(Shape shape, DType dtype = kFloat32);
Tensor full(Shape shape, double value, DType dtype = kFloat32);
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor empty_like(const Tensor& t);  // same sizes, dtype and memory format
Tensor arange(int64_t n, DType dtype = kInt64);
Tensor arange(double start, double end, double step = 1.0, DType dtype = kFloat32);
Tensor rand(Shape shape, DType dtype = kFloat32);   // U[0, 1)
Tensor randn(Shape shape, DType dtype = kFloat32);  // N(0, 1)
Tensor randint(int64_t low, int64_t high, Shape shape, DType dtype = kInt64);
Tensor randperm(int64_t n);  // Int64
void manual_seed(uint64_t seed);

bool allclose(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-8);
// Largest |a - b| over all elements (both broadcast), as double; for test diagnostics.
double max_abs_diff(const Tensor& a, const Tensor& b);
std::ostream& operator<<(std::ostream& out, const Tensor& t);  // like PyTorch: tensor([[...]])

// Broadcast two shapes with NumPy rules; throws ember::Error naming both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b);
// Contiguous strides for `shape` in `format`.
Shape contiguous_strides(const Shape& shape, MemoryFormat format = MemoryFormat::Contiguous);
// Negative dims count from the end; throws ember::Error when out of range.
int64_t wrap_dim(int64_t dim, int64_t ndim);

}  // namespace ember
