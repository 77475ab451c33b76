#pragma once
// Internal: the strided loop behind every elementwise kernel (a small TensorIterator).
// Operands are viewed with the output's shape (broadcast operands get stride 0); dims are ordered
// by the output's memory layout and adjacent dims are merged, so the inner loop is as long and as
// unit-strided as the layout allows. The callback gets one 1-D run at a time:
//   body(offsets, n, inner_strides) — element offsets of each operand, run length, and the strides.
#include <omp.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <numeric>
#include <vector>

#include "ember/tensor.h"

namespace ember::kernels {

// Below this many elements a kernel runs on one thread: starting a parallel region costs more.
inline constexpr int64_t kParallelGrain = 32768;

template <size_t N>
struct LoopPlan {
  Shape sizes;                   // outer..inner
  std::array<Shape, N> strides;  // per operand, same order
  int64_t numel = 1;
};

// Builds a plan for `shape` where operand i has `strides[i]` (already broadcast: 0 on expanded
// dims). The first operand (the output) decides the iteration order.
template <size_t N>
LoopPlan<N> make_plan(const Shape& shape, const std::array<Shape, N>& strides) {
  const int64_t nd = static_cast<int64_t>(shape.size());
  std::vector<int64_t> order(nd);
  std::iota(order.begin(), order.end(), 0);
  // Outermost first: larger output stride first; ties keep logical order.
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return std::abs(strides[0][a]) > std::abs(strides[0][b]);
  });
  LoopPlan<N> plan;
  for (int64_t d : order) {
    if (shape[d] == 1) continue;  // size-1 dims contribute nothing
    bool merged = false;
    if (!plan.sizes.empty()) {
      // Merge d into the previous (outer) dim when every operand is linear across both.
      bool ok = true;
      for (size_t i = 0; i < N; ++i) ok = ok && plan.strides[i].back() == strides[i][d] * shape[d];
      if (ok) {
        plan.sizes.back() *= shape[d];
        for (size_t i = 0; i < N; ++i) plan.strides[i].back() = strides[i][d];
        merged = true;
      }
    }
    if (!merged) {
      plan.sizes.push_back(shape[d]);
      for (size_t i = 0; i < N; ++i) plan.strides[i].push_back(strides[i][d]);
    }
  }
  if (plan.sizes.empty()) {  // a scalar, or all dims of size 1
    plan.sizes.push_back(1);
    for (size_t i = 0; i < N; ++i) plan.strides[i].push_back(0);
  }
  plan.numel = 1;
  for (int64_t s : shape) plan.numel *= s;
  return plan;
}

// Runs body over the plan, splitting the outer runs across threads when the work is large.
template <size_t N, class Body>
void run_plan(const LoopPlan<N>& plan, Body&& body) {
  if (plan.numel == 0) return;
  const int64_t nd = static_cast<int64_t>(plan.sizes.size());
  const int64_t inner = plan.sizes.back();
  std::array<int64_t, N> inner_strides;
  for (size_t i = 0; i < N; ++i) inner_strides[i] = plan.strides[i].back();
  const int64_t outer = plan.numel / inner;

  auto run_range = [&](int64_t begin, int64_t end) {
    // Decompose `begin` into a multi-index over the outer dims, then walk forward.
    std::vector<int64_t> index(nd, 0);
    std::array<int64_t, N> offsets{};
    int64_t rest = begin;
    for (int64_t d = nd - 2; d >= 0; --d) {
      index[d] = rest % plan.sizes[d];
      rest /= plan.sizes[d];
      for (size_t i = 0; i < N; ++i) offsets[i] += index[d] * plan.strides[i][d];
    }
    for (int64_t r = begin; r < end; ++r) {
      body(offsets, inner, inner_strides);
      for (int64_t d = nd - 2; d >= 0; --d) {  // increment the multi-index
        ++index[d];
        for (size_t i = 0; i < N; ++i) offsets[i] += plan.strides[i][d];
        if (index[d] < plan.sizes[d]) break;
        for (size_t i = 0; i < N; ++i) offsets[i] -= index[d] * plan.strides[i][d];
        index[d] = 0;
      }
    }
  };

  if (plan.numel < kParallelGrain || outer == 1 || omp_get_max_threads() == 1) {
    run_range(0, outer);
    return;
  }
#pragma omp parallel
  {
    const int64_t nt = omp_get_num_threads(), t = omp_get_thread_num();
    const int64_t chunk = (outer + nt - 1) / nt;
    const int64_t begin = std::min(outer, t * chunk), end = std::min(outer, begin + chunk);
    if (begin < end) run_range(begin, end);
  }
}

// Strides of `t` viewed with `shape` (NumPy broadcasting: missing/size-1 dims get stride 0).
inline Shape broadcast_strides(const Tensor& t, const Shape& shape) {
  Shape out(shape.size(), 0);
  const int64_t lead = static_cast<int64_t>(shape.size()) - t.dim();
  for (int64_t d = 0; d < t.dim(); ++d)
    out[lead + d] = t.size(d) == 1 && shape[lead + d] != 1 ? 0 : t.stride(d);
  return out;
}

}  // namespace ember::kernels
