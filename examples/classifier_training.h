#pragma once
// What the Fashion-MNIST examples (train_cnn, train_lstm) share: "--name value" flags, the data,
// the training loop with its progress and epoch logs and checkpoints, the test accuracy and the
// final table. Each example only defines its model and optimizer. Header-only: every example is
// one executable.
#include <ember/ember.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace examples {

using namespace ember;

// "--name value" pairs. Typed getters mark a flag as known; check_all_known() then rejects
// anything misspelled, instead of silently training with a default.
class Flags {
 public:
  Flags(int argc, char** argv, std::string usage) : usage_(std::move(usage)) {
    for (int i = 1; i < argc; ++i) {
      const std::string key = argv[i];
      EMBER_CHECK(key.rfind("--", 0) == 0 && i + 1 < argc, "expected --option value, got \"", key,
                  "\"\n", usage_);
      values_[key.substr(2)] = argv[++i];
    }
  }
  std::string text(const std::string& name, const std::string& fallback) {
    known_.insert(name);
    const auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second;
  }
  int64_t integer(const std::string& name, int64_t fallback) {
    return parse<int64_t>(name, fallback,
                          [](const std::string& v, size_t* used) { return std::stoll(v, used); });
  }
  double real(const std::string& name, double fallback) {
    return parse<double>(name, fallback,
                         [](const std::string& v, size_t* used) { return std::stod(v, used); });
  }
  void check_all_known() const {
    for (const auto& [name, value] : values_)
      EMBER_CHECK(known_.count(name), "unknown option --", name, "\n", usage_);
  }

