// The training-stack layers against PyTorch: every case in fixtures/layers.safetensors (written by
// tests/golden/gen_layers.py with torch 1.13) is rebuilt as an ember module from its PyTorch
// kwargs, loaded with the same parameters and run in float32 and float64: output, input and
// parameter gradients, repr and state_dict entries. The functional forms are checked on the same
// data and by gradcheck (float64). Then the things golden data cannot show: default init,
// Dropout's train/eval behaviour, error texts, in-place detection, a whole CNN.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "ember/autograd/node.h"  // grad_fn()->name()
#include "ember/ember.h"
#include "tests/layer_test_support.h"
#include "tests/nn_test_util.h"

using namespace ember;
using namespace ember::layer_test;
using ember::test_util::error_of;

namespace {

const char* const kLayersFile = "layers";

// "weight:4x1x3x3;bias:4", the format gen_layers.py writes.
std::string state_keys(const nn::Module& m) {
  std::string out;
  for (const auto& [name, t] : m.state_dict()) {
    if (!out.empty()) out += ";";
    out += name + ":";
    for (int64_t d = 0; d < t.dim(); ++d) {
      if (d > 0) out += "x";
      out += std::to_string(t.size(d));
    }
  }
  return out;
}

bool is_index_input(const Case& c) { return c.layer == "Embedding"; }

// Module forward + backward on one dtype against the fixture.
void check_module(const Case& c, const std::string& tag) {
  SCOPED_TRACE(c.name + " " + tag);
  auto m = make_layer(c);
  EXPECT_EQ(nn::repr(*m), c.meta("repr"));
  EXPECT_EQ(state_keys(*m), c.meta("keys"));
  m->to(dtype_of_tag(tag));
  StateDict params;
  for (const auto& [name, p] : m->named_parameters())
    params.insert(name, c.at(tag, "param/" + name));
  m->load_state_dict(params);

  Tensor x = c.at(tag, "x");
  if (!is_index_input(c)) x.requires_grad_();
  Tensor y = m->forward(x);
  expect_close(y, c.at(tag, "y"), "y", tag);
  y.backward(c.at(tag, "gy"));
  if (!is_index_input(c)) expect_close(x.grad(), c.at(tag, "gx"), "dx", tag);
  for (const auto& [name, p] : m->named_parameters()) {
    expect_close(p.grad(), c.at(tag, "grad/" + name), "d" + name, tag);
    if (c.has(tag, "param_after/" + name))
      expect_close(p, c.at(tag, "param_after/" + name), name + " after forward", tag);
  }
}

Tensor param_or_empty(const Case& c, const std::string& tag, const std::string& name) {
  return c.has(tag, "param/" + name) ? c.at(tag, "param/" + name) : Tensor();
}

// The functional form on the same data (both dtypes), then gradcheck on x and the parameters.
void check_functional(const Case& c) {
  for (const std::string tag : {"f32", "f64"}) {
    SCOPED_TRACE(c.name + " functional " + tag);
    const Tensor y = functional_forward(c, c.at(tag, "x"), param_or_empty(c, tag, "weight"),
                                        param_or_empty(c, tag, "bias"));
    expect_close(y, c.at(tag, "y"), "y", tag);
  }
  if (!c.gradcheck) return;
  SCOPED_TRACE(c.name + " gradcheck");
  Tensor x = c.at("f64", "x"), w = param_or_empty(c, "f64", "weight"),
         b = param_or_empty(c, "f64", "bias");
  if (!is_index_input(c)) x.requires_grad_();
  if (w.defined()) w.requires_grad_();
  if (b.defined()) b.requires_grad_();
  const auto r = autograd::gradcheck(
      [&](const std::vector<Tensor>& in) {
        return std::vector<Tensor>{functional_forward(c, in[0], in[1], in[2])};
      },
      {x, w, b});
  EXPECT_TRUE(r.ok) << r.report;
}

void check_layer(const std::string& layer, size_t min_cases) {
  for (const Case& c : cases_of(kLayersFile, layer, min_cases)) {
    for (const std::string tag : {"f32", "f64"}) check_module(c, tag);
    check_functional(c);
  }
}

}  // namespace

// ---- PyTorch parity (golden) + gradcheck ----

