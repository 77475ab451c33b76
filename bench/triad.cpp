#include "bench/triad.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <stdexcept>

namespace bench {

double triad_gbps(int threads, size_t elements, int runs) {
  const auto n = static_cast<std::ptrdiff_t>(elements);
  // Uninitialized on purpose: the first touch below, with the same static schedule as the timed
  // loop, places each page where the thread that streams it runs.
  std::unique_ptr<double[]> a(new double[elements]), b(new double[elements]),
      c(new double[elements]);
  double* pa = a.get();
  double* pb = b.get();
  double* pc = c.get();
#pragma omp parallel for schedule(static) num_threads(threads)
  for (std::ptrdiff_t i = 0; i < n; ++i) {
    pa[i] = 0.0;
    pb[i] = 1.0;
    pc[i] = 2.0;
  }
  const double s = 3.0;
  double best = 1e30;
  for (int r = 0; r < runs; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel for schedule(static) num_threads(threads)
    for (std::ptrdiff_t i = 0; i < n; ++i) pa[i] = pb[i] + s * pc[i];
    const std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
    best = std::min(best, dt.count());
  }
  // Reading the result keeps the compiler from dropping the loops.
  if (pa[n / 2] != 7.0) throw std::logic_error("triad: wrong result");
  return 3.0 * sizeof(double) * static_cast<double>(elements) / best / 1e9;
}

}  // namespace bench
