#pragma once
// Internal: OpenMP loops that cost nothing when they run serially. An `omp parallel ... if(false)`
// still builds a team (a malloc and a futex wake per call), which dominated small-tensor calls.
#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace ember::detail {

// f(i) for i in [0, n): split statically across threads when `parallel`, inline otherwise.
template <class F>
void parallel_for(int64_t n, bool parallel, F&& f) {
  if (!parallel || n < 2 || omp_get_max_threads() == 1) {
    for (int64_t i = 0; i < n; ++i) f(i);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) f(i);
}

// f(thread, threads) once per thread of a team (a team of one, inline, when !parallel).
template <class F>
void parallel_region(bool parallel, F&& f) {
  if (!parallel || omp_get_max_threads() == 1) {
    f(0, 1);
    return;
  }
#pragma omp parallel
  f(omp_get_thread_num(), omp_get_num_threads());
}

// The static share [begin, end) of n items for `thread` of `threads`.
inline void static_share(int64_t n, int thread, int threads, int64_t& begin, int64_t& end) {
  const int64_t chunk = (n + threads - 1) / threads;
  begin = std::min(n, thread * chunk);
  end = std::min(n, begin + chunk);
}

}  // namespace ember::detail
