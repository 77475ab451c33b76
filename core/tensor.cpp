// Tensor metadata, storage, element access and factories.
#include "ember/tensor.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>

#include "core/allocator.h"
#include "core/dispatch.h"
#include "core/kernels/elementwise.h"
#include "core/tensor_internal.h"

namespace ember {

// 64-byte alignment suits AVX-512 loads and oneDNN.
Storage::Storage(size_t nbytes) : data_(detail::allocate(nbytes)), nbytes_(nbytes) {}

Storage::~Storage() { detail::deallocate(data_, nbytes_); }

namespace detail {

int64_t numel_of(const Shape& shape) {
  int64_t n = 1;
  for (int64_t s : shape) {
    EMBER_CHECK(s >= 0, "negative dimension in shape ", shape_str(shape));
    n *= s;
  }
  return n;
}

Tensor new_tensor(const Shape& shape, DType dtype, MemoryFormat format) {
  auto impl = std::make_shared<TensorImpl>();
  impl->numel = numel_of(shape);
  impl->storage = std::make_shared<Storage>(impl->numel * element_size(dtype));
  impl->sizes = shape;
  impl->strides = contiguous_strides(shape, format);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor make_view(const Tensor& base, Shape sizes, Shape strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.impl()->storage;
  impl->offset = offset;
  impl->numel = numel_of(sizes);
  impl->sizes = std::move(sizes);
  impl->strides = std::move(strides);
  impl->dtype = base.dtype();
  return Tensor(std::move(impl));
}

MemoryFormat result_format(const Shape& shape, std::initializer_list<const Tensor*> inputs) {
  if (shape.size() != 4) return MemoryFormat::Contiguous;
  for (const Tensor* t : inputs)
    if (t->defined() && t->sizes() == shape) return t->suggest_memory_format();
  return MemoryFormat::Contiguous;
}

}  // namespace detail

// ---- shape helpers ----

int64_t wrap_dim(int64_t dim, int64_t ndim) {
  const int64_t n = std::max<int64_t>(ndim, 1);  // a scalar accepts dims 0 and -1, like PyTorch
  EMBER_CHECK(dim >= -n && dim < n, "Dimension out of range (expected to be in range of [", -n,
              ", ", n - 1, "], but got ", dim, ")");
  return dim < 0 ? dim + n : dim;
}

Shape contiguous_strides(const Shape& shape, MemoryFormat format) {
  Shape strides(shape.size());
  if (format == MemoryFormat::ChannelsLast) {
    EMBER_CHECK(shape.size() == 4, "required rank 4 tensor to use channels_last format, got shape ",
                shape_str(shape));
    // N, H, W, C order in memory.
    const int64_t C = shape[1], H = shape[2], W = shape[3];
    strides[1] = 1;
    strides[3] = std::max<int64_t>(C, 1);
    strides[2] = strides[3] * std::max<int64_t>(W, 1);
    strides[0] = strides[2] * std::max<int64_t>(H, 1);
    return strides;
  }
  int64_t s = 1;
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    strides[d] = s;
    s *= std::max<int64_t>(shape[d], 1);
  }
  return strides;
}

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    EMBER_CHECK(da == db || da == 1 || db == 1, "The size of tensor a (", da,
                ") must match the size of tensor b (", db, ") at non-singleton dimension ", i,
                ": shapes ", shape_str(a), " and ", shape_str(b), " cannot be broadcast");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

// ---- metadata ----

namespace {
const TensorImpl& checked(const std::shared_ptr<TensorImpl>& impl) {
  EMBER_CHECK(impl != nullptr, "operation on an undefined tensor");
  return *impl;
}
}  // namespace

const Shape& Tensor::sizes() const { return checked(impl_).sizes; }
const Shape& Tensor::strides() const { return checked(impl_).strides; }
int64_t Tensor::dim() const { return static_cast<int64_t>(sizes().size()); }
int64_t Tensor::size(int64_t d) const { return sizes()[wrap_dim(d, dim())]; }
int64_t Tensor::stride(int64_t d) const { return strides()[wrap_dim(d, dim())]; }
int64_t Tensor::numel() const { return checked(impl_).numel; }
DType Tensor::dtype() const { return checked(impl_).dtype; }
int64_t Tensor::storage_offset() const { return checked(impl_).offset; }
bool Tensor::shares_storage(const Tensor& other) const {
  return defined() && other.defined() && impl_->storage == other.impl_->storage;
}

bool Tensor::is_contiguous(MemoryFormat format) const {
  const auto& impl = checked(impl_);
  if (format == MemoryFormat::ChannelsLast && impl.sizes.size() != 4) return false;
  const Shape expected = contiguous_strides(impl.sizes, format);
  for (size_t d = 0; d < impl.sizes.size(); ++d)
    if (impl.sizes[d] != 1 && impl.strides[d] != expected[d]) return false;
  return true;
}

MemoryFormat Tensor::suggest_memory_format() const {
  if (dim() == 4 && !is_contiguous() && is_contiguous(MemoryFormat::ChannelsLast))
    return MemoryFormat::ChannelsLast;
  return MemoryFormat::Contiguous;
}

void Tensor::bump_version() { checked(impl_).storage->bump_version(); }
uint64_t Tensor::version() const { return checked(impl_).storage->version(); }

// ---- element access ----

template <class T>
T* Tensor::data_ptr() {
  EMBER_CHECK(dtype() == dtype_of<T>::value, "data_ptr: expected a tensor of dtype ",
              dtype_of<T>::value, " but got ", dtype());
  return static_cast<T*>(impl_->data());
}
template <class T>
const T* Tensor::data_ptr() const {
  return const_cast<Tensor*>(this)->data_ptr<T>();
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  if (is_contiguous()) {  // the common case, read directly (kernels call this on parameters)
    std::vector<T> out(numel());
    detail::dispatch(dtype(), [&](auto tag) {
      const auto* p = static_cast<const decltype(tag)*>(impl_->data());
      for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<T>(p[i]);
    });
    return out;
  }
  return detach().contiguous().to_vector<T>();
}

template <class T>
T Tensor::item() const {
  EMBER_CHECK(numel() == 1, "a Tensor with ", numel(),
              " elements cannot be converted to Scalar (shape ", shape_str(sizes()), ")");
  return to_vector<T>()[0];
}

#define EMBER_INSTANTIATE(T)                            \
  template T* Tensor::data_ptr<T>();                    \
  template const T* Tensor::data_ptr<T>() const;        \
  template std::vector<T> Tensor::to_vector<T>() const; \
  template T Tensor::item<T>() const;
EMBER_INSTANTIATE(float)
EMBER_INSTANTIATE(double)
EMBER_INSTANTIATE(int64_t)
#undef EMBER_INSTANTIATE

// ---- factories ----

Tensor empty(Shape shape, DType dtype, MemoryFormat format) {
  return detail::new_tensor(shape, dtype, format);
}

Tensor full(Shape shape, double value, DType dtype) {
  Tensor t = detail::new_tensor(shape, dtype);
  kernels::fill(t, value);
  return t;
}
Tensor zeros(Shape shape, DType dtype) { return full(std::move(shape), 0.0, dtype); }
Tensor ones(Shape shape, DType dtype) { return full(std::move(shape), 1.0, dtype); }
Tensor scalar_tensor(double value, DType dtype) { return full({}, value, dtype); }

Tensor empty_like(const Tensor& t) {
  return detail::new_tensor(t.sizes(), t.dtype(), t.suggest_memory_format());
}
Tensor zeros_like(const Tensor& t) {
  Tensor out = empty_like(t);
  kernels::fill(out, 0.0);
  return out;
}
Tensor ones_like(const Tensor& t) {
  Tensor out = empty_like(t);
  kernels::fill(out, 1.0);
  return out;
}

namespace {
template <class V>
Tensor from_values(const std::vector<V>& values, const Shape& shape, DType dtype) {
  const int64_t n = detail::numel_of(shape);
  EMBER_CHECK(n == static_cast<int64_t>(values.size()), "tensor(): shape ", shape_str(shape),
              " needs ", n, " values but ", values.size(), " were given");
  Tensor t = detail::new_tensor(shape, dtype);
  detail::dispatch(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data_ptr<T>();
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(values[i]);
  });
  return t;
}
}  // namespace

Tensor tensor(const std::vector<float>& values, Shape shape) {
  return from_values(values, shape, kFloat32);
}
Tensor tensor(const std::vector<double>& values, Shape shape, DType dtype) {
  return from_values(values, shape, dtype);
}

Tensor arange(int64_t n, DType dtype) { return arange(0.0, static_cast<double>(n), 1.0, dtype); }

Tensor arange(double start, double end, double step, DType dtype) {
  EMBER_CHECK(step != 0, "arange: step must be nonzero");
  EMBER_CHECK((end - start) / step >= 0,
              "arange: upper bound and larger bound inconsistent with step sign (start=", start,
              ", end=", end, ", step=", step, ")");
  const auto n = static_cast<int64_t>(std::ceil((end - start) / step));
  Tensor t = detail::new_tensor({n}, dtype);
  detail::dispatch(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data_ptr<T>();
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(start + static_cast<double>(i) * step);
  });
  return t;
}

}  // namespace ember
