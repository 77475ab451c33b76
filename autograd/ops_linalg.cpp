// matmul/bmm and cat/stack with their backward.
#include "core/kernels/elementwise.h"
#include "core/kernels/linalg.h"
#include "core/tensor_internal.h"
#include "ember/autograd/node.h"

namespace ember {

using autograd::record_function;
using autograd::SavedTensor;
using Grads = std::vector<Tensor>;

Tensor bmm(const Tensor& a, const Tensor& b) {
  Tensor y = kernels::bmm(a, b);
  if (!autograd::any_requires_grad({a, b})) return y;
  const bool need_a = a.requires_grad(), need_b = b.requires_grad();
  SavedTensor sa(need_b ? a : Tensor()), sb(need_a ? b : Tensor());
  return record_function("BmmBackward0", {a, b}, y, [=](const Tensor& g) {
    Grads out(2);
    // dA = dC · Bᵀ, dB = Aᵀ · dC
    if (need_a) out[0] = kernels::bmm(g, sb.unpack("BmmBackward0").transpose(1, 2));
    if (need_b) out[1] = kernels::bmm(sa.unpack("BmmBackward0").transpose(1, 2), g);
    return out;
  });
}

// NumPy matmul semantics: 1-D operands gain a dim that is removed again; batch dims broadcast.
Tensor matmul(const Tensor& a, const Tensor& b) {
  EMBER_CHECK(a.dim() >= 1 && b.dim() >= 1,
              "both arguments to matmul need to be at least 1D, but "
              "they are ",
              a.dim(), "D and ", b.dim(), "D");
  if (a.dim() == 1 && b.dim() == 1) {
    EMBER_CHECK(a.size(0) == b.size(0), "inconsistent tensor size, expected tensor [", a.size(0),
                "] and src [", b.size(0), "] to have the same number of elements, but got ",
                a.size(0), " and ", b.size(0), " elements respectively");
    return matmul(a.unsqueeze(0), b.unsqueeze(1)).reshape({});
  }
  if (a.dim() == 1) return matmul(a.unsqueeze(0), b).squeeze(-2);
  if (b.dim() == 1) return matmul(a, b.unsqueeze(1)).squeeze(-1);
  const int64_t n = a.size(-2), k = a.size(-1), k2 = b.size(-2), m = b.size(-1);
  EMBER_CHECK(k == k2, "mat1 and mat2 shapes cannot be multiplied (", n, "x", k, " and ", k2, "x",
              m, "; shapes ", shape_str(a.sizes()), " and ", shape_str(b.sizes()), ")");
  const Shape batch_a(a.sizes().begin(), a.sizes().end() - 2);
  const Shape batch_b(b.sizes().begin(), b.sizes().end() - 2);
  const Shape batch = broadcast_shapes(batch_a, batch_b);
  const int64_t B = detail::numel_of(batch);
  Shape ea = batch, eb = batch;
  ea.insert(ea.end(), {n, k});
  eb.insert(eb.end(), {k, m});
  Shape out = batch;
  out.insert(out.end(), {n, m});
  return bmm(a.expand(ea).reshape({B, n, k}), b.expand(eb).reshape({B, k, m})).reshape(out);
}

Tensor Tensor::matmul(const Tensor& other) const { return ember::matmul(*this, other); }

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  EMBER_CHECK(!tensors.empty(), "torch.cat(): expected a non-empty list of Tensors");
  const Tensor& first = tensors[0];
  dim = wrap_dim(dim, first.dim());
  EMBER_CHECK(first.dim() > 0, "zero-dimensional tensor (at position 0) cannot be concatenated");
  Shape out_shape = first.sizes();
  out_shape[dim] = 0;
  DType dtype = first.dtype();
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    EMBER_CHECK(t.dim() == first.dim(), "Tensors must have same number of dimensions: got ",
                first.dim(), " and ", t.dim(), " (tensor ", i, " has shape ", shape_str(t.sizes()),
                ")");
    for (int64_t d = 0; d < t.dim(); ++d)
      EMBER_CHECK(d == dim || t.size(d) == first.size(d),
                  "Sizes of tensors must match except in "
                  "dimension ",
                  dim, ". Expected size ", first.size(d), " but got size ", t.size(d),
                  " for tensor number ", i, " in the list (shapes ", shape_str(first.sizes()),
                  " and ", shape_str(t.sizes()), ")");
    out_shape[dim] += t.size(dim);
    dtype = promote(dtype, t.dtype());
  }
  Tensor y = detail::new_tensor(out_shape, dtype);
  std::vector<int64_t> starts, lengths;
  int64_t at = 0;
  for (const Tensor& t : tensors) {
    Tensor window = y.slice(dim, at, at + t.size(dim));
    kernels::copy(window, t);
    starts.push_back(at);
    lengths.push_back(t.size(dim));
    at += t.size(dim);
  }
  auto node = std::make_shared<autograd::FunctionNode>("CatBackward0", [=](const Tensor& g) {
    Grads out;
    for (size_t i = 0; i < starts.size(); ++i)
      out.push_back(g.slice(dim, starts[i], starts[i] + lengths[i]));
    return out;
  });
  autograd::record(node, tensors, {&y});
  return y;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  EMBER_CHECK(!tensors.empty(), "stack expects a non-empty TensorList");
  dim = wrap_dim(dim, tensors[0].dim() + 1);
  std::vector<Tensor> parts;
  for (size_t i = 0; i < tensors.size(); ++i) {
    EMBER_CHECK(tensors[i].sizes() == tensors[0].sizes(),
                "stack expects each tensor to be equal "
                "size, but got ",
                shape_str(tensors[0].sizes()), " at entry 0 and ", shape_str(tensors[i].sizes()),
                " at entry ", i);
    parts.push_back(tensors[i].unsqueeze(dim));
  }
  return cat(parts, dim);
}

}  // namespace ember
