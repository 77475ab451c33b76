#pragma once
// How busy the rest of the machine was while benchmarking: on a small shared machine other
// processes' load shows up directly in the times (worst at 2 threads, where an OpenMP barrier
// waits for a descheduled thread), so the table says how much there was.
#include <string>

namespace bench {

// The share of all CPUs' time that other processes (and the hypervisor: steal time) used since
// construction, from /proc/stat minus this process's /proc/self/stat. NaN without /proc.
class ForeignLoad {
 public:
  ForeignLoad() : start_(sample()) {}
  double share() const;

 private:
  struct Sample {
    double busy = 0, total = 0, self = 0;  // clock ticks
    bool ok = false;
  };
  static Sample sample();
  Sample start_;
};

// "/proc/loadavg"'s 1, 5 and 15 minute averages, or "?".
std::string load_average();

}  // namespace bench
