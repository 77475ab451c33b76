#pragma once
// What bench_norm and bench_train share around Google Benchmark: their command line, the reporter
// that keeps every repetition's time for the markdown table printed after the run, and the
// table's number formatting.
#include <benchmark/benchmark.h>

#include <map>
#include <string>
#include <vector>

namespace bench {

// Which statistic of the repetitions the table shows. The median is the default; the minimum
// (--table_stat=min) estimates the undisturbed cost when other tenants' noise only adds time.
enum class Stat { Median, Min };

// The flags a program takes besides Google Benchmark's: --no_parity skips the start-up check that
// both sides compute the same thing; --table_stat=median|min|both picks the tables printed.
struct ReportOptions {
  bool parity = true;
  std::vector<Stat> stats = {Stat::Median};
};

// Initializes Google Benchmark with defaults for a noisy 2-core machine: 10 repetitions of at
// least `min_time` seconds each, interleaved at random with every other benchmark's so that a
// burst of load from elsewhere spreads over all of them instead of sinking one. Flags given on the
// command line win (Google Benchmark keeps the last occurrence). False on an unrecognized flag.
bool initialize(int argc, char** argv, const char* min_time, ReportOptions* options);

// Shows one line per benchmark (its median over repetitions, or its only run) and keeps every
// repetition's time for the table.
class TimeCollector : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override;

  // In ms, or NaN when the benchmark did not run (filtered out, or failed). Only Google
  // Benchmark's median survives --benchmark_report_aggregates_only.
  double time_ms(const std::string& name, Stat stat) const;
  // The failed benchmarks' error messages by name.
  const std::map<std::string, std::string>& errors() const { return errors_; }

 private:
  std::map<std::string, double> medians_;
  std::map<std::string, std::vector<double>> samples_;
  std::map<std::string, std::string> errors_;
};

// "<program>: ember with oneDNN" (or without), ending the line with `torch_side` — what the
// LibTorch half says of itself, or the note that it was not found.
void print_banner(const char* program, const std::string& torch_side);
// The failed benchmarks' messages, after a table.
void print_errors(const TimeCollector& results);

// printf's `format` of v, or "–" for NaN (not measured).
std::string fmt(const char* format, double v);
// Three significant digits, so 12.8 ms and 0.00512 ms both read naturally.
std::string fmt_ms(double ms);
// "≤ 0.6 ✓" when met, "≤ 0.6 ✗" when missed, "≤ 0.6" when not measured.
std::string verdict(double limit, double value);

}  // namespace bench
