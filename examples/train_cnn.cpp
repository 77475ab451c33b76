// Trains Conv–Norm–ReLU–MaxPool ×2 → Linear on Fashion-MNIST, like the seeds' comparison of the
// four normalizations, run for real. Checkpoints (model + optimizer + LR schedule + epoch, see
// ember/optim/checkpoint.h) are one safetensors file; --resume continues exactly where a saved
// run stopped.
//
//   train_cnn [--epochs N] [--batch-size B] [--lr LR] [--optimizer adam|sgd] [--threads T]
//             [--seed S] [--norm batch|group|layer|instance|none|all] [--channels C]
//             [--limit N] [--save PATH] [--resume PATH] [--data DIR]
#include "classifier_training.h"

using namespace examples;

namespace {

constexpr const char* kUsage =
    "usage: train_cnn [--epochs N] [--batch-size B] [--lr LR] [--optimizer adam|sgd] "
    "[--threads T] [--seed S] [--norm batch|group|layer|instance|none|all] [--channels C] "
    "[--limit N] [--save PATH] [--resume PATH] [--data DIR]";

// The normalization after a conv with `c` channels on `hw`×`hw` maps.
std::shared_ptr<nn::Module> make_norm(const std::string& kind, int64_t c, int64_t hw) {
  if (kind == "batch") return std::make_shared<nn::BatchNorm2d>(c);
  if (kind == "group") return std::make_shared<nn::GroupNorm>(std::min<int64_t>(8, c), c);
  if (kind == "layer") return std::make_shared<nn::LayerNorm>(nn::LayerNormOptions({c, hw, hw}));
  if (kind == "instance")
    return std::make_shared<nn::InstanceNorm2d>(nn::InstanceNormOptions(c).affine(true));
  throw Error("unknown --norm " + kind + " (batch, group, layer, instance, none, all)");
}

std::shared_ptr<nn::Sequential> make_model(const std::string& norm, int64_t c1) {
  const int64_t c2 = 2 * c1;
  auto model = std::make_shared<nn::Sequential>();
  model->push_back(std::make_shared<nn::Conv2d>(nn::Conv2dOptions(1, c1, 3).padding(1)));
  if (norm != "none") model->push_back(make_norm(norm, c1, 28));
  model->push_back(std::make_shared<nn::ReLU>());
  model->push_back(std::make_shared<nn::MaxPool2d>(nn::MaxPool2dOptions(2)));
  model->push_back(std::make_shared<nn::Conv2d>(nn::Conv2dOptions(c1, c2, 3).padding(1)));
  if (norm != "none") model->push_back(make_norm(norm, c2, 14));
  model->push_back(std::make_shared<nn::ReLU>());
  model->push_back(std::make_shared<nn::MaxPool2d>(nn::MaxPool2dOptions(2)));
  model->push_back(std::make_shared<nn::Flatten>());
  model->push_back(std::make_shared<nn::Linear>(c2 * 7 * 7, 10));
  return model;
}

std::unique_ptr<optim::Optimizer> make_optimizer(const std::string& kind, double lr,
                                                 const nn::Module& model) {
  if (kind == "adam")
    return std::make_unique<optim::Adam>(model.parameters(), optim::AdamOptions(lr));
  if (kind == "sgd")
    return std::make_unique<optim::SGD>(model.parameters(),
                                        optim::SGDOptions(lr).momentum(0.9).nesterov(true));
  throw Error("unknown --optimizer " + kind + " (adam, sgd)");
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Flags flags(argc, argv, kUsage);
    const RunOptions run(flags, /*default_epochs=*/8);
    const double lr = flags.real("lr", 2e-3);
    const std::string optimizer = flags.text("optimizer", "adam");
    const std::string norm = flags.text("norm", "batch");
    const int64_t channels = flags.integer("channels", 32);  // the second conv has twice as many
    flags.check_all_known();
    set_num_threads(static_cast<int>(run.threads));

    log_info("optimizer " + optimizer + ", lr " + std::to_string(lr) + ", cosine schedule over " +
             std::to_string(run.epochs) + " epochs, conv channels " + std::to_string(channels) +
             "/" + std::to_string(2 * channels));
    std::vector<std::string> norms = {norm};
    if (norm == "all") norms = {"batch", "group", "layer", "instance", "none"};
    const data::FashionMNIST train_set(run.data, true), test_set(run.data, false);
    std::vector<RunResult> results;
    for (const auto& kind : norms) {
      results.push_back(train_classifier(run, train_set, test_set, kind, [&] {
        Trainee t;
        t.model = make_model(kind, channels);
        t.optimizer = make_optimizer(optimizer, lr, *t.model);
        t.schedule = std::make_unique<optim::CosineAnnealingLR>(*t.optimizer, run.epochs);
        return t;
      }));
    }
    print_results("norm", results, run);
    return 0;
  } catch (const Error& e) {
    std::fprintf(stderr, "train_cnn: %s\n", e.what());
    return 1;
  }
}