 private:
  template <class T, class F>
  T parse(const std::string& name, T fallback, F convert) {
    const std::string v = text(name, "");
    if (v.empty()) return fallback;
    size_t used = 0;
    T out{};
    try {
      out = convert(v, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    EMBER_CHECK(used == v.size(), "--", name, ": \"", v, "\" is not a number");
    return out;
  }

  std::string usage_;
  std::map<std::string, std::string> values_;
  std::set<std::string> known_;
};

// The flags every classifier example takes; the defaults are the flags' (set in the constructor).
struct RunOptions {
  int64_t epochs, batch_size, threads;
  uint64_t seed;
  int64_t limit;  // use only the first N training images (0: all) — for smoke tests
  std::string save, resume, data;

  RunOptions(Flags& flags, int64_t default_epochs)
      : epochs(flags.integer("epochs", default_epochs)),
        batch_size(flags.integer("batch-size", 64)),
        threads(flags.integer("threads", 2)),
        seed(static_cast<uint64_t>(flags.integer("seed", 0))),
        limit(flags.integer("limit", 0)),
        save(flags.text("save", "")),
        resume(flags.text("resume", "")),
        data(flags.text("data", data::FashionMNIST::kDefaultRoot)) {
    EMBER_CHECK(epochs >= 1 && batch_size >= 1 && threads >= 1 && limit >= 0,
                "--epochs, --batch-size and --threads must be positive, --limit non-negative");
  }
};

// A model with its optimizer and per-epoch LR schedule, built once the seed is set.
struct Trainee {
  std::shared_ptr<nn::Module> model;
  std::unique_ptr<optim::Optimizer> optimizer;
  std::unique_ptr<optim::LRScheduler> schedule;
};

struct RunResult {
  std::string name;
  double test_accuracy = 0, seconds = 0;
};

inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

inline double accuracy(nn::Module& model, data::DataLoader& loader) {
  NoGradGuard no_grad;
  model.eval();
  int64_t correct = 0, seen = 0;
  for (auto& batch : loader) {
    const Tensor pred = model(batch.data).argmax(1);
    correct += pred.eq(batch.target).sum().item<int64_t>();
    seen += batch.target.numel();
  }
  model.train();
  return static_cast<double>(correct) / static_cast<double>(seen);
}

// Trains `make()`'s model on Fashion-MNIST with cross-entropy: a progress line every 200 steps
// (loss, accuracy, images/s), an epoch summary with the test accuracy, a checkpoint after every
// epoch with --save; --resume continues a saved run bit for bit.
// The splits are loaded once by the caller and shared by all its runs (--norm all).
inline RunResult train_classifier(const RunOptions& o, const data::FashionMNIST& train_set,
                                  const data::FashionMNIST& test_set, const std::string& name,
                                  const std::function<Trainee()>& make) {
  manual_seed(o.seed);
  Tensor images = train_set.images(), labels = train_set.labels();
  if (o.limit > 0 && o.limit < images.size(0)) {
    images = images.slice(0, 0, o.limit);
    labels = labels.slice(0, 0, o.limit);
  }
  const data::Normalize normalize({data::FashionMNIST::kMean}, {data::FashionMNIST::kStd});
  data::DataLoader train_loader(
      images, labels,
      data::DataLoaderOptions(o.batch_size).shuffle(true).seed(o.seed).normalize(normalize));
  // Evaluation batches of 500 keep the activations of the biggest model near 60 MB.
  data::DataLoader test_loader(test_set.images(), test_set.labels(),
                               data::DataLoaderOptions(500).normalize(normalize));

  Trainee t = make();
  int64_t start_epoch = 0;
  if (!o.resume.empty()) {
    start_epoch = load_checkpoint(o.resume, *t.model, *t.optimizer, t.schedule.get());
    log_info("resumed from " + o.resume + " after epoch " + std::to_string(start_epoch));
  }
  std::printf("%s\n", repr(*t.model).c_str());
  std::fflush(stdout);  // before the log lines (stderr), also when both go to one pipe
  log_info("run \"" + name + "\": batch " + std::to_string(o.batch_size) + ", " +
           std::to_string(o.threads) + " threads, " + std::to_string(images.size(0)) +
           " training images");

  RunResult result{name};
  const auto run_start = std::chrono::steady_clock::now();
  for (int64_t epoch = start_epoch; epoch < o.epochs; ++epoch) {
    train_loader.set_epoch(epoch);
    const auto epoch_start = std::chrono::steady_clock::now();
    auto window_start = epoch_start;
    double loss_sum = 0;
    int64_t correct = 0, seen = 0, step = 0, window_images = 0;
    for (auto& batch : train_loader) {
      Tensor logits = (*t.model)(batch.data);
      Tensor loss = nn::functional::cross_entropy(logits, batch.target);
      t.optimizer->zero_grad();
      loss.backward();
      t.optimizer->step();
      const int64_t n = batch.target.numel();
      loss_sum += loss.item<double>() * static_cast<double>(n);
      correct += logits.detach().argmax(1).eq(batch.target).sum().item<int64_t>();
      seen += n;
      window_images += n;
      if (++step % 200 == 0) {
        char line[200];
        std::snprintf(
            line, sizeof line, "epoch %lld step %lld/%lld  loss %.4f  acc %.4f  %.0f img/s",
            static_cast<long long>(epoch + 1), static_cast<long long>(step),
            static_cast<long long>(train_loader.size()), loss_sum / seen,
            static_cast<double>(correct) / seen, window_images / seconds_since(window_start));
        log_info(line);
        window_start = std::chrono::steady_clock::now();
        window_images = 0;
      }
    }
    t.schedule->step();
    const double epoch_seconds = seconds_since(epoch_start);
    result.test_accuracy = accuracy(*t.model, test_loader);
    char line[200];
    std::snprintf(line, sizeof line,
                  "epoch %lld/%lld  train loss %.4f  train acc %.4f  test acc %.4f  %.1f s",
                  static_cast<long long>(epoch + 1), static_cast<long long>(o.epochs),
                  loss_sum / seen, static_cast<double>(correct) / seen, result.test_accuracy,
                  epoch_seconds);
    log_info(line);
    if (!o.save.empty())
      save_checkpoint(o.save, *t.model, *t.optimizer, t.schedule.get(), epoch + 1);
  }
  result.seconds = seconds_since(run_start);
  if (start_epoch >= o.epochs) result.test_accuracy = accuracy(*t.model, test_loader);
  return result;
}

// The final table: one row per run (e.g. per normalization).
inline void print_results(const std::string& first_column, const std::vector<RunResult>& results,
                          const RunOptions& o) {
  std::printf("\n| %s | test accuracy | time (training + evaluation) |\n|---|---|---|\n",
              first_column.c_str());
  for (const auto& r : results)
    std::printf("| %s | %.2f %% | %.0f s |\n", r.name.c_str(), 100 * r.test_accuracy, r.seconds);
  if (!o.save.empty()) std::printf("\ncheckpoint: %s\n", o.save.c_str());
}

}  // namespace examples
