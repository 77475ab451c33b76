// Trains Conv–Norm–ReLU–MaxPool ×2 → Linear on Fashion-MNIST, like the seeds' comparison of the
// four normalizations, run for real. Checkpoints (model + optimizer + LR schedule + epoch, see
// ember/optim/checkpoint.h) are one safetensors file; --resume continues exactly where a saved
// run stopped.
//
//   train_cnn [--epochs N] [--batch-size B] [--lr LR] [--optimizer adam|sgd] [--threads T]
//             [--seed S] [--norm batch|group|layer|instance|none|all] [--channels C]
//             [--limit N] [--save PATH] [--resume PATH] [--data DIR]
#include <ember/ember.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

using namespace ember;

namespace {

struct Args {
  int epochs = 8;
  int64_t batch_size = 64;
  double lr = 2e-3;
  std::string optimizer = "adam";
  int threads = 2;
  uint64_t seed = 0;
  std::string norm = "batch";
  int64_t channels = 32;  // first conv's output channels; the second has twice as many
  int64_t limit = 0;      // use only the first N training images (0: all) — for smoke tests
  std::string save, resume;
  std::string data = data::FashionMNIST::kDefaultRoot;
};

Args parse(int argc, char** argv) {
  Args a;
  std::map<std::string, std::string> kv;
  for (int i = 1; i < argc; ++i) {
    const std::string key = argv[i];
    EMBER_CHECK(key.rfind("--", 0) == 0 && i + 1 < argc, "expected --option value, got \"", key,
                "\" (see the usage at the top of examples/train_cnn.cpp)");
    kv[key.substr(2)] = argv[++i];
  }
  for (const auto& [k, v] : kv) {
    if (k == "epochs")
      a.epochs = std::stoi(v);
    else if (k == "batch-size")
      a.batch_size = std::stoll(v);
    else if (k == "lr")
      a.lr = std::stod(v);
    else if (k == "optimizer")
      a.optimizer = v;
    else if (k == "threads")
      a.threads = std::stoi(v);
    else if (k == "seed")
      a.seed = std::stoull(v);
    else if (k == "norm")
      a.norm = v;
    else if (k == "channels")
      a.channels = std::stoll(v);
    else if (k == "limit")
      a.limit = std::stoll(v);
    else if (k == "save")
      a.save = v;
    else if (k == "resume")
      a.resume = v;
    else if (k == "data")
      a.data = v;
    else
      throw Error("unknown option --" + k);
  }
  return a;
}

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

std::unique_ptr<optim::Optimizer> make_optimizer(const Args& a, const nn::Module& model) {
  if (a.optimizer == "adam")
    return std::make_unique<optim::Adam>(model.parameters(), optim::AdamOptions(a.lr));
  if (a.optimizer == "sgd")
    return std::make_unique<optim::SGD>(model.parameters(),
                                        optim::SGDOptions(a.lr).momentum(0.9).nesterov(true));
  throw Error("unknown --optimizer " + a.optimizer + " (adam, sgd)");
}

double accuracy(nn::Module& model, data::DataLoader& loader) {
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

struct RunResult {
  std::string norm;
  double test_accuracy = 0, seconds = 0;
};

RunResult train(const Args& a, const std::string& norm) {
  manual_seed(a.seed);
  data::FashionMNIST train_set(a.data, true), test_set(a.data, false);
  Tensor images = train_set.images(), labels = train_set.labels();
  if (a.limit > 0 && a.limit < images.size(0)) {
    images = images.slice(0, 0, a.limit);
    labels = labels.slice(0, 0, a.limit);
  }
  const data::Normalize normalize({data::FashionMNIST::kMean}, {data::FashionMNIST::kStd});
  data::DataLoader train_loader(
      images, labels,
      data::DataLoaderOptions(a.batch_size).shuffle(true).seed(a.seed).normalize(normalize));
  data::DataLoader test_loader(test_set.images(), test_set.labels(),
                               data::DataLoaderOptions(1000).normalize(normalize));

  auto model = make_model(norm, a.channels);
  auto opt = make_optimizer(a, *model);
  optim::CosineAnnealingLR schedule(*opt, a.epochs);
  int start_epoch = 0;
  if (!a.resume.empty()) {
    start_epoch = static_cast<int>(load_checkpoint(a.resume, *model, *opt, &schedule));
    log_info("resumed from " + a.resume + " after epoch " + std::to_string(start_epoch));
  }
  std::printf("%s\n", repr(*model).c_str());
  log_info("norm=" + norm + " optimizer=" + a.optimizer + " lr=" + std::to_string(a.lr) +
           " batch=" + std::to_string(a.batch_size) + " threads=" + std::to_string(a.threads) +
           " train images=" + std::to_string(images.size(0)));

  RunResult result{norm};
  const auto run_start = std::chrono::steady_clock::now();
  for (int epoch = start_epoch; epoch < a.epochs; ++epoch) {
    train_loader.set_epoch(epoch);
    const auto epoch_start = std::chrono::steady_clock::now();
    double loss_sum = 0;
    int64_t correct = 0, seen = 0, step = 0;
    auto window_start = epoch_start;
    int64_t window_images = 0;
    for (auto& batch : train_loader) {
      Tensor logits = (*model)(batch.data);
      Tensor loss = nn::functional::cross_entropy(logits, batch.target);
      opt->zero_grad();
      loss.backward();
      opt->step();
      const int64_t n = batch.target.numel();
      loss_sum += loss.item<double>() * static_cast<double>(n);
      correct += logits.detach().argmax(1).eq(batch.target).sum().item<int64_t>();
      seen += n;
      window_images += n;
      if (++step % 200 == 0) {
        const auto now = std::chrono::steady_clock::now();
        const double dt = std::chrono::duration<double>(now - window_start).count();
        char line[200];
        std::snprintf(line, sizeof line, "epoch %d step %lld/%lld  loss %.4f  acc %.4f  %.0f img/s",
                      epoch + 1, static_cast<long long>(step),
                      static_cast<long long>(train_loader.size()), loss_sum / seen,
                      static_cast<double>(correct) / seen, window_images / dt);
        log_info(line);
        window_start = now;
        window_images = 0;
      }
    }
    schedule.step();
    const double epoch_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
    result.test_accuracy = accuracy(*model, test_loader);
    char line[200];
    std::snprintf(line, sizeof line,
                  "epoch %d/%d  train loss %.4f  train acc %.4f  test acc %.4f  %.1f s", epoch + 1,
                  a.epochs, loss_sum / seen, static_cast<double>(correct) / seen,
                  result.test_accuracy, epoch_seconds);
    log_info(line);
    if (!a.save.empty()) save_checkpoint(a.save, *model, *opt, &schedule, epoch + 1);
  }
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start).count();
  if (start_epoch >= a.epochs) result.test_accuracy = accuracy(*model, test_loader);
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args a = parse(argc, argv);
    set_num_threads(a.threads);
    std::vector<std::string> norms = {a.norm};
    if (a.norm == "all") norms = {"batch", "group", "layer", "instance", "none"};
    std::vector<RunResult> results;
    for (const auto& norm : norms) results.push_back(train(a, norm));
    std::printf("\n| norm | test accuracy | training time |\n|---|---|---|\n");
    for (const auto& r : results)
      std::printf("| %s | %.2f %% | %.0f s |\n", r.norm.c_str(), 100 * r.test_accuracy, r.seconds);
    if (!a.save.empty()) std::printf("\ncheckpoint: %s\n", a.save.c_str());
    return 0;
  } catch (const Error& e) {
    std::fprintf(stderr, "train_cnn: %s\n", e.what());
    return 1;
  }
}
