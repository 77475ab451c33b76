// LibTorch's helpers for both benchmark programs. Built only when find_package(Torch) succeeds, in
// its own C++17 translation unit (bench/CMakeLists.txt).
#include "bench/torch_side.h"

#include <ATen/Parallel.h>
#include <torch/version.h>

#include <fstream>

namespace bench {

// ATen's OpenMP backend keeps its own count and re-applies it lazily on each thread's first
// parallel region, so set it through ATen, not just omp_set_num_threads.
void torch_set_num_threads(int n) { at::set_num_threads(n); }

std::string torch_description() {
  std::string backend = "unknown";
  const std::string info = at::get_parallel_info();
  const std::string key = "ATen parallel backend: ";
  if (const auto pos = info.find(key); pos != std::string::npos)
    backend = info.substr(pos + key.size(), info.find('\n', pos) - pos - key.size());
  // Major.minor only: Debian's 1.13.1 headers say patch 0.
  return "LibTorch " + std::to_string(TORCH_VERSION_MAJOR) + "." +
         std::to_string(TORCH_VERSION_MINOR) + " (ATen parallel backend: " + backend + ")";
}

// LibTorch's matrix products run on the BLAS (ember's use oneDNN's own GEMM). Debian's libtorch
// links libblas.so.3, which the alternatives system points at the unoptimized reference (netlib)
// BLAS unless OpenBLAS or BLIS is installed — and that alone makes LibTorch's LSTM step several
// times slower, so the table says which one ran.
std::string loaded_blas() {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    const auto path_at = line.find('/');
    if (path_at == std::string::npos) continue;
    const std::string path = line.substr(path_at);
    const std::string file = path.substr(path.rfind('/') + 1);
    if (file.find("blas") == std::string::npos && file.find("blis") == std::string::npos) continue;
    const bool reference =
        file.rfind("libblas.so", 0) == 0 && path.find("/blas/") != std::string::npos;
    return path + (reference ? " (the reference BLAS)" : "");
  }
  return "none";
}

}  // namespace bench
