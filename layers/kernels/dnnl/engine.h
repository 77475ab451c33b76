#pragma once
// Internal: what every oneDNN kernel shares — the CPU engine, a stream, the primitive cache and
// the wrapping of ember tensors as oneDNN memory (no copies: oneDNN reads and writes our buffers).
#include <compare>
#include <cstdint>
#include <functional>
#include <oneapi/dnnl/dnnl.hpp>
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
  enum class Kind {
    BatchNormForward,
    BatchNormBackward,
    LayerNormForward,
    LayerNormBackward,
    ConvForward,
    ConvBackwardData,
    ConvBackwardWeights,
    ConvReorder
  };
  Kind kind;
  std::vector<int64_t> dims;
  onednn::memory::format_tag tag;
  unsigned flags;
  double eps;
  int threads;
  auto operator<=>(const PrimitiveKey&) const = default;
};

// Attributes every primitive here is created with: the scratchpad is ours (see Primitive).
onednn::primitive_attr primitive_attr();

// A primitive with the scratchpad it needs. oneDNN's library-managed scratchpad belongs to the
// primitive object (or to the creating thread), so one cached primitive run from two threads at
// once would share its reduction buffers and spin barriers — and hang. With
// scratchpad_mode::user each execution brings its own, and a cached primitive may run anywhere.
struct Primitive {
  onednn::primitive primitive;
  onednn::memory::desc scratchpad;
  // The layouts the primitive chose for its operands, when they were left to it (format_tag::any),
  // in an order each kernel defines.
  std::vector<onednn::memory::desc> operands = {};
};
template <class PrimitiveType, class PrimitiveDesc>
Primitive make_primitive(const PrimitiveDesc& pd) {
  return {PrimitiveType(pd), pd.scratchpad_desc()};
}

// The primitive for `key`, created by `make` on the first call only. Thread-safe.
Primitive cached_primitive(PrimitiveKey key, const std::function<Primitive()>& make);

// A oneDNN view of t's buffer (t must be float32 and laid out as `desc` says).
onednn::memory wrap(const onednn::memory::desc& desc, const Tensor& t);

// Runs `p` to completion with this thread's scratchpad; oneDNN failures become ember::Error.
void execute(const Primitive& p, std::unordered_map<int, onednn::memory> args);

// Per-channel (or per-row) statistics: a 1-D float32 desc of n entries.
onednn::memory::desc vector_desc(int64_t n);

// Whether oneDNN's float32 statistics may have moved some normalized value by more than 1e-4, so
// the call must be redone with the native kernel's double-precision ones. The error of y is the
// mean's relative error (`mean_rel_error`, measured per primitive) times |mean|·rstd — small for
// ordinary data, huge for a group far from zero compared with its spread (a constant one at
// worst: rstd = 1/sqrt(eps)). O(groups): a glance at the statistics, not at the data.
bool statistics_at_risk(const Tensor& mean, const Tensor& rstd, double mean_rel_error);

// rstd = 1 / sqrt(var + eps), computed in double from oneDNN's (biased) variance.
Tensor rstd_from_var(const Tensor& var, double eps);
// The inverse, for backward: oneDNN wants the variance, the interface keeps rstd.
Tensor var_from_rstd(const Tensor& rstd, double eps);

}  // namespace ember::nn::kernels::dnnl
