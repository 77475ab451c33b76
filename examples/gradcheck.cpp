// Checks every layer of ember against central differences: autograd::gradcheck in float64 with
// random grad_outputs, with respect to the input(s) and every parameter, for each layer in a few
// option sets (and train/eval where they differ), plus the losses and softmaxes of nn::functional.
// Prints a markdown table and exits nonzero if any check fails.
//
//   gradcheck
//
// Inputs are tiny on purpose: gradcheck runs two forward passes per input and parameter element.
#include <ember/ember.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

using namespace ember;
namespace F = nn::functional;

namespace {

using Inputs = std::vector<Tensor>;
using Fn = std::function<Inputs(const Inputs&)>;

// A float64 leaf that gradcheck differentiates.
Tensor leaf(Tensor t) {
  t = t.to(kFloat64).detach();
  t.requires_grad_();
  return t;
}
Tensor normal(Shape shape) { return leaf(randn(std::move(shape), kFloat64)); }
// |values| in [0.2, 1.2) with random signs: no kink of ReLU within gradcheck's eps.
Tensor away_from_zero(Shape shape) {
  const Tensor magnitude = rand(shape, kFloat64) + 0.2;
  return leaf(where(randn(shape, kFloat64).gt(zeros({}, kFloat64)), magnitude, -magnitude));
}
Tensor classes(int64_t num_classes, Shape shape) { return randint(0, num_classes, shape); }

struct Row {
  std::string layer, options;
  double max_abs_error = NAN;
  bool ok = false;
  std::string report;  // gradcheck's, or the error that stopped the check
};

class Table {
 public:
  // gradcheck of fn with respect to those of `inputs` that require grad (default tolerances
  // decide pass/fail).
  void check(std::string layer, std::string options, const Inputs& inputs, const Fn& fn) {
    Row row;
    row.layer = std::move(layer);
    row.options = std::move(options);
    try {
      const autograd::GradcheckResult result = autograd::gradcheck(fn, inputs);
      row.ok = result.ok;
      row.report = result.report;
      row.max_abs_error = result.max_abs_error;
    } catch (const Error& e) {
      row.report = e.what();
    }
    rows_.push_back(std::move(row));
  }

  // The same for a module, converted to float64: with respect to the inputs that require grad and
  // to every parameter. gradcheck perturbs copies of what it is given, while the module reads its
  // own parameters, so each evaluation first copies the given parameter values into the module
  // (the analytical pass hands in the parameters themselves: nothing to copy).
  void check_module(std::string layer, std::string options, nn::Module& module,
                    const Inputs& inputs, const Fn& forward) {
    module.to(kFloat64);
    const std::vector<Tensor> params = module.parameters();
    std::vector<Tensor> saved;
    for (const Tensor& p : params) saved.push_back(p.detach().clone());
    Inputs all = inputs;
    all.insert(all.end(), params.begin(), params.end());
    const size_t n = inputs.size();
    const Fn fn = [&](const Inputs& in) {
      {
        NoGradGuard no_grad;
        for (size_t k = 0; k < params.size(); ++k)
          if (!in[n + k].is_same(params[k])) params[k].detach().copy_(in[n + k]);
      }
      return forward(Inputs(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(n)));
    };
    check(std::move(layer), std::move(options), all, fn);
    // The numerical pass leaves the last perturbed values behind.
    NoGradGuard no_grad;
    for (size_t k = 0; k < params.size(); ++k) params[k].detach().copy_(saved[k]);
  }

  // One-tensor modules: forward(x).
  void check_module(std::string layer, std::string options, nn::Module& module, const Tensor& x) {
    check_module(std::move(layer), std::move(options), module, {x},
                 [&](const Inputs& in) { return Inputs{module.forward(in[0])}; });
  }

