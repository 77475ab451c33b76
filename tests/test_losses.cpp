// Losses against PyTorch: every case in fixtures/layers_losses.safetensors (written by
// tests/golden/gen_layers.py with torch 1.13) is replayed through nn::functional in float32 and
// float64 (loss and input gradient; mse_loss also the target gradient) and gradchecked in
// float64. Then numerical stability, consistency between the fused and unfused forms, edge
// cases (everything ignored, empty batch), the loss modules and the error texts.
#include <gtest/gtest.h>

#include <cmath>

#include "ember/autograd/node.h"  // grad_fn()->name()
#include "ember/ember.h"
#include "tests/layer_test_support.h"
#include "tests/nn_test_util.h"

using namespace ember;
using namespace ember::layer_test;
using ember::test_util::error_of;

namespace {

const char* const kLossesFile = "layers_losses";

// The functional call of a case; class_weight may be undefined.
Tensor loss_forward(const Case& c, const Tensor& x, const Tensor& target,
                    const Tensor& class_weight) {
  const std::string reduction = c.text("reduction", "mean");
  if (c.layer == "cross_entropy")
    return F::cross_entropy(x, target,
                            nn::CrossEntropyOptions()
                                .weight(class_weight)
                                .ignore_index(c.integer("ignore_index", -100))
                                .reduction(reduction)
                                .label_smoothing(c.real("label_smoothing", 0.0)));
  if (c.layer == "nll_loss")
    return F::nll_loss(x, target, class_weight, c.integer("ignore_index", -100), reduction);
  if (c.layer == "mse_loss") return F::mse_loss(x, target, reduction);
  throw Error("unknown loss " + c.layer);
}

void check_loss(const std::string& fn, size_t min_cases) {
  for (const Case& c : cases_of(kLossesFile, fn, min_cases)) {
    const bool float_target = fn == "mse_loss";
    for (const std::string tag : {"f32", "f64"}) {
      SCOPED_TRACE(c.name + " " + tag);
      Tensor x = c.at(tag, "x").requires_grad_();
      Tensor t = c.at(tag, "target");
      if (float_target) t.requires_grad_();
      const Tensor w = c.has(tag, "class_weight") ? c.at(tag, "class_weight") : Tensor();
      Tensor y = loss_forward(c, x, t, w);
      expect_close(y, c.at(tag, "y"), "loss", tag);
      y.backward(c.at(tag, "gy"));
      expect_close(x.grad(), c.at(tag, "gx"), "dinput", tag);
      if (float_target) expect_close(t.grad(), c.at(tag, "gtarget"), "dtarget", tag);
    }
    SCOPED_TRACE(c.name + " gradcheck");
    Tensor x = c.at("f64", "x").requires_grad_();
    Tensor t = c.at("f64", "target");
    if (float_target) t.requires_grad_();
    const Tensor w = c.has("f64", "class_weight") ? c.at("f64", "class_weight") : Tensor();
    const auto r = autograd::gradcheck(
        [&](const std::vector<Tensor>& in) {
          return std::vector<Tensor>{loss_forward(c, in[0], in[1], w)};
        },
        {x, t});
    EXPECT_TRUE(r.ok) << r.report;
  }
}

Tensor labels(const std::vector<double>& v) {
  return tensor(v, {static_cast<int64_t>(v.size())}, kInt64);
}

}  // namespace

// ---- PyTorch parity (golden) + gradcheck ----

TEST(Losses, CrossEntropy) { check_loss("cross_entropy", 17); }
TEST(Losses, NllLoss) { check_loss("nll_loss", 6); }
TEST(Losses, MseLoss) { check_loss("mse_loss", 4); }

// ---- stability and consistency ----

