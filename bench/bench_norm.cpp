// bench_norm: every normalization module, forward / backward / forward+backward (and BatchNorm's
// eval forward), at 1 and 2 threads, on ember's native, dnnl and auto backends and — when built
// with LibTorch — on torch::nn's modules with the same values in the same process. After Google
// Benchmark's own output it prints a markdown table of medians, ratios to LibTorch and to the
// memory-bandwidth bound measured by a triad probe at startup.
//
//   bench_norm [--benchmark_filter=REGEX] [--benchmark_repetitions=10] [--benchmark_min_time=0.05]
//              [--benchmark_enable_random_interleaving=true] [--table_stat=median|min|both]
//              [--no_parity] [other Google Benchmark flags]   (the values shown are defaults)
// Benchmark names are <Norm>/<shape>[/nchw|/nhwc]/<fwd|bwd|fwdbwd|eval>/t<threads>/<backend>.
#include <benchmark/benchmark.h>
#include <ember/ember.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "bench/machine_load.h"
#include "bench/norm_case.h"
#include "bench/report.h"
#include "bench/torch_side.h"
#include "bench/triad.h"

namespace bench {
namespace {

constexpr int kThreadCounts[] = {1, 2};

enum class Backend { Native, Dnnl, Auto, Torch };
constexpr Backend kBackends[] = {Backend::Native, Backend::Dnnl, Backend::Auto, Backend::Torch};

const char* backend_name(Backend b) {
  switch (b) {
    case Backend::Native:
      return "ember-native";
    case Backend::Dnnl:
      return "ember-dnnl";
    case Backend::Auto:
      return "ember-auto";
    case Backend::Torch:
      return "libtorch";
  }
  return "?";
}

// A case with the targets: the median ratio ember-auto / LibTorch in the same run.
struct BenchCase {
  NormCase norm;
  double fwdbwd_target = 0;  // train fwd+bwd (0: no target)
  double eval_target = 0;    // eval fwd
  double bound_aim = 0;      // train fwd+bwd, ember-auto / bandwidth bound
  int reference = -1;        // the case whose LibTorch timing is compared (an NCHW twin)
};

std::vector<BenchCase> make_cases() {
  std::vector<BenchCase> cases;
  const std::vector<std::vector<int64_t>> bn_shapes = {
      {32, 64, 56, 56}, {16, 32, 64, 64}, {256, 64, 8, 8}};
  for (const auto& s : bn_shapes)
    cases.push_back({{Norm::BatchNorm2d, s, 0, false}, 0.6, 1.0, 1.5});
  // Channels-last is measured against LibTorch on NCHW: what a user switching layouts gains.
  for (size_t i = 0; i < bn_shapes.size(); ++i)
    cases.push_back({{Norm::BatchNorm2d, bn_shapes[i], 0, true}, 0.5, 0, 0, static_cast<int>(i)});
  cases.push_back({{Norm::LayerNorm, {4096, 768}}, 0.8});
  cases.push_back({{Norm::GroupNorm, {32, 256, 28, 28}, 32}, 0.9});
  cases.push_back({{Norm::GroupNorm, {16, 32, 64, 64}, 8}, 0.9});
  cases.push_back({{Norm::InstanceNorm2d, {16, 32, 64, 64}}, 0.7});
  // Per-call overhead: tensors this small cost nothing to move.
  cases.push_back({{Norm::BatchNorm1d, {2, 5}}, 0.33});
  cases.push_back({{Norm::LayerNorm, {64, 256}}, 0.33});
  for (size_t i = 0; i < cases.size(); ++i)
    if (cases[i].reference < 0) cases[i].reference = static_cast<int>(i);
  return cases;
}

const std::vector<BenchCase>& cases() {
  static const std::vector<BenchCase> all = make_cases();
  return all;
}

std::vector<Phase> phases_of(const NormCase& c) {
  std::vector<Phase> p = {Phase::ForwardBackward, Phase::Forward, Phase::Backward};
  if (c.is_batch_norm()) p.insert(p.begin() + 1, Phase::EvalForward);
  return p;
}

// Bytes a phase must move to or from memory, float32, n = numel (per-channel and per-row vectors
// are negligible and ignored). Compulsory traffic, each tensor touched once:
//   train or eval forward: read x, write y            2·4n
//   backward:              read x and dy, write dx    3·4n  (a kernel reading y instead of x: same)
//   forward+backward:                                 5·4n
// Eval forward streams at that floor, but train-mode phases cannot on tensors larger than the
// LLC: statistics must be complete before the first output is written, so train forward reads x
// twice (3·4n) and backward reads x and dy twice (reductions, then dx: 5·4n) — 8·4n for
// forward+backward, 1.6× this bound — unless the second pass hits the cache (the 4–8 MiB tensors
// here fit the 32 MiB L3, the 25 MiB ones partly). So fwd+bwd below 1.6× takes cache reuse, and
// anything below 1.0 comes from the cache (repeated iterations on the same tensors keep the small
// ones there). Writes count once (no write-allocate read), as in the triad's GB/s.
double min_bytes(const NormCase& c, Phase phase) {
  const double tensor = 4.0 * static_cast<double>(c.numel());
  switch (phase) {
    case Phase::Forward:
    case Phase::EvalForward:
      return 2 * tensor;
    case Phase::Backward:
      return 3 * tensor;
    case Phase::ForwardBackward:
      return 5 * tensor;
  }
  return 0;
}
// Below this the tensors live in L2 and the bandwidth bound says nothing (overhead cases).
constexpr double kMinBoundBytes = 1 << 20;

void set_threads(int n) {
  ember::set_num_threads(n);
#ifdef EMBER_BENCH_WITH_TORCH
  torch_set_num_threads(n);
#endif
}

// The same values for every backend and library: x ~ N(0, 1) and the output gradient dy ~ N(0, 1),
// from fixed seeds, generated once per case.
struct Inputs {
  std::vector<float> x, dy;
};
const Inputs& inputs_of(int case_index) {
  static std::map<int, Inputs> cache;
  auto it = cache.find(case_index);
  if (it != cache.end()) return it->second;
  const NormCase& c = cases()[case_index].norm;
  ember::manual_seed(1000 + static_cast<uint64_t>(case_index));
  Inputs in{ember::randn(c.shape).to_vector<float>(), ember::randn(c.shape).to_vector<float>()};
  return cache.emplace(case_index, std::move(in)).first->second;
}

std::unique_ptr<NormRunner> make_runner(int case_index, [[maybe_unused]] Backend backend) {
  // An NHWC case takes its NCHW twin's values, so both layouts and LibTorch see the same numbers.
  const Inputs& in = inputs_of(cases()[case_index].reference);
  const NormCase& c = cases()[case_index].norm;
#ifdef EMBER_BENCH_WITH_TORCH
  if (backend == Backend::Torch) return make_torch_runner(c, in.x, in.dy);
#endif
  return make_ember_runner(c, in.x, in.dy);
}

void select_backend(Backend backend) {
  using ember::nn::NormBackend;
  ember::nn::set_norm_backend(backend == Backend::Native ? NormBackend::Native
                              : backend == Backend::Dnnl ? NormBackend::Dnnl
                                                         : NormBackend::Auto);
}

// Google Benchmark calls a benchmark's function once per iteration-count probe and once per
// repetition, and with random interleaving the repetitions of all benchmarks come in random
// order. So each (case, backend) keeps its runner — module and tensors — for the whole run
// (≈ 1 GB in all) and is re-prepared and re-warmed only when its phase or thread count changes.
using Key = std::tuple<int, Phase, int, Backend>;  // case, phase, threads, backend
struct CachedRunner {
  std::unique_ptr<NormRunner> runner;
  Phase phase = Phase::Forward;
  int threads = 0;  // 0: not prepared
};
using RunnerCache = std::map<std::pair<int, Backend>, CachedRunner>;
// main() empties it before returning: runners left to static destruction would outlive the
// libraries' own statics (oneDNN's engine, ATen's allocator) that their tensors still use.
RunnerCache& runner_cache() {
  static RunnerCache cache;
  return cache;
}

void run_benchmark(benchmark::State& state, Key key) {
  const auto [case_index, phase, threads, backend] = key;
  set_threads(threads);
  select_backend(backend);
  CachedRunner& cached = runner_cache()[{case_index, backend}];
  try {
    if (!cached.runner) cached.runner = make_runner(case_index, backend);
    if (cached.phase != phase || cached.threads != threads) {
      cached.threads = 0;
      cached.runner->prepare(phase);
      // Warm-up: oneDNN primitive creation for this thread count, first-touch page faults,
      // allocator growth.
      for (int i = 0; i < 2; ++i) cached.runner->run(phase);
      cached.phase = phase;
      cached.threads = threads;
    }
    for (auto _ : state) cached.runner->run(phase);
  } catch (const std::exception& e) {
    cached = CachedRunner();
    state.SkipWithError(e.what());
  }
  select_backend(Backend::Auto);
}

void register_benchmarks() {
  const auto& all = cases();
  for (int ci = 0; ci < static_cast<int>(all.size()); ++ci)
    for (Phase phase : phases_of(all[ci].norm))
      for (int threads : kThreadCounts)
        for (Backend backend : kBackends) {
          if (backend == Backend::Torch && (!have_torch() || all[ci].reference != ci)) continue;
          const std::string name = all[ci].norm.name() + "/" + phase_name(phase) + "/t" +
                                   std::to_string(threads) + "/" + backend_name(backend);
          const Key key{ci, phase, threads, backend};
          benchmark::RegisterBenchmark(name.c_str(),
                                       [key](benchmark::State& st) { run_benchmark(st, key); })
              ->UseRealTime()
              ->Unit(benchmark::kMicrosecond);
        }
}

// Each ember backend against LibTorch (or, without it, against ember-native) on one train-mode
// forward+backward: max |Δ| relative to the reference's max |value|, for y and dx. Catches a
// benchmark comparing unlike computations, and a misbehaving backend.
void print_parity() {
  std::printf("\nParity (train fwd+bwd, max|Δ| / max|ref|, y and dx; reference %s):\n",
              have_torch() ? "LibTorch NCHW" : "ember-native");
  set_threads(*std::max_element(std::begin(kThreadCounts), std::end(kThreadCounts)));
  const auto& all = cases();
  for (int ci = 0; ci < static_cast<int>(all.size()); ++ci) {
    std::vector<float> ref_y, ref_dx;
    std::string line = "  " + all[ci].norm.label() + ":";
    try {
      select_backend(Backend::Native);
      make_runner(all[ci].reference, have_torch() ? Backend::Torch : Backend::Native)
          ->outputs(&ref_y, &ref_dx);
    } catch (const std::exception& e) {
      std::printf("%s reference failed: %s\n", line.c_str(), e.what());
      continue;
    }
    const auto rel = [](const std::vector<float>& a, const std::vector<float>& ref) {
      double diff = 0, scale = 0;
      for (size_t i = 0; i < ref.size(); ++i) {
        diff = std::max(diff, std::abs(static_cast<double>(a[i]) - ref[i]));
        scale = std::max(scale, std::abs(static_cast<double>(ref[i])));
      }
      return a.size() == ref.size() ? diff / std::max(scale, 1e-30) : INFINITY;
    };
    for (Backend b : {Backend::Native, Backend::Dnnl, Backend::Auto}) {
      std::vector<float> y, dx;
      select_backend(b);
      try {
        make_runner(ci, b)->outputs(&y, &dx);
        const double ey = rel(y, ref_y), edx = rel(dx, ref_dx);
        line += std::string(" ") + backend_name(b) + " " + fmt("%.1e", ey) + "/" +
                fmt("%.1e", edx) + (std::max(ey, edx) > 1e-3 ? " MISMATCH" : "");
      } catch (const std::exception& e) {
        line += std::string(" ") + backend_name(b) + " error: " + e.what();
      }
    }
    select_backend(Backend::Auto);
    std::printf("%s\n", line.c_str());
  }
}

void print_table(const TimeCollector& results, Stat stat, const std::map<int, double>& triad,
                 const std::string& load_before, const ForeignLoad& foreign) {
  const auto& all = cases();
  const auto name_of = [&](int ci, Phase p, int t, Backend b) {
    return all[ci].norm.name() + "/" + phase_name(p) + "/t" + std::to_string(t) + "/" +
           backend_name(b);
  };
  std::printf("\n## Normalization benchmark%s\n\n", stat == Stat::Min ? " (best repetitions)" : "");
  std::printf("%s over repetitions, ms, float32. Triad bandwidth:",
              stat == Stat::Min ? "Minimum" : "Medians");
  for (const auto& [t, gbps] : triad)
    std::printf(" %d thread%s %.1f GB/s;", t, t > 1 ? "s" : "", gbps);
  std::printf(" load average %s before, %s after; other processes used %s%% of the CPUs.",
              load_before.c_str(), load_average().c_str(),
              fmt("%.0f", 100 * foreign.share()).c_str());
#ifdef EMBER_BENCH_WITH_TORCH
  std::printf(" %s.", torch_description().c_str());
#endif
  std::printf(
      "\nbound = compulsory bytes (fwd: x+y, bwd: x+dy+dx) / triad GB/s at the same thread count; "
      "NHWC rows compare with LibTorch on NCHW.\n\n");
  std::printf(
      "| case | threads | ember-native ms | ember-dnnl ms | ember-auto ms | LibTorch ms | "
      "auto/LibTorch | auto/bound | LibTorch/bound | target |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
  for (int ci = 0; ci < static_cast<int>(all.size()); ++ci) {
    const BenchCase& bc = all[ci];
    for (Phase phase : phases_of(bc.norm))
      for (int t : kThreadCounts) {
        const double native = results.time_ms(name_of(ci, phase, t, Backend::Native), stat);
        const double dnnl = results.time_ms(name_of(ci, phase, t, Backend::Dnnl), stat);
        const double autob = results.time_ms(name_of(ci, phase, t, Backend::Auto), stat);
        const double torch = results.time_ms(name_of(bc.reference, phase, t, Backend::Torch), stat);
        if (std::isnan(native) && std::isnan(dnnl) && std::isnan(autob)) continue;
        const double bytes = min_bytes(bc.norm, phase);
        const double bound_ms = bytes >= kMinBoundBytes && triad.count(t)
                                    ? bytes / (triad.at(t) * 1e9) * 1e3
                                    : static_cast<double>(NAN);
        const double ratio = autob / torch;
        std::string target;
        if (phase == Phase::ForwardBackward && bc.fwdbwd_target > 0) {
          target = verdict(bc.fwdbwd_target, ratio);
          if (bc.bound_aim > 0) target += "; bound " + verdict(bc.bound_aim, autob / bound_ms);
        } else if (phase == Phase::EvalForward && bc.eval_target > 0) {
          target = verdict(bc.eval_target, ratio);
        }
        std::printf("| %s %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |\n",
                    bc.norm.label().c_str(), phase_label(phase), t, fmt_ms(native).c_str(),
                    fmt_ms(dnnl).c_str(), fmt_ms(autob).c_str(), fmt_ms(torch).c_str(),
                    fmt("%.2f", ratio).c_str(), fmt("%.2f", autob / bound_ms).c_str(),
                    fmt("%.2f", torch / bound_ms).c_str(), target.c_str());
      }
  }
  print_errors(results);
}

}  // namespace
}  // namespace bench

int main(int argc, char** argv) {
  // A full run takes about 5 minutes: medians of 10 short repetitions (single repetitions here
  // have a heavy tail — page faults, other tenants — that a median of 5 does not always hide).
  bench::ReportOptions options;
  if (!bench::initialize(argc, argv, "0.05", &options)) return 1;

#ifdef EMBER_BENCH_WITH_TORCH
  bench::print_banner("bench_norm", bench::torch_description() + " side by side");
#else
  bench::print_banner("bench_norm", "without LibTorch (not found at configure time)");
#endif
  const std::string load_before = bench::load_average();
  const bench::ForeignLoad foreign;
  std::map<int, double> triad;
  for (int t : bench::kThreadCounts) {
    triad[t] = bench::triad_gbps(t);
    std::printf("triad probe, %d thread%s: %.1f GB/s\n", t, t > 1 ? "s" : "", triad[t]);
  }
  if (options.parity) bench::print_parity();
  std::printf("\n");
  std::fflush(stdout);

  bench::register_benchmarks();
  bench::TimeCollector collector;
  benchmark::RunSpecifiedBenchmarks(&collector);
  bench::runner_cache().clear();
  for (bench::Stat stat : options.stats)
    bench::print_table(collector, stat, triad, load_before, foreign);
  benchmark::Shutdown();
  return 0;
}
