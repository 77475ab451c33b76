#pragma once
// Internal: calls f(T{}) with the C++ type of a dtype, so kernels are written once as templates.
#include "ember/dtype.h"

namespace ember::detail {

template <class F>
decltype(auto) dispatch(DType dtype, F&& f) {
  switch (dtype) {
    case kFloat32:
      return f(float{});
    case kFloat64:
      return f(double{});
    case kInt64:
      break;
  }
  return f(int64_t{});
}

// Floating dtypes only (reductions like mean, and transcendental functions).
template <class F>
decltype(auto) dispatch_floating(DType dtype, F&& f) {
  if (dtype == kFloat64) return f(double{});
  return f(float{});
}

}  // namespace ember::detail