  // Prints the markdown table; returns the number of failed checks.
  int print() const {
    std::printf("| layer | options | max abs error | pass/fail |\n|---|---|---:|---|\n");
    int failed = 0;
    for (const Row& r : rows_) {
      std::printf("| %s | %s | %.2e | %s |\n", r.layer.c_str(),
                  r.options.empty() ? "—" : r.options.c_str(), r.max_abs_error,
                  r.ok ? "pass" : "**FAIL**");
      failed += r.ok ? 0 : 1;
    }
    for (const Row& r : rows_)
      if (!r.ok)
        std::printf("\n%s (%s): %s\n", r.layer.c_str(), r.options.c_str(), r.report.c_str());
    return failed;
  }

  size_t size() const { return rows_.size(); }

 private:
  std::vector<Row> rows_;
};

template <class M, class... Args>
std::shared_ptr<M> make(Args&&... args) {
  return std::make_shared<M>(std::forward<Args>(args)...);
}

void linear_and_conv(Table& t) {
  t.check_module("Linear", "in=3, out=4", *make<nn::Linear>(3, 4), normal({2, 3}));
  t.check_module("Linear", "in=3, out=2, bias=False, 3-D input",
                 *make<nn::Linear>(nn::LinearOptions(3, 2).bias(false)), normal({2, 2, 3}));
  using O = nn::Conv2dOptions;
  t.check_module("Conv2d", "2→3, k=3", *make<nn::Conv2d>(O(2, 3, 3)), normal({1, 2, 5, 5}));
  t.check_module("Conv2d", "2→2, k=3, stride=2, padding=1",
                 *make<nn::Conv2d>(O(2, 2, 3).stride(2).padding(1)), normal({2, 2, 5, 5}));
  t.check_module("Conv2d", "1→2, k=(2,3), stride=(2,1), padding=(1,0), bias=False",
                 *make<nn::Conv2d>(O(1, 2, {2, 3}).stride({2, 1}).padding({1, 0}).bias(false)),
                 normal({1, 1, 4, 5}));
  t.check_module("Conv2d", "1→2, k=3, dilation=2, padding=2",
                 *make<nn::Conv2d>(O(1, 2, 3).dilation(2).padding(2)), normal({1, 1, 5, 5}));
  t.check_module("Conv2d", "4→4, k=3, groups=2, padding=1",
                 *make<nn::Conv2d>(O(4, 4, 3).groups(2).padding(1)), normal({1, 4, 4, 4}));
  t.check_module("Conv2d", "2→4, k=(3,2), groups=2, padding='same'",
                 *make<nn::Conv2d>(O(2, 4, {3, 2}).groups(2).padding("same")),
                 normal({1, 2, 4, 4}));
}

void pooling(Table& t) {
  using Max = nn::MaxPool2dOptions;
  // Random normals: no ties within eps, so every window's maximum is a smooth selection.
  t.check_module("MaxPool2d", "k=2", *make<nn::MaxPool2d>(Max(2)), normal({1, 2, 4, 4}));
  t.check_module("MaxPool2d", "k=3, stride=2, padding=1",
                 *make<nn::MaxPool2d>(Max(3).stride(2).padding(1)), normal({2, 1, 5, 5}));
  t.check_module("MaxPool2d", "k=2, dilation=2, ceil_mode=True",
                 *make<nn::MaxPool2d>(Max(2).dilation(2).ceil_mode(true)), normal({1, 1, 6, 5}));
  using Avg = nn::AvgPool2dOptions;
  t.check_module("AvgPool2d", "k=2", *make<nn::AvgPool2d>(Avg(2)), normal({1, 2, 4, 4}));
  t.check_module("AvgPool2d", "k=3, stride=2, padding=1, count_include_pad=False",
                 *make<nn::AvgPool2d>(Avg(3).stride(2).padding(1).count_include_pad(false)),
                 normal({1, 1, 5, 5}));
  t.check_module("AvgPool2d", "k=2, ceil_mode=True, divisor_override=3",
                 *make<nn::AvgPool2d>(Avg(2).ceil_mode(true).divisor_override(3)),
                 normal({1, 1, 5, 5}));
  t.check_module("AdaptiveAvgPool2d", "output_size=(3,2) from 5×5",
                 *make<nn::AdaptiveAvgPool2d>(nn::ExpandingArray<2>({3, 2})), normal({1, 2, 5, 5}));
  t.check_module("AdaptiveAvgPool2d", "output_size=1", *make<nn::AdaptiveAvgPool2d>(1),
                 normal({2, 2, 3, 3}));
}

void activations_and_shapes(Table& t) {
  t.check_module("ReLU", "", *make<nn::ReLU>(), away_from_zero({2, 5}));
  t.check_module("GELU", "approximate='none'", *make<nn::GELU>(), normal({2, 5}));
  t.check_module("GELU", "approximate='tanh'", *make<nn::GELU>("tanh"), normal({2, 5}));
  t.check_module("Tanh", "", *make<nn::Tanh>(), normal({2, 5}));
  t.check_module("Sigmoid", "", *make<nn::Sigmoid>(), normal({2, 5}));
  auto eval_dropout = make<nn::Dropout>(0.5);
  eval_dropout->eval();
  t.check_module("Dropout", "p=0.5, eval", *eval_dropout, normal({2, 5}));
  // Training draws a new mask per forward; reseeding before each one fixes it, so the function
  // gradcheck differentiates is x ↦ mask ⊙ x / (1 − p).
  auto dropout = make<nn::Dropout>(0.3);
  t.check_module("Dropout", "p=0.3, train, fixed seed", *dropout, {normal({2, 5})},
                 [&](const Inputs& in) {
                   manual_seed(7);
                   return Inputs{dropout->forward(in[0])};
                 });
  t.check_module("Flatten", "start_dim=1", *make<nn::Flatten>(), normal({2, 2, 3}));
  t.check_module("Flatten", "start_dim=0, end_dim=1", *make<nn::Flatten>(0, 1), normal({2, 2, 3}));
  // Indices are not differentiable: the weight is what is checked. Repeated indices accumulate.
  auto embedding = make<nn::Embedding>(5, 3);
  const Tensor indices = tensor({1, 3, 1, 0, 4, 3}, {2, 3}, kInt64);
  t.check_module("Embedding", "5×3, weight only, repeated indices", *embedding, {indices},
                 [&](const Inputs& in) { return Inputs{embedding->forward(in[0])}; });
}

void recurrent(Table& t) {
  using nn::RNNNonlinearity;
  auto rnn_cell = make<nn::RNNCell>(3, 4);
  t.check_module("RNNCell", "3→4, tanh, with hx", *rnn_cell, {normal({2, 3}), normal({2, 4})},
                 [&](const Inputs& in) { return Inputs{rnn_cell->forward(in[0], in[1])}; });
  auto relu_cell = make<nn::RNNCell>(nn::RNNCellOptions(3, 4).nonlinearity(RNNNonlinearity::ReLU));
  t.check_module("RNNCell", "3→4, relu, no hx", *relu_cell, {normal({2, 3})},
                 [&](const Inputs& in) { return Inputs{relu_cell->forward(in[0])}; });
  auto lstm_cell = make<nn::LSTMCell>(3, 4);
  t.check_module("LSTMCell", "3→4, with (h, c)", *lstm_cell,
                 {normal({2, 3}), normal({2, 4}), normal({2, 4})}, [&](const Inputs& in) {
                   auto [h, c] = lstm_cell->forward(in[0], std::make_tuple(in[1], in[2]));
                   return Inputs{h, c};
                 });
  auto gru_cell = make<nn::GRUCell>(nn::GRUCellOptions(3, 4));
  t.check_module("GRUCell", "3→4, with hx", *gru_cell, {normal({2, 3}), normal({2, 4})},
                 [&](const Inputs& in) { return Inputs{gru_cell->forward(in[0], in[1])}; });
  auto gru_cell_no_bias = make<nn::GRUCell>(nn::GRUCellOptions(3, 2).bias(false));
  t.check_module("GRUCell", "3→2, bias=False, unbatched", *gru_cell_no_bias, {normal({3})},
                 [&](const Inputs& in) { return Inputs{gru_cell_no_bias->forward(in[0])}; });

  auto rnn = make<nn::RNN>(nn::RNNOptions(2, 3).num_layers(2).batch_first(true));
  t.check_module("RNN", "2→3, num_layers=2, batch_first, h0", *rnn,
                 {normal({2, 3, 2}), normal({2, 2, 3})}, [&](const Inputs& in) {
                   auto [out, h] = rnn->forward(in[0], in[1]);
                   return Inputs{out, h};
                 });
  auto lstm = make<nn::LSTM>(nn::LSTMOptions(2, 3).num_layers(2).batch_first(true));
  t.check_module("LSTM", "2→3, num_layers=2, batch_first, (h0, c0)", *lstm,
                 {normal({2, 3, 2}), normal({2, 2, 3}), normal({2, 2, 3})}, [&](const Inputs& in) {
                   auto [out, state] = lstm->forward(in[0], std::make_tuple(in[1], in[2]));
                   auto [h, c] = state;
                   return Inputs{out, h, c};
                 });
  auto lstm_seq = make<nn::LSTM>(nn::LSTMOptions(2, 3));
  t.check_module("LSTM", "2→3, sequence first, zero state", *lstm_seq, {normal({4, 1, 2})},
                 [&](const Inputs& in) {
                   auto [out, state] = lstm_seq->forward(in[0]);
                   auto [h, c] = state;
                   return Inputs{out, h, c};
                 });
  // Dropout between the layers: a fixed seed fixes the mask, as for nn::Dropout.
  auto lstm_dropout =
      make<nn::LSTM>(nn::LSTMOptions(2, 3).num_layers(2).batch_first(true).dropout(0.4));
  t.check_module("LSTM", "2→3, num_layers=2, dropout=0.4, train, fixed seed", *lstm_dropout,
                 {normal({2, 3, 2})}, [&](const Inputs& in) {
                   manual_seed(7);
                   auto [out, state] = lstm_dropout->forward(in[0]);
                   auto [h, c] = state;
                   return Inputs{out, h, c};
                 });
  auto gru = make<nn::GRU>(nn::GRUOptions(2, 3).num_layers(2).batch_first(true));
  t.check_module("GRU", "2→3, num_layers=2, batch_first, h0", *gru,
                 {normal({2, 3, 2}), normal({2, 2, 3})}, [&](const Inputs& in) {
                   auto [out, h] = gru->forward(in[0], in[1]);
                   return Inputs{out, h};
                 });
  auto gru_no_bias = make<nn::GRU>(nn::GRUOptions(2, 3).num_layers(2).bias(false));
  t.check_module("GRU", "2→3, num_layers=2, bias=False", *gru_no_bias, {normal({3, 2, 2})},
                 [&](const Inputs& in) {
                   auto [out, h] = gru_no_bias->forward(in[0]);
                   return Inputs{out, h};
                 });
}

// The module with non-default affine parameters and running statistics: weight 1, bias 0,
// mean 0 and variance 1 would hide terms of the backward.
void randomize_norm(nn::NormBase& m) {
  NoGradGuard no_grad;
  if (m.weight().defined()) m.weight().copy_(rand(m.weight().sizes()) + 0.5);
  if (m.bias().defined()) m.bias().copy_(randn(m.bias().sizes()) * 0.5);
  if (m.running_mean().defined()) m.running_mean().copy_(randn(m.running_mean().sizes()) * 0.5);
  if (m.running_var().defined()) m.running_var().copy_(rand(m.running_var().sizes()) + 0.5);
}

template <class M>
void check_norm(Table& t, const std::string& layer, const std::string& options, M& norm,
                const Shape& shape) {
  randomize_norm(norm);
  for (bool train : {true, false}) {
    norm.train(train);
    // Off-centre, not unit scale: the mean and variance terms of the backward both matter.
    t.check_module(layer, options + (train ? ", train" : ", eval"), norm,
                   leaf(randn(shape, kFloat64) * 1.5 + 0.3));
  }
}

void normalization(Table& t) {
  using BN = nn::BatchNormOptions;
  check_norm(t, "BatchNorm1d", "3, input [4,3]", *make<nn::BatchNorm1d>(3), {4, 3});
  check_norm(t, "BatchNorm1d", "2, momentum=None, input [3,2,4]",
             *make<nn::BatchNorm1d>(BN(2).momentum(std::nullopt)), {3, 2, 4});
  check_norm(t, "BatchNorm2d", "3", *make<nn::BatchNorm2d>(3), {2, 3, 2, 2});
  check_norm(t, "BatchNorm2d", "2, affine=False", *make<nn::BatchNorm2d>(BN(2).affine(false)),
             {3, 2, 2, 2});
  check_norm(t, "BatchNorm3d", "2", *make<nn::BatchNorm3d>(2), {2, 2, 2, 2, 2});
  // Without running statistics eval normalizes with batch statistics too.
  check_norm(t, "BatchNorm2d", "2, track_running_stats=False",
             *make<nn::BatchNorm2d>(BN(2).track_running_stats(false)), {2, 2, 2, 2});
  using IN = nn::InstanceNormOptions;
  check_norm(t, "InstanceNorm1d", "2, affine=True", *make<nn::InstanceNorm1d>(IN(2).affine(true)),
             {2, 2, 4});
  check_norm(t, "InstanceNorm2d", "2, affine=True, track_running_stats=True",
             *make<nn::InstanceNorm2d>(IN(2).affine(true).track_running_stats(true)), {2, 2, 2, 3});
  check_norm(t, "InstanceNorm3d", "2", *make<nn::InstanceNorm3d>(IN(2)), {1, 2, 2, 2, 2});

  const Tensor x = leaf(randn({2, 2, 3}, kFloat64) * 1.5 + 0.3);
  auto layer_norm = make<nn::LayerNorm>(nn::LayerNormOptions({2, 3}));
  {
    NoGradGuard no_grad;
    layer_norm->weight().copy_(rand({2, 3}) + 0.5);
    layer_norm->bias().copy_(randn({2, 3}) * 0.5);
  }
  t.check_module("LayerNorm", "[2,3]", *layer_norm, x);
  t.check_module("LayerNorm", "[3], bias=False",
                 *make<nn::LayerNorm>(nn::LayerNormOptions({3}).bias(false)), x);
  t.check_module(
      "LayerNorm", "[3], elementwise_affine=False, eps=1e-3",
      *make<nn::LayerNorm>(nn::LayerNormOptions({3}).elementwise_affine(false).eps(1e-3)), x);
  auto group_norm = make<nn::GroupNorm>(2, 4);
  {
    NoGradGuard no_grad;
    group_norm->weight().copy_(rand({4}) + 0.5);
    group_norm->bias().copy_(randn({4}) * 0.5);
  }
  t.check_module("GroupNorm", "2 groups, 4 channels", *group_norm,
                 leaf(randn({2, 4, 3}, kFloat64) + 0.3));
  t.check_module("GroupNorm", "1 group, 4 channels, affine=False",
                 *make<nn::GroupNorm>(nn::GroupNormOptions(1, 4).affine(false)),
                 leaf(randn({2, 4, 2, 2}, kFloat64) + 0.3));
  auto rms_norm = make<nn::RMSNorm>(nn::RMSNormOptions({2, 3}));
  {
    NoGradGuard no_grad;
    rms_norm->weight().copy_(rand({2, 3}) + 0.5);
  }
  t.check_module("RMSNorm", "[2,3], eps=None", *rms_norm, x);
  t.check_module("RMSNorm", "[3], eps=1e-3, elementwise_affine=False",
                 *make<nn::RMSNorm>(nn::RMSNormOptions({3}).eps(1e-3).elementwise_affine(false)),
                 x);
}

// A block of examples/train_cnn.cpp's model, every parameter at once.
void composite(Table& t) {
  auto model = make<nn::Sequential>();
  model->push_back(make<nn::Conv2d>(nn::Conv2dOptions(1, 2, 3).padding(1)));
  model->push_back(make<nn::BatchNorm2d>(2));
  model->push_back(make<nn::ReLU>());
  model->push_back(make<nn::MaxPool2d>(2));
  model->push_back(make<nn::Flatten>());
  model->push_back(make<nn::Linear>(2 * 2 * 2, 3));
  t.check_module("Sequential", "Conv2d–BatchNorm2d–ReLU–MaxPool2d–Flatten–Linear, train", *model,
                 normal({2, 1, 4, 4}));
}

void losses(Table& t) {
  const Tensor logits = normal({4, 3});
  const Tensor target = tensor({0, 2, 1, 2}, {4}, kInt64);
  const Tensor weight = tensor({0.5, 2.0, 1.0}, {3}, kFloat64);
  auto ce = [&](std::string options, std::function<Tensor(const Tensor&)> loss) {
    t.check("cross_entropy", std::move(options), {logits},
            [loss](const Inputs& in) { return Inputs{loss(in[0])}; });
  };
  ce("mean", [&](const Tensor& x) { return F::cross_entropy(x, target); });
  ce("label_smoothing=0.1",
     [&](const Tensor& x) { return F::cross_entropy(x, target, {}, -100, "mean", 0.1); });
  ce("weight, label_smoothing=0.2",
     [&](const Tensor& x) { return F::cross_entropy(x, target, weight, -100, "mean", 0.2); });
  ce("weight, ignore_index=2, reduction='sum'",
     [&](const Tensor& x) { return F::cross_entropy(x, target, weight, 2, "sum"); });
  ce("reduction='none', label_smoothing=0.1",
     [&](const Tensor& x) { return F::cross_entropy(x, target, {}, -100, "none", 0.1); });
  const Tensor spatial_target = classes(3, {2, 4});
  t.check("cross_entropy", "[2,3,4] logits, [2,4] targets", {normal({2, 3, 4})},
          [&](const Inputs& in) { return Inputs{F::cross_entropy(in[0], spatial_target)}; });

  t.check("nll_loss", "mean", {logits},
          [&](const Inputs& in) { return Inputs{F::nll_loss(F::log_softmax(in[0], 1), target)}; });
  t.check("nll_loss", "weight, ignore_index=0, reduction='none'", {logits},
          [&](const Inputs& in) { return Inputs{F::nll_loss(in[0], target, weight, 0, "none")}; });
  for (const char* reduction : {"mean", "sum", "none"}) {
    t.check("mse_loss", std::string("reduction='") + reduction + "', input and target",
            {normal({2, 3}), normal({2, 3})},
            [reduction](const Inputs& in) { return Inputs{F::mse_loss(in[0], in[1], reduction)}; });
  }
  for (int64_t dim : {1, 0, -1}) {
    const std::string options = "dim=" + std::to_string(dim);
    t.check("log_softmax", options, {normal({3, 4})},
            [dim](const Inputs& in) { return Inputs{F::log_softmax(in[0], dim)}; });
    t.check("softmax", options, {normal({3, 4})},
            [dim](const Inputs& in) { return Inputs{F::softmax(in[0], dim)}; });
  }
}

}  // namespace

int main() {
  try {
    set_num_threads(1);  // tiny tensors: threads only add overhead
    manual_seed(0);
    const auto start = std::chrono::steady_clock::now();
    Table table;
    linear_and_conv(table);
    pooling(table);
    activations_and_shapes(table);
    recurrent(table);
    normalization(table);
    composite(table);
    losses(table);
    const int failed = table.print();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const autograd::GradcheckOptions defaults;
    std::printf(
        "\n%zu checks, %d failed, %.1f s (float64; eps %g, pass if |analytical − numerical| ≤ "
        "%g + %g·|numerical| everywhere)\n",
        table.size(), failed, seconds, defaults.eps, defaults.atol, defaults.rtol);
    return failed == 0 ? 0 : 1;
  } catch (const Error& e) {
    std::fprintf(stderr, "gradcheck: %s\n", e.what());
    return 1;
  }
}
