#pragma once
// What both benchmark programs ask of LibTorch besides their models, behind plain functions:
// torch_side.cpp is compiled as C++17 with LibTorch's headers, and only when LibTorch is found
// (bench/CMakeLists.txt), so ember's C++20 sources never include them.
#include <string>

namespace bench {

constexpr bool have_torch() {
#ifdef EMBER_BENCH_WITH_TORCH
  return true;
#else
  return false;
#endif
}

#ifdef EMBER_BENCH_WITH_TORCH
void torch_set_num_threads(int n);
std::string torch_description();  // "LibTorch 1.13 (ATen parallel backend: OpenMP)"
// The BLAS library mapped into this process, e.g. "/usr/lib/x86_64-linux-gnu/openblas-pthread/
// libblas.so.3", with " (the reference BLAS)" appended for netlib's; "none" without one.
std::string loaded_blas();
#endif

}  // namespace bench