TEST(Layers, Linear) { check_layer("Linear", 5); }
TEST(Layers, Conv2d) { check_layer("Conv2d", 14); }
TEST(Layers, MaxPool2d) { check_layer("MaxPool2d", 9); }
TEST(Layers, AvgPool2d) { check_layer("AvgPool2d", 8); }
TEST(Layers, AdaptiveAvgPool2d) { check_layer("AdaptiveAvgPool2d", 6); }
TEST(Layers, Activations) {
  check_layer("ReLU", 2);
  check_layer("GELU", 2);
  check_layer("Tanh", 1);
  check_layer("Sigmoid", 1);
}
TEST(Layers, SoftmaxAndLogSoftmax) {
  check_layer("Softmax", 4);
  check_layer("LogSoftmax", 4);
}
TEST(Layers, Flatten) { check_layer("Flatten", 4); }
TEST(Layers, Embedding) { check_layer("Embedding", 6); }

// ---- reprs and state dicts ----

TEST(Layers, Reprs) {
  using namespace nn;
  EXPECT_EQ(repr(Linear(1568, 10)), "Linear(in_features=1568, out_features=10, bias=True)");
  EXPECT_EQ(repr(Linear(LinearOptions(3, 4).bias(false))),
            "Linear(in_features=3, out_features=4, bias=False)");
  EXPECT_EQ(repr(Conv2d(Conv2dOptions(1, 16, 3).padding(1))),
            "Conv2d(1, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))");
  EXPECT_EQ(repr(Conv2d(1, 16, 3)), "Conv2d(1, 16, kernel_size=(3, 3), stride=(1, 1))");
  EXPECT_EQ(
      repr(Conv2d(
          Conv2dOptions(4, 8, {3, 5}).stride(2).padding({1, 2}).dilation(2).groups(2).bias(false))),
      "Conv2d(4, 8, kernel_size=(3, 5), stride=(2, 2), padding=(1, 2), dilation=(2, 2), "
      "groups=2, bias=False)");
  EXPECT_EQ(repr(Conv2d(Conv2dOptions(1, 16, 3).padding("same"))),
            "Conv2d(1, 16, kernel_size=(3, 3), stride=(1, 1), padding=same)");
  EXPECT_EQ(repr(MaxPool2d(2)),
            "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)");
  EXPECT_EQ(repr(MaxPool2d(MaxPool2dOptions({2, 3}).ceil_mode(true))),
            "MaxPool2d(kernel_size=(2, 3), stride=(2, 3), padding=0, dilation=1, ceil_mode=True)");
  EXPECT_EQ(repr(AvgPool2d(AvgPool2dOptions(3).stride(2).padding(1))),
            "AvgPool2d(kernel_size=3, stride=2, padding=1)");
  EXPECT_EQ(repr(AdaptiveAvgPool2d(1)), "AdaptiveAvgPool2d(output_size=1)");
  EXPECT_EQ(repr(AdaptiveAvgPool2d({2, 3})), "AdaptiveAvgPool2d(output_size=(2, 3))");
  EXPECT_EQ(repr(ReLU()), "ReLU()");
  EXPECT_EQ(repr(GELU()), "GELU(approximate='none')");
  EXPECT_EQ(repr(GELU("tanh")), "GELU(approximate='tanh')");
  EXPECT_EQ(repr(Tanh()), "Tanh()");
  EXPECT_EQ(repr(Sigmoid()), "Sigmoid()");
  EXPECT_EQ(repr(Dropout()), "Dropout(p=0.5, inplace=False)");
  EXPECT_EQ(repr(Dropout(0.1)), "Dropout(p=0.1, inplace=False)");
  EXPECT_EQ(repr(Flatten()), "Flatten(start_dim=1, end_dim=-1)");
  EXPECT_EQ(repr(Embedding(10, 3)), "Embedding(10, 3)");
  EXPECT_EQ(repr(Embedding(EmbeddingOptions(10, 3).padding_idx(-1).max_norm(1.0))),
            "Embedding(10, 3, padding_idx=9, max_norm=1.0)");
  EXPECT_EQ(repr(Softmax(-1)), "Softmax(dim=-1)");
  EXPECT_EQ(repr(LogSoftmax(1)), "LogSoftmax(dim=1)");
}

