// Trains an LSTM on Fashion-MNIST read as sequences: each 28×28 image is 28 rows of 28 pixels,
// fed one row per step. LayerNorm normalizes the hidden state, and a Linear head classifies the
// last step's normalized hidden state; Adam with a cosine schedule. Checkpoints (model +
// optimizer + LR schedule + epoch, see ember/optim/checkpoint.h) are one safetensors file;
// --resume continues exactly where a saved run stopped.
//
//   train_lstm [--epochs N] [--batch-size B] [--lr LR] [--hidden H] [--threads T] [--seed S]
//              [--norm step|last|none|all] [--limit N] [--save PATH] [--resume PATH] [--data DIR]
//
// --norm step (the default) applies LayerNorm to h after every step, and the normalized h is what
// the next step sees (an unrolled LSTMCell); --norm last runs the fused nn::LSTM over the whole
// sequence and normalizes only the final h; --norm none is the plain LSTM; --norm all compares
// them.
#include <optional>
#include <tuple>

#include "classifier_training.h"

using namespace examples;

namespace {

constexpr const char* kUsage =
    "usage: train_lstm [--epochs N] [--batch-size B] [--lr LR] [--hidden H] [--threads T] "
    "[--seed S] [--norm step|last|none|all] [--limit N] [--save PATH] [--resume PATH] "
    "[--data DIR]";

constexpr int64_t kRows = data::FashionMNIST::kImageSize;    // sequence length
constexpr int64_t kPixels = data::FashionMNIST::kImageSize;  // features per step

// The defaults reach ≈ 90 % test accuracy (the target is 88 %) in about 1.5 minutes on two idle
// cores: 6 epochs already give ≈ 89.7 %, the extra ones buy margin. A wider hidden state (192)
// or a higher lr (3e-3) gains a tenth of a point at most.
constexpr int64_t kDefaultEpochs = 10;
constexpr double kDefaultLr = 2e-3;
constexpr int64_t kDefaultHidden = 128;

// Images [B, 1, 28, 28] → logits [B, 10], reading each image row by row.
class RowLSTMClassifier : public nn::Module {
 public:
  RowLSTMClassifier(const std::string& norm, int64_t hidden) {
    if (norm == "step") {
      cell_ = register_module("lstm", std::make_shared<nn::LSTMCell>(kPixels, hidden));
    } else if (norm == "last" || norm == "none") {
      lstm_ = register_module(
          "lstm", std::make_shared<nn::LSTM>(nn::LSTMOptions(kPixels, hidden).batch_first(true)));
    } else {
      throw Error("unknown --norm " + norm + " (step, last, none, all)");
    }
    if (norm != "none")
      norm_ =
          register_module("norm", std::make_shared<nn::LayerNorm>(nn::LayerNormOptions({hidden})));
    head_ = register_module("head",
                            std::make_shared<nn::Linear>(hidden, data::FashionMNIST::kNumClasses));
  }

  std::string name() const override { return "RowLSTMClassifier"; }

  Tensor forward(const Tensor& images) override {
    const Tensor rows = images.reshape({images.size(0), kRows, kPixels});
    Tensor last_hidden;
    if (cell_) {
      // The cell sees the normalized h of the previous step; c is left alone, so the memory
      // path keeps its scale and only what the gates read is kept well conditioned.
      std::optional<std::tuple<Tensor, Tensor>> state;
      for (int64_t t = 0; t < kRows; ++t) {
        auto [h, c] = (*cell_)(rows.select(1, t), state);
        state = std::make_tuple((*norm_)(h), c);
      }
      last_hidden = std::get<0>(*state);
    } else {
      const auto [output, final_state] = (*lstm_)(rows);
      last_hidden = std::get<0>(final_state).select(0, 0);  // h_n of the only layer
      if (norm_) last_hidden = (*norm_)(last_hidden);
    }
    return (*head_)(last_hidden);
  }

 private:
  std::shared_ptr<nn::LSTMCell> cell_;  // --norm step
  std::shared_ptr<nn::LSTM> lstm_;      // --norm last / none
  std::shared_ptr<nn::LayerNorm> norm_;
  std::shared_ptr<nn::Linear> head_;
};

}  // namespace

int main(int argc, char** argv) {
  try {
    Flags flags(argc, argv, kUsage);
    const RunOptions run(flags, kDefaultEpochs);
    const double lr = flags.real("lr", kDefaultLr);
    const int64_t hidden = flags.integer("hidden", kDefaultHidden);
    const std::string norm = flags.text("norm", "step");
    flags.check_all_known();
    EMBER_CHECK(hidden >= 1, "--hidden must be positive, got ", hidden);
    set_num_threads(static_cast<int>(run.threads));

    log_info("Adam, lr " + std::to_string(lr) + ", cosine schedule over " +
             std::to_string(run.epochs) + " epochs, hidden size " + std::to_string(hidden));
    std::vector<std::string> norms = {norm};
    if (norm == "all") norms = {"step", "last", "none"};
    const data::FashionMNIST train_set(run.data, true), test_set(run.data, false);
    std::vector<RunResult> results;
    for (const auto& kind : norms) {
      results.push_back(train_classifier(run, train_set, test_set, kind, [&] {
        Trainee t;
        t.model = std::make_shared<RowLSTMClassifier>(kind, hidden);
        t.optimizer = std::make_unique<optim::Adam>(t.model->parameters(), optim::AdamOptions(lr));
        t.schedule = std::make_unique<optim::CosineAnnealingLR>(*t.optimizer, run.epochs);
        return t;
      }));
    }
    print_results("norm", results, run);
    return 0;
  } catch (const Error& e) {
    std::fprintf(stderr, "train_lstm: %s\n", e.what());
    return 1;
  }
}
