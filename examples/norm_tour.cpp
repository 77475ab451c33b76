// The normalization tour: the seeds' notebook experiments, in C++.
// BN/LN/IN/GN against their hand formulas, GN's limits (1 group = LN, C groups = IN), BatchNorm's
// train vs eval and running statistics, the batch-size-1 error, state dicts, save and load.
#include <ember/ember.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

using namespace ember;
namespace F = ember::nn::functional;

namespace {

void section(const char* title) { std::cout << "\n### " << title << "\n\n"; }

// Σ|a − b| and the summed row-wise L2 distance (the notebook's PairwiseDistance check).
void compare(const char* what, const Tensor& a, const Tensor& b) {
  const Tensor diff = a.detach() - b.detach();
  const double l1 = diff.abs().sum().item<double>();
  const Tensor rows = diff.reshape({-1, diff.size(-1)});
  const double l2 = rows.square().sum({1}).sqrt().sum().item<double>();
  std::printf("%-32s sum|diff| = %.4f   sum pairwise L2 = %.4f   max|diff| = %.2e\n", what, l1, l2,
              max_abs_diff(a, b));
}

// (x − mean) / sqrt(var + eps) over `dims`, with the unbiased var the notebook used.
Tensor by_hand(const Tensor& x, const Shape& dims, bool unbiased = true) {
  return (x - x.mean(dims, true)) / (x.var(dims, unbiased, true) + 1e-5).sqrt();
}

void layer_and_instance_norm() {
  section("LayerNorm and InstanceNorm on one 3x28x28 image (seed 000)");
  Tensor input = rand({1, 3, 28, 28});
  std::cout << "input = " << input << "\n\n";
  auto ln = std::make_shared<nn::LayerNorm>(nn::LayerNormOptions({3, 28, 28}));
  std::cout << *ln << "\n";
  Tensor out = (*ln)(input);
  std::printf("input  std: %.6f  mean: %.6f\n", input.view({-1}).std().item<double>(),
              input.view({-1}).mean().item<double>());
  std::printf("output std: %.6f  mean: %.3e\n", out.view({-1}).std().item<double>(),
              out.view({-1}).mean().item<double>());
  auto in = std::make_shared<nn::InstanceNorm2d>(nn::InstanceNormOptions(3));
  std::cout << "\n" << *in << "\n";
  Tensor channel = (*in)(input)[0][0].reshape({-1});
  std::printf("channel 0 output mean: %.3e  std: %.6f\n", channel.mean().item<double>(),
              channel.std().item<double>());
}

void against_formulas() {
  section("Each norm against its formula on [16, 32, 64, 64] (seed 001)");
  NoGradGuard no_grad;
  Tensor x = rand({16, 32, 64, 64});
  // With the unbiased variance, as the notebook wrote it: small differences remain.
  compare("BatchNorm2d vs unbiased formula", (*std::make_shared<nn::BatchNorm2d>(32))(x),
          by_hand(x, {0, 2, 3}));
  compare("BatchNorm2d vs biased formula", (*std::make_shared<nn::BatchNorm2d>(32))(x),
          by_hand(x, {0, 2, 3}, false));
  compare("LayerNorm vs biased formula",
          (*std::make_shared<nn::LayerNorm>(nn::LayerNormOptions({32, 64, 64})))(x),
          by_hand(x, {1, 2, 3}, false));
  compare("InstanceNorm2d vs biased formula",
          (*std::make_shared<nn::InstanceNorm2d>(nn::InstanceNormOptions(32)))(x),
          by_hand(x, {2, 3}, false));
  Tensor grouped = x.reshape({16, 8, 4, 64, 64});
  compare("GroupNorm(8) vs biased formula", (*std::make_shared<nn::GroupNorm>(8, 32))(x),
          by_hand(grouped, {2, 3, 4}, false).reshape({16, 32, 64, 64}));
  compare("GroupNorm(1) vs LayerNorm", F::group_norm(x, 1), F::layer_norm(x, {32, 64, 64}));
  compare("GroupNorm(32) vs InstanceNorm", F::group_norm(x, 32), F::instance_norm(x));
}

void batch_norm_train_eval() {
  section("BatchNorm1d: training, inference and running statistics (seed 002)");
  manual_seed(0);
  const int64_t d = 5;
  Tensor x = randn({2, d});
  std::cout << "x = " << x << "\n";
  auto norm = std::make_shared<nn::BatchNorm1d>(d);
  norm->train();
  std::cout << "train: y = " << (*norm)(x) << "\n";
  for (const Tensor& p : norm->parameters()) std::cout << "parameter " << p << "\n";
  try {
    (*norm)(randn({1, d}));
  } catch (const Error& e) {
    std::cout << "batch of one in training -> Error: " << e.what() << "\n";
  }

  x = randn({2, d});
  norm = std::make_shared<nn::BatchNorm1d>(d);
  norm->eval();
  std::cout << "\nfresh module, eval: y = " << (*norm)(x) << "  (the input, up to eps)\n";
  auto print_state = [&] {
    for (const auto& [name, t] : norm->state_dict()) std::cout << "  " << name << ": " << t << "\n";
  };
  std::cout << "state_dict:\n";
  print_state();
  norm->train();
  (*norm)(x);
  std::cout << "after one training step:\n";
  print_state();
  std::cout << "batch mean: " << x.mean({0}) << "\nbatch var:  " << x.var({0}) << "\n";
  norm->eval();
  Tensor y = (*norm)(x);
  Tensor manual =
      (x - norm->running_mean()) / (norm->running_var() + 1e-5).sqrt() * norm->weight() +
      norm->bias();
  std::cout << "eval with running stats: " << y << "\nby hand:                 " << manual.detach()
            << "\nbatch of one in eval:    " << (*norm)(randn({1, d})) << "\n";
}

void running_statistics_experiment() {
  section("Running statistics over 1000 batches (seed 004)");
  NoGradGuard no_grad;
  manual_seed(0);
  auto bn = std::make_shared<nn::BatchNorm2d>(nn::BatchNormOptions(4).momentum(0.001));
  auto in = std::make_shared<nn::InstanceNorm2d>(
      nn::InstanceNormOptions(4).momentum(0.001).track_running_stats(true));
  const Tensor scale = tensor({1, 2, 3, 4}, {1, 4, 1, 1});
  const Tensor shift = tensor({0.25, 0.75}, {2, 1, 1, 1});
  for (int i = 0; i < 1000; ++i) {
    Tensor x = randn({2, 4, 2, 2}) * scale + shift;
    (*bn)(x);
    (*in)(x);
  }
  std::cout << "BN: running_mean " << bn->running_mean() << " running_std "
            << bn->running_var().sqrt() << "\n";
  std::cout << "IN: running_mean " << in->running_mean() << " running_std "
            << in->running_var().sqrt() << "\n";
  std::cout << "(BN's std tends to [1, 2, 3, 4]; both means start at 0 and move at momentum "
               "0.001, so after 1000 steps they reach 1 - 0.999^1000 = 63% of 0.5)\n";
}

void save_and_load() {
  section("state_dict: save to safetensors and load back");
  auto model = std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::BatchNorm2d>(3), std::make_shared<nn::GroupNorm>(1, 3)});
  (*model)(randn({4, 3, 8, 8}));
  std::cout << *model << "\n";
  const std::string path =
      (std::filesystem::temp_directory_path() / "norm_tour.safetensors").string();
  save(model->state_dict(), path);
  auto restored =
      std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
          std::make_shared<nn::BatchNorm2d>(3), std::make_shared<nn::GroupNorm>(1, 3)});
  restored->load_state_dict(load(path));
  for (const auto& [name, t] : restored->state_dict())
    std::cout << "  " << name << " " << shape_str(t.sizes())
              << " equal: " << (allclose(t, model->state_dict().at(name), 0, 0) ? "yes" : "NO")
              << "\n";
  std::filesystem::remove(path);
}

}  // namespace

int main() {
  manual_seed(0);
  std::cout << "ember normalization tour (norm backend: " << to_string(nn::norm_backend())
            << ", threads: " << get_num_threads() << ")\n";
  layer_and_instance_norm();
  against_formulas();
  batch_norm_train_eval();
  running_statistics_experiment();
  save_and_load();
  return 0;
}