// The CNN of the examples, printed exactly as PyTorch prints the same nn.Sequential.
std::shared_ptr<nn::Sequential> small_cnn() {
  using namespace nn;
  return std::make_shared<Sequential>(std::initializer_list<std::shared_ptr<Module>>{
      std::make_shared<Conv2d>(Conv2dOptions(1, 16, 3).padding(1)), std::make_shared<ReLU>(),
      std::make_shared<MaxPool2d>(2), std::make_shared<Conv2d>(Conv2dOptions(16, 32, 3).padding(1)),
      std::make_shared<ReLU>(), std::make_shared<MaxPool2d>(2), std::make_shared<Flatten>(),
      std::make_shared<Dropout>(0.25), std::make_shared<Linear>(1568, 10)});
}

TEST(Layers, CnnReprStateDictAndTraining) {
  auto net = small_cnn();
  EXPECT_EQ(nn::repr(*net),
            "Sequential(\n"
            "  (0): Conv2d(1, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n"
            "  (1): ReLU()\n"
            "  (2): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n"
            "  (3): Conv2d(16, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n"
            "  (4): ReLU()\n"
            "  (5): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n"
            "  (6): Flatten(start_dim=1, end_dim=-1)\n"
            "  (7): Dropout(p=0.25, inplace=False)\n"
            "  (8): Linear(in_features=1568, out_features=10, bias=True)\n"
            ")");
  EXPECT_EQ(state_keys(*net),
            "0.weight:16x1x3x3;0.bias:16;3.weight:32x16x3x3;3.bias:32;8.weight:10x1568;8.bias:10");
  manual_seed(3);
  const Tensor x = randn({4, 1, 28, 28});
  const Tensor target = tensor(std::vector<double>{1, 7, 0, 9}, {4}, kInt64);
  Tensor loss = F::cross_entropy(net->forward(x), target);
  EXPECT_EQ(loss.dim(), 0);
  EXPECT_TRUE(std::isfinite(loss.item<double>()));
  loss.backward();
  for (const auto& [name, p] : net->named_parameters()) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(p.grad().defined());
    EXPECT_EQ(p.grad().sizes(), p.sizes());
  }
  // A few plain SGD steps on one batch must lower its loss.
  const double first = loss.item<double>();
  for (int step = 0; step < 5; ++step) {
    net->zero_grad();
    Tensor l = F::cross_entropy(net->forward(x), target);
    l.backward();
    NoGradGuard no_grad;
    for (Tensor& p : net->parameters()) p.add_(p.grad(), -0.05);
  }
  net->eval();
  EXPECT_LT(F::cross_entropy(net->forward(x), target).item<double>(), first);
}

// ---- default initialization ----

// All values inside ±bound; large samples also spread over it (a U(-b, b) sample of 1000 values
// reaches ±0.9·b and averages near 0).
void expect_uniform_within(const Tensor& t, double bound) {
  double lo = 0, hi = 0, sum = 0;
  for (double v : t.to_vector<double>()) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
    sum += v;
  }
  EXPECT_GE(lo, -bound);
  EXPECT_LE(hi, bound);
  if (t.numel() < 1000) return;
  EXPECT_LT(lo, -0.9 * bound);
  EXPECT_GT(hi, 0.9 * bound);
  EXPECT_LT(std::abs(sum / static_cast<double>(t.numel())), 0.1 * bound);
}