TEST(Losses, CrossEntropyIsStableForHugeLogits) {
  // exp(1e4) overflows any float; log-sum-exp shifted by the row max does not.
  const Tensor x =
      tensor(std::vector<float>{1e4f, 0.f, -1e4f, -1e4f, 1e4f, 1e4f}, {2, 3}).requires_grad_();
  const Tensor t = labels({0, 2});
  Tensor loss = F::cross_entropy(x, t, {}, -100, "none");
  const auto l = loss.to_vector<double>();
  EXPECT_NEAR(l[0], 0.0, 1e-6);
  EXPECT_NEAR(l[1], std::log(2.0), 1e-6);
  loss.sum().backward();
  for (double g : x.grad().to_vector<double>()) EXPECT_TRUE(std::isfinite(g));
  const Tensor lsm = F::log_softmax(tensor(std::vector<float>{1e4f, 0.f, -1e4f}, {3}), 0);
  EXPECT_NEAR(lsm.to_vector<double>()[1], -1e4, 1e-2);
  const Tensor sm = F::softmax(tensor(std::vector<float>{1e4f, 1e4f}, {2}), 0);
  EXPECT_EQ(sm.to_vector<double>(), (std::vector<double>{0.5, 0.5}));
}

TEST(Losses, CrossEntropyEqualsNllOfLogSoftmax) {
  manual_seed(5);
  const Tensor x = randn({7, 4, 3}, kFloat64);
  const Tensor t = randint(0, 4, {7, 3});
  const Tensor w = rand({4}, kFloat64) + 0.5;
  for (const std::string red : {"mean", "sum", "none"}) {
    SCOPED_TRACE(red);
    const Tensor fused = F::cross_entropy(x, t, w, -100, red);
    const Tensor unfused = F::nll_loss(F::log_softmax(x, 1), t, w, -100, red);
    EXPECT_TRUE(allclose(fused, unfused, 1e-12, 1e-12)) << max_abs_diff(fused, unfused);
  }
}

TEST(Losses, IgnoredTargetsAndEmptyBatches) {
  const Tensor x = randn({3, 4}).requires_grad_();
  const Tensor all_ignored = labels({-100, -100, -100});
  // PyTorch: the mean over no targets is 0/0 = nan, the sum is 0, and no gradient flows.
  EXPECT_TRUE(std::isnan(F::cross_entropy(x, all_ignored).item<double>()));
  Tensor sum = F::cross_entropy(x, all_ignored, {}, -100, "sum");
  EXPECT_EQ(sum.item<double>(), 0.0);
  sum.backward();
  EXPECT_EQ(x.grad().abs().sum().item<double>(), 0.0);
  EXPECT_EQ(F::cross_entropy(x, all_ignored, {}, -100, "none").to_vector<double>(),
            (std::vector<double>{0, 0, 0}));
  EXPECT_TRUE(std::isnan(F::cross_entropy(zeros({0, 4}), labels({})).item<double>()));
  EXPECT_EQ(F::cross_entropy(zeros({0, 4}), labels({}), {}, -100, "sum").item<double>(), 0.0);
  EXPECT_EQ(F::cross_entropy(zeros({0, 4}), labels({}), {}, -100, "none").sizes(), (Shape{0}));
}

TEST(Losses, OneNodePerCall) {
  const Tensor x = randn({3, 4}).requires_grad_();
  EXPECT_EQ(F::cross_entropy(x, labels({0, 1, 2})).grad_fn()->name(), "CrossEntropyBackward0");
  EXPECT_EQ(F::nll_loss(x, labels({0, 1, 2})).grad_fn()->name(), "NllLossBackward0");
  EXPECT_EQ(F::mse_loss(x, zeros({3, 4})).grad_fn()->name(), "MseLossBackward0");
}

TEST(Losses, InPlaceChangeOfLogitsIsCaught) {
  Tensor x = randn({3, 4}).requires_grad_();
  Tensor logits = x * 2.0;
  Tensor loss = F::cross_entropy(logits, labels({0, 1, 2}));
  logits.detach().add_(1.0);  // same storage: the loss node reads it again in backward
  EXPECT_NE(error_of([&] { loss.backward(); }).find("modified by an inplace operation"),
            std::string::npos);
}

