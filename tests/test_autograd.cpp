// Autograd engine: leaf accumulation, retain_graph, no-grad, detach, the errors PyTorch raises,
// a 10,000-step unroll, and gradcheck catching a wrong backward.
#include <gtest/gtest.h>

#include <cmath>

#include "ember/autograd/node.h"
#include "ember/ember.h"

using namespace ember;

namespace {
std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }

template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}
}  // namespace

TEST(Autograd, LeafGradientsAccumulate) {
  Tensor x = tensor({1, 2, 3}, {3}, kFloat64).requires_grad_();
  (x * x).sum().backward();
  EXPECT_EQ(values(x.grad()), (std::vector<double>{2, 4, 6}));
  (x * 3.0).sum().backward();
  EXPECT_EQ(values(x.grad()), (std::vector<double>{5, 7, 9}));
  EXPECT_TRUE(x.is_leaf());
  EXPECT_FALSE((x * 2.0).is_leaf());
  EXPECT_EQ((x * 2.0).grad_fn()->name(), "MulBackward1");
}

TEST(Autograd, BroadcastGradientsAreReduced) {
  Tensor a = ones({2, 3}, kFloat64).requires_grad_();
  Tensor b = tensor({1, 2, 3}, {3}, kFloat64).requires_grad_();
  Tensor c = tensor({2}, {1, 1}, kFloat64).requires_grad_();
  ((a * b) * c).sum().backward();
  EXPECT_EQ(b.grad().sizes(), (Shape{3}));
  EXPECT_EQ(values(b.grad()), (std::vector<double>{4, 4, 4}));
  EXPECT_EQ(c.grad().sizes(), (Shape{1, 1}));
  EXPECT_EQ(values(c.grad()), (std::vector<double>{12}));
  EXPECT_EQ(values(a.grad()), (std::vector<double>{2, 4, 6, 2, 4, 6}));
}

TEST(Autograd, SharedSubexpressionsSumTheirGradients) {
  Tensor x = tensor({3}, {1}, kFloat64).requires_grad_();
  Tensor y = x * x;  // 2x
  Tensor z = y * y;  // d(x^4) = 4x^3
  (z + y).sum().backward();
  EXPECT_DOUBLE_EQ(x.grad().item<double>(), 4 * 27 + 6);
}

