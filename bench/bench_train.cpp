// bench_train: one full training step — forward, loss, zero_grad, backward, optimizer step — of a
// small CNN (SGD) and of an unrolled LSTMCell with LayerNorm (Adam), at 1 and 2 threads, on ember
// and — when built with LibTorch — on torch::nn with the same batch and the same initial weights
// in the same process (models: bench/train_case.h). After Google Benchmark's own output it prints
// a markdown table of medians and the ratio ember / LibTorch.
//
//   bench_train [--benchmark_filter=REGEX] [--benchmark_repetitions=10] [--benchmark_min_time=0.2]
//               [--benchmark_enable_random_interleaving=true] [--table_stat=median|min|both]
//               [--no_parity] [other Google Benchmark flags]   (the values shown are defaults)
// Benchmark names are TrainStep/<cnn|lstm>/t<threads>/<ember|libtorch>.
#include <benchmark/benchmark.h>
#include <ember/ember.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "bench/machine_load.h"
#include "bench/report.h"
#include "bench/torch_side.h"
#include "bench/train_case.h"

namespace bench {
namespace {

constexpr int kThreadCounts[] = {1, 2};

enum class Library { Ember, Torch };
constexpr Library kLibraries[] = {Library::Ember, Library::Torch};

const char* library_name(Library library) {
  return library == Library::Ember ? "ember" : "libtorch";
}

// The targets: the median ratio ember / LibTorch in the same run.
struct TrainBenchCase {
  Model model;
  double target;
};
constexpr TrainBenchCase kCases[] = {{Model::Cnn, 1.0}, {Model::Lstm, 0.5}};

void set_threads(int n) {
  ember::set_num_threads(n);
#ifdef EMBER_BENCH_WITH_TORCH
  torch_set_num_threads(n);
#endif
}

// The same batch for both libraries: inputs ~ N(0, 1), uniform class targets, from fixed seeds.
const TrainData& data_of(Model model) {
  static std::map<Model, TrainData> cache;
  auto it = cache.find(model);
  if (it != cache.end()) return it->second;
  ember::manual_seed(2000 + static_cast<uint64_t>(model));
  TrainData data{ember::randn(input_shape(model)).to_vector<float>(),
                 ember::randint(0, kNumClasses, target_shape(model)).to_vector<int64_t>()};
  return cache.emplace(model, std::move(data)).first->second;
}

// ember's default initialization from a fixed seed, loaded into every runner of either library:
// both start from the same weights, whatever order the runners are made in.
const NamedValues& initial_parameters_of(Model model) {
  static std::map<Model, NamedValues> cache;
  auto it = cache.find(model);
  if (it != cache.end()) return it->second;
  ember::manual_seed(3000 + static_cast<uint64_t>(model));
  NamedValues values = make_ember_train_runner(model, data_of(model))->parameters();
  return cache.emplace(model, std::move(values)).first->second;
}

// (Without LibTorch every runner is ember's.)
std::unique_ptr<TrainRunner> make_runner(Model model, [[maybe_unused]] Library library) {
  std::unique_ptr<TrainRunner> runner;
#ifdef EMBER_BENCH_WITH_TORCH
  if (library == Library::Torch) runner = make_torch_train_runner(model, data_of(model));
#endif
  if (!runner) runner = make_ember_train_runner(model, data_of(model));
  runner->load_parameters(initial_parameters_of(model));
  return runner;
}

// Every call (each repetition, each iteration-count probe) trains a fresh model and optimizer
// from the initial weights: the step costs the same whatever the weights, but a fixed batch gets
// memorized, and a long run would time a different regime (vanishing gradients, denormals) in
// each library and each repetition.
void run_benchmark(benchmark::State& state, Model model, int threads, Library library) {
  set_threads(threads);
  try {
    std::unique_ptr<TrainRunner> runner = make_runner(model, library);
    // Warm-up: the optimizer's state is created on the first step; oneDNN primitives for this
    // thread count; first-touch page faults and allocator growth.
    for (int i = 0; i < 2; ++i) runner->step();
    for (auto _ : state) runner->step();
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

std::string benchmark_name(Model model, int threads, Library library) {
  return std::string("TrainStep/") + model_name(model) + "/t" + std::to_string(threads) + "/" +
         library_name(library);
}

void register_benchmarks() {
  for (const TrainBenchCase& c : kCases)
    for (int threads : kThreadCounts)
      for (Library library : kLibraries) {
        if (library == Library::Torch && !have_torch()) continue;
        const Model model = c.model;
        benchmark::RegisterBenchmark(
            benchmark_name(model, threads, library).c_str(),
            [=](benchmark::State& st) { run_benchmark(st, model, threads, library); })
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond);
      }
}

// A few steps from the same weights in both libraries (or ember alone): the losses must agree,
// else the benchmark compares unlike computations. The first loss checks the forward; the later
// ones the backward and the optimizer too.
void print_parity() {
  constexpr int kSteps = 3;
  std::printf("\nParity (loss of each of the first %d steps from the same weights%s):\n", kSteps,
              have_torch() ? "; ember vs LibTorch, max relative difference" : "");
  set_threads(*std::max_element(std::begin(kThreadCounts), std::end(kThreadCounts)));
  for (const TrainBenchCase& c : kCases) {
    std::string line = std::string("  ") + model_label(c.model) + ":";
    try {
      std::vector<std::unique_ptr<TrainRunner>> runners;
      for (Library library : kLibraries)
        if (library == Library::Ember || have_torch())
          runners.push_back(make_runner(c.model, library));
      double worst = 0;
      for (int s = 0; s < kSteps; ++s) {
        std::vector<double> losses;
        for (auto& runner : runners) {
          runner->step();
          losses.push_back(runner->last_loss());
        }
        // Appending piecewise: `"literal" + std::string&&` trips GCC 12's -Wrestrict (PR 105329).
        line.append(" ").append(fmt("%.6f", losses.front()));
        if (losses.size() > 1) {
          line.append("/").append(fmt("%.6f", losses.back()));
          worst = std::max(worst, std::abs(losses.front() - losses.back()) /
                                      std::max(std::abs(losses.back()), 1e-30));
        }
      }
      if (runners.size() > 1)
        line.append("; ").append(fmt("%.1e", worst)).append(worst > 1e-4 ? " MISMATCH" : "");
    } catch (const std::exception& e) {
      line += std::string(" error: ") + e.what();
    }
    std::printf("%s\n", line.c_str());
  }
}

void print_table(const TimeCollector& results, Stat stat, const std::string& load_before,
                 const ForeignLoad& foreign) {
  std::printf("\n## Training-step benchmark%s\n\n", stat == Stat::Min ? " (best repetitions)" : "");
  std::printf(
      "%s over repetitions, ms per step (forward, loss, zero_grad, backward, optimizer step), "
      "float32; each repetition trains from the same initial weights in both libraries. Load "
      "average %s before, %s after; other processes used %s%% of the CPUs.",
      stat == Stat::Min ? "Minimum" : "Medians", load_before.c_str(), load_average().c_str(),
      fmt("%.0f", 100 * foreign.share()).c_str());
#ifdef EMBER_BENCH_WITH_TORCH
  std::printf(" %s with BLAS %s; its zero_grad sets gradients to none, as ember's does.",
              torch_description().c_str(), loaded_blas().c_str());
#endif
  std::printf("\n\n| case | threads | ember ms | LibTorch ms | ember/LibTorch | target |\n");
  std::printf("|---|---:|---:|---:|---:|---|\n");
  for (const TrainBenchCase& c : kCases)
    for (int t : kThreadCounts) {
      const double ember_ms = results.time_ms(benchmark_name(c.model, t, Library::Ember), stat);
      const double torch_ms = results.time_ms(benchmark_name(c.model, t, Library::Torch), stat);
      if (std::isnan(ember_ms) && std::isnan(torch_ms)) continue;
      const double ratio = ember_ms / torch_ms;
      std::printf("| %s | %d | %s | %s | %s | %s |\n", model_label(c.model), t,
                  fmt_ms(ember_ms).c_str(), fmt_ms(torch_ms).c_str(), fmt("%.2f", ratio).c_str(),
                  verdict(c.target, ratio).c_str());
    }
  print_errors(results);
}

}  // namespace
}  // namespace bench

int main(int argc, char** argv) {
  // A step takes milliseconds, so each repetition runs ≥ 0.2 s to average over several.
  bench::ReportOptions options;
  if (!bench::initialize(argc, argv, "0.2", &options)) return 1;

#ifdef EMBER_BENCH_WITH_TORCH
  bench::print_banner("bench_train",
                      bench::torch_description() + " side by side; BLAS: " + bench::loaded_blas());
#else
  bench::print_banner("bench_train", "without LibTorch (not found at configure time)");
#endif
  const std::string load_before = bench::load_average();
  const bench::ForeignLoad foreign;
  if (options.parity) bench::print_parity();
  std::printf("\n");
  std::fflush(stdout);

  bench::register_benchmarks();
  bench::TimeCollector collector;
  benchmark::RunSpecifiedBenchmarks(&collector);
  for (bench::Stat stat : options.stats) bench::print_table(collector, stat, load_before, foreign);
  benchmark::Shutdown();
  return 0;
}
