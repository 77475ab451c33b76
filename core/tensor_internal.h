#pragma once
// Internal helpers for building tensors; not part of the public API.
#include "ember/tensor.h"

namespace ember::detail {

// A new tensor with fresh storage, laid out contiguously in `format`.
Tensor new_tensor(const Shape& shape, DType dtype, MemoryFormat format = MemoryFormat::Contiguous);
// A tensor sharing base's storage with the given geometry (no autograd history).
Tensor make_view(const Tensor& base, Shape sizes, Shape strides, int64_t offset);
int64_t numel_of(const Shape& shape);
// The memory format for the result of an elementwise op over `inputs` with `shape`:
// ChannelsLast when a 4-D input of that shape is channels-last (and not also contiguous).
MemoryFormat result_format(const Shape& shape, std::initializer_list<const Tensor*> inputs);

}  // namespace ember::detail