TEST(Autograd, NonScalarNeedsGradient) {
  Tensor x = ones({2, 3}).requires_grad_();
  Tensor y = x * 2.0;
  const std::string msg = error_of([&] { y.backward(); });
  EXPECT_NE(msg.find("scalar outputs"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[2, 3]"), std::string::npos) << msg;
  y.backward(ones({2, 3}));
  EXPECT_EQ(values(x.grad()), std::vector<double>(6, 2.0));
  EXPECT_THROW((x * 2.0).backward(ones({3, 2})), Error);
}

TEST(Autograd, SecondBackwardThroughFreedGraphThrows) {
  Tensor x = ones({2}).requires_grad_();
  Tensor y = (x.exp() * 2.0).sum();
  y.backward();
  const std::string msg = error_of([&] { y.backward(); });
  EXPECT_NE(msg.find("backward through the graph a second time"), std::string::npos) << msg;
  // retain_graph keeps it usable.
  Tensor x2 = ones({2}).requires_grad_();
  Tensor y2 = (x2.exp() * 2.0).sum();
  y2.backward({}, /*retain_graph=*/true);
  y2.backward();
  EXPECT_NEAR(x2.grad().to_vector<double>()[0], 4 * std::exp(1.0), 1e-5);
}

TEST(Autograd, InPlaceChangeOfSavedTensorThrows) {
  Tensor x = ones({3}).requires_grad_();
  Tensor y = x.exp();  // saves its output
  Tensor z = y.sum();
  {
    NoGradGuard guard;
    y.add_(1.0);
  }
  const std::string msg = error_of([&] { z.backward(); });
  EXPECT_NE(msg.find("modified by an inplace operation"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[3]"), std::string::npos) << msg;
}

TEST(Autograd, InPlaceOnLeafRequiringGradThrows) {
  Tensor w = ones({3}).requires_grad_();
  EXPECT_NE(error_of([&] { w.add_(1.0); }).find("leaf Variable"), std::string::npos);
  {
    NoGradGuard guard;  // how optimizers update parameters
    w.add_(1.0);
  }
  EXPECT_EQ(values(w), std::vector<double>(3, 2.0));
}

TEST(Autograd, NoGradAndDetachRecordNothing) {
  Tensor x = ones({2}).requires_grad_();
  {
    NoGradGuard guard;
    Tensor y = x * 2.0;
    EXPECT_FALSE(y.requires_grad());
    EXPECT_EQ(y.grad_fn(), nullptr);
  }
  EXPECT_TRUE(is_grad_enabled());
  Tensor d = x.detach();
  EXPECT_FALSE(d.requires_grad());
  EXPECT_TRUE(d.shares_storage(x));
  EXPECT_NE(error_of([&] { (d * 2.0).sum().backward(); }).find("does not require grad"),
            std::string::npos);
}

TEST(Autograd, RequiresGradOnlyForFloats) {
  Tensor i = arange(3, kInt64);
  EXPECT_NE(error_of([&] { i.requires_grad_(); }).find("floating point"), std::string::npos);
}

TEST(Autograd, MismatchedShapesNameBoth) {
  Tensor a = ones({2, 3}).requires_grad_();
  const std::string msg = error_of([&] { (void)(a * ones({4})); });
  EXPECT_NE(msg.find("[2, 3]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[4]"), std::string::npos) << msg;
}

TEST(Autograd, ViewsPropagateGradients) {
  Tensor x = arange(0, 6, 1, kFloat64).requires_grad_();
  Tensor y = x.view({2, 3}).t().slice(0, 1, 3).select(1, 1);  // elements x[4], x[5]
  (y * tensor({10, 20}, {2}, kFloat64)).sum().backward();
  EXPECT_EQ(values(x.grad()), (std::vector<double>{0, 0, 0, 0, 10, 20}));
}

TEST(Autograd, LongUnrollDoesNotOverflowTheStack) {
  // A 10,000-step recurrence: a recursive engine would overflow here.
  Tensor w = full({1}, 0.9999, kFloat64).requires_grad_();
  Tensor h = ones({1}, kFloat64);
  for (int t = 0; t < 10000; ++t) h = (h * w).tanh() + 0.5;
  // Dropping the graph must not recurse 10,000 levels deep either (50,000 steps in all).
  for (int t = 0; t < 40000; ++t) h = h * 1.0;
  h.sum().backward();
  EXPECT_TRUE(w.grad().defined());
  EXPECT_TRUE(std::isfinite(w.grad().item<double>()));
}

TEST(Autograd, GradFunctionLeavesDotGradAlone) {
  Tensor x = tensor({1, 2}, {2}, kFloat64).requires_grad_();
  Tensor y = (x * x).sum();
  auto g = autograd::grad({y}, {x}, {});
  EXPECT_EQ(values(g[0]), (std::vector<double>{2, 4}));
  EXPECT_FALSE(x.grad().defined());
}

namespace {
// x² with a deliberately wrong backward (3x instead of 2x).
Tensor wrong_square(const Tensor& x) {
  Tensor y = (x.detach() * x.detach());
  autograd::SavedTensor saved(x);
  return autograd::record_function("WrongSquare", {x}, y, [saved](const Tensor& g) {
    return std::vector<Tensor>{g * saved.unpack("WrongSquare") * 3.0};
  });
}
}  // namespace

// A leaf takes a gradient buffer as its .grad only when nothing else can see it: a grad_output
// the caller still holds, or one gradient shared by two leaves, must be copied.
TEST(Autograd, LeafGradNeverAliasesAnotherTensor) {
  Tensor gy = tensor({1.0f, 2.0f, 3.0f}, {3});
  Tensor a = randn({3}).requires_grad_();
  a.backward(gy);  // the root gradient goes straight to a's accumulator
  gy.fill_(7.0);
  EXPECT_FLOAT_EQ(a.grad()[2].item<float>(), 3.0f);

  Tensor b = randn({3}).requires_grad_(), c = randn({3}).requires_grad_();
  (b + c).backward(ones({3}));  // AddBackward passes one tensor to both
  EXPECT_FALSE(b.grad().shares_storage(c.grad()));
  b.grad().add_(1.0);
  EXPECT_FLOAT_EQ(c.grad()[0].item<float>(), 1.0f);

  Tensor d = randn({3}).requires_grad_();
  (d * 2.0).backward(gy);  // a fresh product: taken, and still correct after a second backward
  (d * 2.0).backward(gy);
  EXPECT_FLOAT_EQ(d.grad()[1].item<float>(), 28.0f);
}

TEST(Gradcheck, PassesOnCorrectOps) {
  manual_seed(0);
  Tensor x = randn({3, 4}, kFloat64).requires_grad_();
  Tensor w = randn({4, 2}, kFloat64).requires_grad_();
  auto result = autograd::gradcheck(
      [](const std::vector<Tensor>& in) {
        return std::vector<Tensor>{matmul(in[0], in[1]).tanh(), in[0].exp().sum({1})};
      },
      {x, w});
  EXPECT_TRUE(result.ok) << result.report;
  EXPECT_LT(result.max_abs_error, 1e-7);  // central differences: O(eps²) plus rounding
}

TEST(Gradcheck, FailsOnAWrongBackwardAndNamesTheElement) {
  manual_seed(0);
  Tensor x = randn({2, 3}, kFloat64).requires_grad_();
  auto result = autograd::gradcheck(
      [](const std::vector<Tensor>& in) { return std::vector<Tensor>{wrong_square(in[0])}; }, {x});
  EXPECT_FALSE(result.ok);
  EXPECT_NE(result.report.find("output 0, input 0, index ["), std::string::npos) << result.report;
  EXPECT_NE(result.report.find("analytical"), std::string::npos) << result.report;
  EXPECT_NE(result.report.find("numerical"), std::string::npos) << result.report;
  EXPECT_GT(result.max_abs_error, 1e-2);  // wrong_square is off by a factor on every element
}

TEST(Gradcheck, RefusesFloat32) {
  Tensor x = ones({2}).requires_grad_();
  const std::string msg = error_of([&] {
    autograd::gradcheck(
        [](const std::vector<Tensor>& in) { return std::vector<Tensor>{in[0] * 2.0}; }, {x});
  });
  EXPECT_NE(msg.find("float64"), std::string::npos) << msg;
}