TEST(Layers, DefaultInitLikePyTorch) {
  manual_seed(0);
  nn::Linear fc(1568, 10);
  expect_uniform_within(fc.weight(), 1.0 / std::sqrt(1568.0));
  expect_uniform_within(fc.bias(), 1.0 / std::sqrt(1568.0));
  EXPECT_EQ(fc.weight().sizes(), (Shape{10, 1568}));
  EXPECT_EQ(fc.weight().dtype(), kFloat32);
  EXPECT_TRUE(fc.weight().requires_grad());

  nn::Conv2d conv(nn::Conv2dOptions(16, 32, 3).padding(1));
  expect_uniform_within(conv.weight(), 1.0 / std::sqrt(16.0 * 9));
  expect_uniform_within(conv.bias(), 1.0 / std::sqrt(16.0 * 9));
  // groups shrink fan_in to in/groups·kH·kW
  nn::Conv2d grouped(nn::Conv2dOptions(64, 64, {3, 2}).groups(4));
  EXPECT_EQ(grouped.weight().sizes(), (Shape{64, 16, 3, 2}));
  expect_uniform_within(grouped.weight(), 1.0 / std::sqrt(16.0 * 6));

  nn::Embedding emb(nn::EmbeddingOptions(1000, 16).padding_idx(3));
  const Tensor w = emb.weight();
  EXPECT_NEAR(w.mean().item<double>(), 0.0, 0.03);
  EXPECT_NEAR(w.std().item<double>(), 1.0, 0.03);
  EXPECT_EQ(w.select(0, 3).abs().sum().item<double>(), 0.0);  // the padding row starts at zero

  // nn::init's formulas.
  EXPECT_DOUBLE_EQ(nn::init::calculate_gain("relu"), std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(nn::init::calculate_gain("tanh"), 5.0 / 3.0);
  EXPECT_DOUBLE_EQ(nn::init::calculate_gain("leaky_relu", std::sqrt(5.0)), std::sqrt(1.0 / 3.0));
  EXPECT_EQ(nn::init::calculate_fan_in_and_fan_out(conv.weight()),
            (std::pair<int64_t, int64_t>{144, 288}));
  Tensor t = zeros({200, 300});
  nn::init::xavier_uniform_(t);
  expect_uniform_within(t, std::sqrt(6.0 / 500.0));
  EXPECT_NE(
      error_of([] { nn::init::calculate_fan_in_and_fan_out(zeros({3})); }).find("fewer than 2"),
      std::string::npos);
}

TEST(Layers, ResetAndLoadKeepHandles) {
  nn::Linear fc(4, 3);
  const Tensor w = fc.weight();
  fc.reset_parameters();
  EXPECT_TRUE(w.is_same(fc.weight()));
  fc.to(kFloat64);
  EXPECT_EQ(fc.weight().dtype(), kFloat64);
  EXPECT_EQ(fc.forward(ones({2, 4}, kFloat64)).dtype(), kFloat64);
}

// ---- Dropout ----

TEST(Layers, DropoutEvalIsIdentityTrainScales) {
  nn::Dropout drop(0.3);
  const Tensor x = rand({200, 50}) + 1.0;  // no zeros of its own
  drop.eval();
  EXPECT_TRUE(drop.forward(x).is_same(x)) << "eval must pass the input through untouched";

  drop.train();
  manual_seed(7);
  Tensor xg = x.clone().requires_grad_();
  const Tensor y = drop.forward(xg);
  const auto xv = x.to_vector<double>(), yv = y.to_vector<double>();
  int64_t dropped = 0;
  for (size_t i = 0; i < xv.size(); ++i) {
    if (yv[i] == 0) {
      ++dropped;
    } else {
      EXPECT_NEAR(yv[i], xv[i] / 0.7, 1e-5 * xv[i]) << i;
    }
  }
  EXPECT_NEAR(static_cast<double>(dropped) / static_cast<double>(xv.size()), 0.3, 0.02);
  // The gradient is the mask: 1/(1 − p) where kept, 0 where dropped.
  y.backward(ones_like(y));
  const auto gv = xg.grad().to_vector<double>();
  for (size_t i = 0; i < gv.size(); ++i)
    ASSERT_NEAR(gv[i], yv[i] == 0 ? 0.0 : 1.0 / 0.7, 1e-6) << i;

  // The mask comes from ember's generator.
  manual_seed(7);
  EXPECT_TRUE(allclose(drop.forward(x), y, 0, 0));
  EXPECT_TRUE(F::dropout(x, 0.0).is_same(x));
  EXPECT_EQ(F::dropout(x, 1.0).abs().sum().item<double>(), 0.0);
  EXPECT_TRUE(F::dropout(x, 0.5, /*training=*/false).is_same(x));
}

// ---- errors: ember::Error with PyTorch's wording, naming the shapes ----

TEST(Layers, ConvErrors) {
  nn::Conv2d conv(1, 16, 3);
  EXPECT_EQ(error_of([&] {
              conv.forward(zeros({64, 3, 28, 28}));
            }),
            "Given groups=1, weight of size [16, 1, 3, 3], expected input[64, 3, 28, 28] to have "
            "1 channels, but got 3 channels instead");
  EXPECT_EQ(error_of([&] {
              conv.forward(zeros({28, 28}));
            }),
            "Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: [28, "
            "28]");
  EXPECT_EQ(error_of([&] {
              conv.forward(zeros({1, 1, 2, 2}));
            }),
            "Calculated padded input size per channel: (2 x 2). Kernel size: (3 x 3). Kernel size "
            "can't be greater than actual input size");
  EXPECT_EQ(error_of([&] {
              conv.forward(zeros({1, 1, 5, 5}, kFloat64));
            }),
            "Input type (float64) and weight type (float32) should be the same");
  EXPECT_EQ(error_of([] {
              F::conv2d(zeros({1, 1, 5, 5}), zeros({2, 1, 3, 3}), zeros({3}));
            }),
            "Given weight of size [2, 1, 3, 3], expected bias to be 1-dimensional with 2 "
            "elements, but got bias of size [3] instead");
  EXPECT_EQ(error_of([] {
              F::conv2d(zeros({1, 4, 5, 5}), zeros({4, 2, 3, 3}), {}, 1, 0, 1, 3);
            }),
            "Given groups=3, expected weight to be divisible by 3 at dimension 0, but got weight "
            "of size [4, 2, 3, 3] instead");
  EXPECT_EQ(error_of([] {
              F::conv2d(zeros({1, 1, 5, 5}), zeros({1, 1, 3, 3}), {}, 0);
            }),
            "non-positive stride is not supported");
  EXPECT_EQ(error_of([] {
              F::conv2d(zeros({1, 1, 5, 5}), zeros({1, 1, 3, 3}), {}, 1, -1);
            }),
            "negative padding is not supported");
  EXPECT_EQ(error_of([] { nn::Conv2d(nn::Conv2dOptions(3, 4, 3).groups(2)); }),
            "in_channels must be divisible by groups");
  EXPECT_EQ(error_of([] { nn::Conv2d(nn::Conv2dOptions(4, 3, 3).groups(2)); }),
            "out_channels must be divisible by groups");
  EXPECT_EQ(error_of([] { nn::Conv2d(nn::Conv2dOptions(1, 1, 3).stride(2).padding("same")); }),
            "padding='same' is not supported for strided convolutions");
  EXPECT_EQ(error_of([] { nn::Conv2d(nn::Conv2dOptions(1, 1, 3).padding(std::string("foo"))); }),
            "Invalid padding string 'foo', should be one of {'valid', 'same'}");
}

TEST(Layers, LinearPoolEmbeddingActivationErrors) {
  nn::Linear fc(4, 3);
  EXPECT_EQ(error_of([&] {
              fc.forward(zeros({2, 5}));
            }),
            "mat1 and mat2 shapes cannot be multiplied (2x5 and 4x3)");
  EXPECT_EQ(error_of([&] { fc.forward(zeros({5})); }),
            "mat1 and mat2 shapes cannot be multiplied (1x5 and 4x3)");
  EXPECT_EQ(error_of([&] {
              fc.forward(zeros({2, 3, 5}));
            }),
            "mat1 and mat2 shapes cannot be multiplied (6x5 and 4x3)");
  EXPECT_EQ(error_of([] {
              F::linear(zeros({2, 4}), zeros({3, 4}), zeros({4}));
            }),
            "linear: expected bias to be 1-dimensional with 3 elements (out_features), but got "
            "bias of size [4]");

  EXPECT_EQ(error_of([] {
              nn::MaxPool2d(nn::MaxPool2dOptions(2).padding(2)).forward(zeros({1, 1, 8, 8}));
            }),
            "pad should be at most half of kernel size, but got pad=2 and kernel_size=2");
  EXPECT_EQ(error_of([] {
              nn::MaxPool2d(3).forward(zeros({1, 1, 2, 2}));
            }),
            "Given input size: (1x2x2). Calculated output size: (1x0x0). Output size is too small");
  EXPECT_EQ(error_of([] {
              nn::AvgPool2d(2).forward(zeros({8, 8}));
            }),
            "avg_pool2d: Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for "
            "input, but got: [8, 8]");
  EXPECT_EQ(error_of([] {
              F::avg_pool2d(zeros({1, 1, 4, 4}), 2, {}, 0, false, true, 0);
            }),
            "divisor must be not zero");
  EXPECT_EQ(error_of([] {
              nn::AdaptiveAvgPool2d(2).forward(zeros({1, 1, 0, 8}));
            }),
            "adaptive_avg_pool2d(): Expected input to have non-zero size for non-batch "
            "dimensions, but input has sizes [1, 1, 0, 8] with dimension 2 being empty");

  nn::Embedding emb(10, 3);
  const Tensor bad = tensor(std::vector<double>{1, 10}, {2}, kInt64);
  EXPECT_EQ(error_of([&] { emb.forward(bad); }),
            "index out of range in self (index 10 with num_embeddings=10)");
  EXPECT_NE(
      error_of([&] { emb.forward(ones({2})); }).find("'indices' to have one of the following"),
      std::string::npos);
  EXPECT_NE(error_of([] {
              nn::Embedding(nn::EmbeddingOptions(10, 3).padding_idx(10));
            }).find("Padding_idx must be within num_embeddings"),
            std::string::npos);

  EXPECT_EQ(error_of([] { nn::Dropout(1.5); }),
            "dropout probability has to be between 0 and 1, but got 1.5");
  EXPECT_EQ(error_of([] { nn::GELU("foo"); }),
            "approximate argument must be either none or tanh, got 'foo'");
  EXPECT_NE(error_of([] {
              F::log_softmax(zeros({3, 4}), 2);
            }).find("Dimension out of range"),
            std::string::npos);
}

TEST(Layers, FailedCallsChangeNothing) {
  // An out-of-range index must throw before max_norm renormalizes any row.
  nn::Embedding emb(nn::EmbeddingOptions(10, 3).max_norm(0.1));
  const auto before = test_util::snapshot(emb);
  EXPECT_NE(error_of([&] {
              emb.forward(tensor(std::vector<double>{0, 1, 11}, {3}, kInt64));
            }),
            "(no error)");
  test_util::expect_same_state(before, test_util::snapshot(emb));
}

// ---- autograd integration ----

TEST(Layers, InPlaceChangeAfterForwardIsCaught) {
  nn::Conv2d conv(1, 2, 3);
  Tensor x = randn({1, 1, 5, 5});
  Tensor y = conv.forward(x);  // x needs no grad: the node saves it for the weight gradient
  x.add_(1.0);
  EXPECT_NE(error_of([&] { y.sum().backward(); }).find("modified by an inplace operation"),
            std::string::npos);
}

TEST(Layers, OneNodePerCall) {
  nn::Conv2d conv(1, 2, 3);
  const Tensor x = randn({1, 1, 5, 5}).requires_grad_();
  EXPECT_EQ(conv.forward(x).grad_fn()->name(), "ConvolutionBackward0");
  EXPECT_EQ(nn::Linear(4, 2).forward(randn({3, 4})).grad_fn()->name(), "AddmmBackward0");
  EXPECT_EQ(F::max_pool2d(x, 2).grad_fn()->name(), "MaxPool2DWithIndicesBackward0");
  EXPECT_EQ(F::log_softmax(x, 1).grad_fn()->name(), "LogSoftmaxBackward0");
  EXPECT_EQ(F::gelu(x).grad_fn()->name(), "GeluBackward0");
  // No graph when nothing needs a gradient.
  EXPECT_FALSE(F::max_pool2d(randn({1, 1, 4, 4}), 2).requires_grad());
}

TEST(Layers, ConvChunkedBatchMatchesPerSample) {
  // A batch large enough to be split into several column chunks gives the same answer as the
  // samples one by one (chunking must not mix samples or lose part of the weight-gradient sum).
  manual_seed(11);
  nn::Conv2d conv(nn::Conv2dOptions(8, 4, 3).padding(1).groups(2));
  const int64_t N = 40;
  const Tensor x = randn({N, 8, 40, 40}).requires_grad_();
  const Tensor gy = randn({N, 4, 40, 40});
  Tensor y = conv.forward(x);
  y.backward(gy);
  const Tensor dw = conv.weight().grad().clone(), db = conv.bias().grad().clone();
  const Tensor dx = x.grad().clone();
  conv.zero_grad();
  for (int64_t n = 0; n < N; ++n) {
    Tensor xn = x.detach().slice(0, n, n + 1).requires_grad_();
    Tensor yn = conv.forward(xn);
    ASSERT_TRUE(allclose(yn, y.detach().slice(0, n, n + 1), 1e-5, 1e-5)) << n;
    yn.backward(gy.slice(0, n, n + 1));
    ASSERT_TRUE(allclose(xn.grad(), dx.slice(0, n, n + 1), 1e-5, 1e-5)) << n;
  }
  // conv.weight().grad() now holds the per-sample gradients summed.
  EXPECT_TRUE(allclose(conv.weight().grad(), dw, 1e-4, 1e-3))
      << max_abs_diff(conv.weight().grad(), dw);
  EXPECT_TRUE(allclose(conv.bias().grad(), db, 1e-4, 1e-3)) << max_abs_diff(conv.bias().grad(), db);
}
