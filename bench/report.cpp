#include "bench/report.h"

#include <ember/ember.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace bench {

namespace {
double to_ms(double value, benchmark::TimeUnit unit) {
  switch (unit) {
    case benchmark::kNanosecond:
      return value * 1e-6;
    case benchmark::kMicrosecond:
      return value * 1e-3;
    case benchmark::kMillisecond:
      return value;
    case benchmark::kSecond:
      return value * 1e3;
  }
  return value;
}
}  // namespace

bool initialize(int argc, char** argv, const char* min_time, ReportOptions* options) {
  // Static, so that whatever Google Benchmark keeps of argv outlives the run.
  static std::vector<std::string> args;
  args = {argv[0], "--benchmark_repetitions=10", std::string("--benchmark_min_time=") + min_time,
          "--benchmark_enable_random_interleaving=true"};
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--no_parity")
      options->parity = false;
    else if (arg == "--table_stat=min")
      options->stats = {Stat::Min};
    else if (arg == "--table_stat=both")
      options->stats = {Stat::Median, Stat::Min};
    else if (arg != "--table_stat=median")
      args.push_back(arg);
  }
  static std::vector<char*> cargs;
  cargs.clear();
  for (auto& a : args) cargs.push_back(a.data());
  int cargc = static_cast<int>(cargs.size());
  benchmark::Initialize(&cargc, cargs.data());
  return !benchmark::ReportUnrecognizedArguments(cargc, cargs.data());
}

void TimeCollector::ReportRuns(const std::vector<Run>& runs) {
  std::vector<Run> shown;
  for (const Run& r : runs) {
    const std::string& name = r.run_name.function_name;
    if (r.error_occurred) {
      errors_[name] = r.error_message;
      shown.push_back(r);
    } else if (r.run_type == Run::RT_Aggregate) {
      if (r.aggregate_name != "median") continue;
      medians_[name] = to_ms(r.GetAdjustedRealTime(), r.time_unit);
      shown.push_back(r);
    } else {
      samples_[name].push_back(to_ms(r.GetAdjustedRealTime(), r.time_unit));
      if (r.repetitions <= 1) shown.push_back(r);
    }
  }
  if (!shown.empty()) ConsoleReporter::ReportRuns(shown);
}

double TimeCollector::time_ms(const std::string& name, Stat stat) const {
  auto it = samples_.find(name);
  if (it == samples_.end() || it->second.empty()) {
    auto m = medians_.find(name);
    return stat == Stat::Median && m != medians_.end() ? m->second : NAN;
  }
  std::vector<double> v = it->second;
  std::sort(v.begin(), v.end());
  if (stat == Stat::Min) return v.front();
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

std::string fmt(const char* format, double v) {
  if (std::isnan(v)) return "–";
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string fmt_ms(double ms) {
  if (std::isnan(ms)) return "–";
  if (ms >= 100) return fmt("%.0f", ms);
  if (ms >= 10) return fmt("%.1f", ms);
  if (ms >= 1) return fmt("%.2f", ms);
  return fmt("%.3g", ms);
}

std::string verdict(double limit, double value) {
  const std::string s = fmt("≤ %.2g", limit);
  if (std::isnan(value)) return s;
  return s + (value <= limit ? " ✓" : " ✗");
}

void print_banner(const char* program, const std::string& torch_side) {
  std::printf("%s: ember %s oneDNN, %s\n", program, ember::nn::has_dnnl() ? "with" : "without",
              torch_side.c_str());
}

void print_errors(const TimeCollector& results) {
  for (const auto& [name, message] : results.errors())
    std::printf("\nerror in %s: %s", name.c_str(), message.c_str());
  std::printf("\n");
}

}  // namespace bench
