#pragma once
// Internal helpers shared by the normalization layers: the one fused autograd node per call,
// argument checks, and the repr pieces.
#include <functional>
#include <string>

#include "ember/autograd/node.h"
#include "layers/kernels/norm_kernels.h"

namespace ember::nn::detail {

// Records one node with inputs {x, weight, bias} whose backward is `backward(dy, needs)`.
// Parameter gradients come back flat and are reshaped to the parameters' shapes.
Tensor record_norm(
    const std::string& name, Tensor y, const Tensor& x, const Tensor& weight, const Tensor& bias,
    std::function<kernels::NormGrads(const Tensor& dy, kernels::NeedGrads)> backward);

// A row norm call (LayerNorm, GroupNorm, InstanceNorm, RMSNorm): the kernel forward and one
// node whose backward is the row-norm backward.
Tensor row_norm(const char* name, const Tensor& x, const kernels::RowLayout& layout,
                const Tensor& weight, const Tensor& bias, double eps, bool centered);

// Throws unless `t` (when defined) has `n` elements: "weight should contain 3 elements not 4".
void check_per_channel(const Tensor& t, const char* what, int64_t n);
// running ← keep·running + take·batch, in place (the running-statistics update; running and
// batch hold the same number of values).
void blend_into(const Tensor& running, const Tensor& batch, double keep, double take);
// Throws unless every defined tensor has x's dtype.
void check_same_dtype(const Tensor& x,
                      std::initializer_list<std::pair<const char*, const Tensor*>> others);
// "expected 4D input (got 3D input)" / "expected 2D or 3D input (got 4D input)"
void check_rank(const Tensor& x, int64_t a, int64_t b);
// Python's bool repr.
inline const char* py_bool(bool b) { return b ? "True" : "False"; }

}  // namespace ember::nn::detail