// ---- modules ----

TEST(Losses, Modules) {
  nn::CrossEntropyLoss ce;
  EXPECT_EQ(nn::repr(ce), "CrossEntropyLoss()");
  EXPECT_EQ(ce.state_dict().size(), 0u);
  EXPECT_EQ(nn::repr(nn::NLLLoss()), "NLLLoss()");
  EXPECT_EQ(nn::repr(nn::MSELoss()), "MSELoss()");

  manual_seed(9);
  const Tensor x = randn({5, 3}), t = labels({0, 2, 1, 1, 0});
  const Tensor w = tensor(std::vector<float>{0.2f, 1.f, 3.f}, {3});
  nn::CrossEntropyLoss weighted(nn::CrossEntropyLossOptions().weight(w).label_smoothing(0.1));
  EXPECT_EQ(weighted.state_dict().keys(), (std::vector<std::string>{"weight"}));  // a buffer
  EXPECT_TRUE(allclose(weighted(x, t), F::cross_entropy(x, t, w, -100, "mean", 0.1), 0, 0));
  weighted.to(kFloat64);  // the weight buffer follows the module's dtype
  EXPECT_EQ(weighted(x.to(kFloat64), t).dtype(), kFloat64);

  nn::NLLLoss nll(nn::NLLLossOptions().reduction("sum").ignore_index(1));
  EXPECT_TRUE(allclose(nll(x, t), F::nll_loss(x, t, {}, 1, "sum"), 0, 0));
  nn::MSELoss mse(nn::MSELossOptions("none"));
  EXPECT_TRUE(allclose(mse(x, x * 2.0), x * x, 1e-6, 1e-6));
}

// ---- errors ----

TEST(Losses, Errors) {
  const Tensor x = zeros({3, 5});
  EXPECT_EQ(error_of([&] {
              F::cross_entropy(x, labels({0, 5, 1}));
            }),
            "Target 5 is out of bounds (expected a class index in [0, 5) or ignore_index=-100).");
  EXPECT_EQ(error_of([&] {
              F::nll_loss(x, labels({0, -2, 1}));
            }),
            "Target -2 is out of bounds (expected a class index in [0, 5) or ignore_index=-100).");
  EXPECT_EQ(error_of([&] {
              F::cross_entropy(x, labels({0, 1}));
            }),
            "Expected input batch_size (3) to match target batch_size (2).");
  EXPECT_EQ(error_of([&] {
              F::cross_entropy(zeros({3, 5, 2}), zeros({3, 3}, kInt64));
            }),
            "Expected target size [3, 2], got [3, 3]");
  EXPECT_EQ(error_of([&] { F::cross_entropy(x, zeros({3})); }),
            "cross_entropy: expected target of dtype int64 (class indices), but got float32");
  EXPECT_EQ(error_of([&] {
              F::cross_entropy(x, labels({0, 1, 2}), {}, -100, "mean", 1.5);
            }),
            "label_smoothing must be between 0.0 and 1.0. Got: 1.5");
  EXPECT_EQ(error_of([&] {
              F::cross_entropy(x, labels({0, 1, 2}), {}, -100, "avg");
            }),
            "avg is not a valid value for reduction");
  EXPECT_EQ(error_of([&] {
              F::cross_entropy(x, labels({0, 1, 2}), ones({4}));
            }),
            "weight tensor should be defined either for all 5 classes or no classes but got "
            "weight tensor of shape: [4]");
  EXPECT_EQ(
      error_of([&] {
        F::mse_loss(zeros({3, 5}), zeros({3, 4}));
      }).substr(0, 30),
      std::string("The size of tensor a (5) must match the size of tensor b (4)").substr(0, 30));
  EXPECT_EQ(error_of([] { nn::CrossEntropyLoss(nn::CrossEntropyLossOptions().reduction("avg")); }),
            "avg is not a valid value for reduction");
}
