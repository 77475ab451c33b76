// Views and layout ops, each with its backward beside it. Views share storage with their base;
// their backward maps the gradient back to the base's geometry.
#include <algorithm>
#include <numeric>

#include "core/kernels/elementwise.h"
#include "core/kernels/reduce.h"
#include "core/tensor_internal.h"
#include "ember/autograd/node.h"

namespace ember {

using autograd::record_function;

namespace {

// Resolves one -1 in a requested shape and checks the element count.
Shape infer_shape(Shape shape, int64_t numel, const Shape& from) {
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      EMBER_CHECK(infer < 0, "only one dimension can be inferred (shape ", shape_str(shape), ")");
      infer = static_cast<int64_t>(i);
    } else {
      EMBER_CHECK(shape[i] >= 0, "invalid shape dimension ", shape[i], " in ", shape_str(shape));
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    EMBER_CHECK(known != 0 && numel % known == 0, "shape '", shape_str(shape),
                "' is invalid for input of size ", numel);
    shape[infer] = numel / known;
  }
  EMBER_CHECK(detail::numel_of(shape) == numel, "shape '", shape_str(shape),
              "' is invalid for input of size ", numel, " (input shape ", shape_str(from), ")");
  return shape;
}

// Strides for viewing a tensor of (sizes, strides) as `shape` without copying, if possible
// (the algorithm of ATen's computeStride: split/merge only dims that are linear in memory).
bool view_strides(const Shape& sizes, const Shape& strides, const Shape& shape, Shape& out) {
  out.assign(shape.size(), 0);
  if (sizes.empty()) {  // a scalar views as any shape of ones
    out.assign(shape.size(), 1);
    return true;
  }
  const int64_t numel = detail::numel_of(sizes);
  if (numel == 0) {
    out = contiguous_strides(shape);
    return true;
  }
  int64_t view_d = static_cast<int64_t>(shape.size()) - 1;
  int64_t chunk_base_stride = strides.empty() ? 1 : strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t d = static_cast<int64_t>(sizes.size()) - 1; d >= 0; --d) {
    tensor_numel *= sizes[d];
    if (d == 0 || (sizes[d - 1] != 1 && strides[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
        out[view_d] = view_numel * chunk_base_stride;
        view_numel *= shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return false;
      if (d > 0) {
        chunk_base_stride = strides[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  return view_d == -1;
}

Tensor view_of(const Tensor& self, Shape sizes, Shape strides, int64_t offset, const char* name) {
  Tensor out = detail::make_view(self, std::move(sizes), std::move(strides), offset);
  const Shape in_sizes = self.sizes();
  return record_function(name, {self}, out, [in_sizes](const Tensor& g) {
    return std::vector<Tensor>{g.reshape(in_sizes)};
  });
}

}  // namespace

Tensor Tensor::view(Shape shape) const {
  shape = infer_shape(std::move(shape), numel(), sizes());
  Shape st;
  EMBER_CHECK(
      view_strides(sizes(), strides(), shape, st),
      "view size is not compatible with input tensor's size and stride (at least one "
      "dimension spans across two contiguous subspaces). Use .reshape(...) instead. (input ",
      shape_str(sizes()), ", requested ", shape_str(shape), ")");
  return view_of(*this, shape, st, storage_offset(), "ViewBackward0");
}

Tensor Tensor::reshape(Shape shape) const {
  shape = infer_shape(std::move(shape), numel(), sizes());
  Shape st;
  if (view_strides(sizes(), strides(), shape, st))
    return view_of(*this, shape, st, storage_offset(), "ViewBackward0");
  return contiguous().view(shape);
}

Tensor Tensor::permute(Shape dims) const {
  EMBER_CHECK(static_cast<int64_t>(dims.size()) == dim(),
              "permute(sparse_coo): number of dimensions "
              "in the tensor input does not match the length of the desired ordering of dimensions "
              "i.e. input.dim() = ",
              dim(), " is not equal to len(dims) = ", dims.size());
  Shape sz(dims.size()), st(dims.size()), inverse(dims.size());
  std::vector<bool> seen(dims.size(), false);
  for (size_t i = 0; i < dims.size(); ++i) {
    const int64_t d = wrap_dim(dims[i], dim());
    EMBER_CHECK(!seen[d], "permute(): duplicate dims are not allowed (dims ", shape_str(dims), ")");
    seen[d] = true;
    sz[i] = sizes()[d];
    st[i] = strides()[d];
    inverse[d] = static_cast<int64_t>(i);
  }
  Tensor out = detail::make_view(*this, sz, st, storage_offset());
  return record_function("PermuteBackward0", {*this}, out, [inverse](const Tensor& g) {
    return std::vector<Tensor>{g.permute(inverse)};
  });
}

Tensor Tensor::transpose(int64_t d0, int64_t d1) const {
  Shape dims(dim());
  std::iota(dims.begin(), dims.end(), 0);
  if (dim() == 0) return view_of(*this, {}, {}, storage_offset(), "TransposeBackward0");
  std::swap(dims[wrap_dim(d0, dim())], dims[wrap_dim(d1, dim())]);
  return permute(dims);
}

Tensor Tensor::t() const {
  EMBER_CHECK(dim() <= 2, "t() expects a tensor with <= 2 dimensions, but self is ", dim(), "D");
  return dim() < 2 ? *this : transpose(0, 1);
}

Tensor Tensor::unsqueeze(int64_t d) const {
  d = wrap_dim(d, dim() + 1);
  Shape sz = sizes(), st = strides();
  const int64_t new_stride = d < dim() ? sz[d] * st[d] : 1;
  sz.insert(sz.begin() + d, 1);
  st.insert(st.begin() + d, new_stride);
  return view_of(*this, sz, st, storage_offset(), "UnsqueezeBackward0");
}

Tensor Tensor::squeeze(int64_t d) const {
  if (dim() == 0) return view_of(*this, {}, {}, storage_offset(), "SqueezeBackward1");
  d = wrap_dim(d, dim());
  if (sizes()[d] != 1)
    return view_of(*this, sizes(), strides(), storage_offset(), "SqueezeBackward1");
  Shape sz = sizes(), st = strides();
  sz.erase(sz.begin() + d);
  st.erase(st.begin() + d);
  return view_of(*this, sz, st, storage_offset(), "SqueezeBackward1");
}

Tensor Tensor::squeeze() const {
  Shape sz, st;
  for (int64_t d = 0; d < dim(); ++d)
    if (sizes()[d] != 1) {
      sz.push_back(sizes()[d]);
      st.push_back(strides()[d]);
    }
  return view_of(*this, sz, st, storage_offset(), "SqueezeBackward0");
}

Tensor Tensor::flatten(int64_t start, int64_t end) const {
  if (dim() == 0) return reshape({1});
  start = wrap_dim(start, dim());
  end = wrap_dim(end, dim());
  EMBER_CHECK(start <= end, "flatten() has invalid args: start_dim (", start,
              ") cannot come after end_dim (", end, ")");
  Shape shape(sizes().begin(), sizes().begin() + start);
  int64_t n = 1;
  for (int64_t d = start; d <= end; ++d) n *= sizes()[d];
  shape.push_back(n);
  shape.insert(shape.end(), sizes().begin() + end + 1, sizes().end());
  return reshape(shape);
}

Tensor Tensor::slice(int64_t d, int64_t start, int64_t end, int64_t step) const {
  EMBER_CHECK(dim() > 0, "slice() cannot be applied to a 0-dim tensor.");
  d = wrap_dim(d, dim());
  EMBER_CHECK(step > 0, "slice step must be positive, got ", step);
  const int64_t n = sizes()[d];
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<int64_t>(start, 0, n);
  end = std::clamp<int64_t>(end, start, n);
  Shape sz = sizes(), st = strides();
  sz[d] = (end - start + step - 1) / step;
  st[d] *= step;
  Tensor out = detail::make_view(*this, sz, st, storage_offset() + start * strides()[d]);
  const Shape in_sizes = sizes();
  return record_function("SliceBackward0", {*this}, out, [=](const Tensor& g) {
    Tensor full = zeros(in_sizes, g.dtype());
    Tensor window = full.slice(d, start, end, step);
    kernels::copy(window, g);
    return std::vector<Tensor>{full};
  });
}

Tensor Tensor::select(int64_t d, int64_t index) const {
  EMBER_CHECK(dim() > 0, "select() cannot be applied to a 0-dim tensor.");
  d = wrap_dim(d, dim());
  const int64_t n = sizes()[d];
  EMBER_CHECK(index >= -n && index < n, "select(): index ", index,
              " out of range for tensor of size ", shape_str(sizes()), " at dimension ", d);
  if (index < 0) index += n;
  return slice(d, index, index + 1).squeeze(d);
}

Tensor Tensor::expand(Shape shape) const {
  EMBER_CHECK(shape.size() >= sizes().size(), "expand: the number of sizes provided (",
              shape.size(),
              ") must be greater or equal to the number of dimensions in the tensor (", dim(), ")");
  const int64_t lead = static_cast<int64_t>(shape.size()) - dim();
  Shape st(shape.size(), 0);
  for (int64_t i = 0; i < static_cast<int64_t>(shape.size()); ++i) {
    const int64_t d = i - lead;
    if (d < 0) {
      EMBER_CHECK(shape[i] >= 0, "expand: -1 is not allowed in a leading, non-existing dimension");
      continue;
    }
    if (shape[i] == -1) shape[i] = sizes()[d];
    EMBER_CHECK(sizes()[d] == shape[i] || sizes()[d] == 1, "The expanded size of the tensor (",
                shape[i], ") must match the existing size (", sizes()[d],
                ") at non-singleton dimension ", i, ".  Target sizes: ", shape_str(shape),
                ".  Tensor sizes: ", shape_str(sizes()));
    st[i] = sizes()[d] == shape[i] ? strides()[d] : 0;
  }
  Tensor out = detail::make_view(*this, shape, st, storage_offset());
  const Shape in_sizes = sizes();
  return record_function("ExpandBackward0", {*this}, out, [in_sizes](const Tensor& g) {
    return std::vector<Tensor>{autograd::sum_to(g, in_sizes)};
  });
}

Tensor Tensor::contiguous(MemoryFormat format) const {
  if (is_contiguous(format)) return *this;
  return clone(format);
}

Tensor Tensor::clone(MemoryFormat format) const {
  Tensor out = detail::new_tensor(sizes(), dtype(), format);
  kernels::copy(out, *this);
  return record_function("CloneBackward0", {*this}, out,
                         [](const Tensor& g) { return std::vector<Tensor>{g}; });
}

Tensor Tensor::detach() const {
  EMBER_CHECK(defined(), "detach() on an undefined tensor");
  return detail::make_view(*this, sizes(), strides(), storage_offset());
}

Tensor Tensor::to(DType target) const {
  if (target == dtype()) return *this;
  Tensor out = detail::new_tensor(sizes(), target, suggest_memory_format());
  kernels::copy(out, *this);
  if (!is_floating(target)) return out;  // integer results carry no gradient
  const DType source = dtype();
  return record_function("ToCopyBackward0", {*this}, out,
                         [source](const Tensor& g) { return std::vector<Tensor>{g.to(source)}; });
}

}  // namespace ember
