#pragma once
// Internal: what every oneDNN kernel shares — the CPU engine, a stream, the primitive cache and
// the wrapping of ember tensors as oneDNN memory (no copies: oneDNN reads and writes our buffers).
#include <oneapi/dnnl/dnnl.hpp>

#include <compare>
#include <cstdint>
#include <functional>
#include <unordered_map>
#include <vector>

#include "ember/tensor.h"

namespace ember::nn::kernels::dnnl {

// Inside this namespace `dnnl` names ours; `onednn` names the library's.
namespace onednn = ::dnnl;

onednn::engine& cpu_engine();

using Flags = onednn::normalization_flags;
inline bool has_flag(Flags flags, Flags f) { return (flags & f) != Flags::none; }

// Everything a primitive was created for. The thread count is part of it because oneDNN sizes a
// primitive's work split and scratchpad for the threads it saw at creation (its own cache keys on
// it too), so set_num_threads gets primitives made for the new count.
struct PrimitiveKey {
  enum class Kind { BatchNormForward, BatchNormBackward, LayerNormForward, LayerNormBackward };
  Kind kind;
  std::vector<int64_t> dims;
  onednn::memory::format_tag tag;
  unsigned flags;
  double eps;
  int threads;
  auto operator<=>(const PrimitiveKey&) const = default;
};

// The primitive for `key`, created by `make` on the first call only. Thread-safe.
onednn::primitive cached_primitive(PrimitiveKey key,
                                   const std::function<onednn::primitive()>& make);

// A oneDNN view of t's buffer (t must be float32 and laid out as `desc` says).
onednn::memory wrap(const onednn::memory::desc& desc, const Tensor& t);

// Runs `p` to completion; oneDNN failures become ember::Error.
void execute(const onednn::primitive& p, const std::unordered_map<int, onednn::memory>& args);

// Per-channel (or per-row) statistics: a 1-D float32 desc of n entries.
onednn::memory::desc vector_desc(int64_t n);

// rstd = 1 / sqrt(var + eps), computed in double from oneDNN's (biased) variance.
Tensor rstd_from_var(const Tensor& var, double eps);
// The inverse, for backward: oneDNN wants the variance, the interface keeps rstd.
Tensor var_from_rstd(const Tensor& rstd, double eps);

}  // namespace ember::nn::kernels::dnnl
