#pragma once
// The machine's streaming bandwidth, measured in-process so that the bound a norm is compared
// with reflects this run's machine state (other tenants, frequency, thread count).
#include <cstddef>

namespace bench {

// Best-of-`runs` STREAM triad a[i] = b[i] + s·c[i] over three double arrays of `elements` each
// (default 3 × 128 MiB, ≫ any LLC here), with `threads` OpenMP threads. GB/s counting 24 bytes
// per element — two reads, one write — and, like STREAM, not the write-allocate read of a[i].
double triad_gbps(int threads, size_t elements = size_t{1} << 24, int runs = 10);

}  // namespace bench
