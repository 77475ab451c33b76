// Every differentiable op's backward against central differences (autograd::gradcheck, float64).
// Inputs stay away from the points where an op has no derivative (abs/relu at 0, clamp at its
// bounds, log/sqrt/rsqrt at or below 0, max/min at ties), except where the op's tie rule agrees
// with central differences (maximum/minimum split the gradient evenly). Broadcasting cases make
// the backward reduce with sum_to. Shapes are tiny: each input element costs two forward passes.
#include <gtest/gtest.h>

#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "ember/ember.h"

using namespace ember;

namespace {

using Inputs = std::vector<Tensor>;
using Fn = std::function<Inputs(const Inputs&)>;
using Unary = std::function<Tensor(const Tensor&)>;
using Binary = std::function<Tensor(const Tensor&, const Tensor&)>;

// Streams the parts into a label (also sidesteps GCC 12's -Wrestrict false positive on
// `"literal" + std::string`).
template <class... Parts>
std::string str(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}

// A float64 leaf that requires grad.
Tensor leaf(Tensor t) {
  t = t.to(kFloat64).detach();
  t.requires_grad_();
  return t;
}
Tensor normal(Shape shape) { return leaf(randn(std::move(shape), kFloat64)); }
// Values in [0.5, 2): inside the domain of log, sqrt, rsqrt and non-integer powers.
Tensor positive(Shape shape) { return leaf(rand(std::move(shape), kFloat64) * 1.5 + 0.5); }
// |values| in [0.3, 1.3) with random signs: safe for abs, relu and as denominators.
Tensor away_from_zero(Shape shape) {
  const Tensor magnitude = rand(shape, kFloat64) + 0.3;
  return leaf(where(randn(shape, kFloat64).gt(zeros({}, kFloat64)), magnitude, -magnitude));
}

void expect_gradcheck(const std::string& what, const Inputs& inputs, const Fn& fn,
                      autograd::GradcheckOptions options = {}) {
  const autograd::GradcheckResult result = autograd::gradcheck(fn, inputs, options);
  EXPECT_TRUE(result.ok) << what << ": " << result.report;
}
void check1(const std::string& what, const Tensor& x, const Unary& f) {
  expect_gradcheck(what, {x}, [&](const Inputs& in) { return Inputs{f(in[0])}; });
}
void check2(const std::string& what, const Tensor& a, const Tensor& b, const Binary& f) {
  expect_gradcheck(what, {a, b}, [&](const Inputs& in) { return Inputs{f(in[0], in[1])}; });
}
// Views and identity casts alias their input; gradcheck must read them before restoring the
// perturbed input (see RegressionGradcheckOfAliasingOutputs).
void check_view(const std::string& what, const Tensor& x, const Unary& f) { check1(what, x, f); }

class GradcheckOps : public ::testing::Test {
 protected:
  void SetUp() override { manual_seed(2024); }  // same inputs on every run
};

}  // namespace

TEST_F(GradcheckOps, ArithmeticWithBroadcasting) {
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{2, 3}, {2, 3}},     // same shape
      {{2, 1, 3}, {4, 1}},  // size-1 dims on both sides
      {{3}, {2, 3}},        // missing leading dim
      {{2, 3}, {}},         // rank-0 operand on the right
      {{}, {2, 3}},         // and on the left
      {{1, 1}, {2, 3}},     // all size-1
  };
  for (const auto& [sa, sb] : shapes) {
    const std::string at = str(" ", shape_str(sa), " with ", shape_str(sb));
    check2("add" + at, normal(sa), normal(sb), [](auto& a, auto& b) { return a + b; });
    check2("sub" + at, normal(sa), normal(sb), [](auto& a, auto& b) { return a - b; });
    check2("mul" + at, normal(sa), normal(sb), [](auto& a, auto& b) { return a * b; });
    check2("div" + at, normal(sa), away_from_zero(sb), [](auto& a, auto& b) { return a / b; });
  }
}

TEST_F(GradcheckOps, ScalarOperands) {
  const Tensor a = away_from_zero({2, 3});
  check1("a + s", a, [](auto& x) { return x + 2.5; });
  check1("s + a", a, [](auto& x) { return 2.5 + x; });
  check1("a - s", a, [](auto& x) { return x - 2.5; });
  check1("s - a", a, [](auto& x) { return 2.5 - x; });
  check1("a * s", a, [](auto& x) { return x * -1.5; });
  check1("s * a", a, [](auto& x) { return -1.5 * x; });
  check1("a / s", a, [](auto& x) { return x / 1.5; });
  check1("s / a", a, [](auto& x) { return 1.5 / x; });
}

TEST_F(GradcheckOps, Unary) {
  check1("neg", normal({2, 3}), [](auto& x) { return -x; });
  check1("exp", normal({2, 3}), [](auto& x) { return x.exp(); });
  check1("log", positive({2, 3}), [](auto& x) { return x.log(); });
  check1("sqrt", positive({2, 3}), [](auto& x) { return x.sqrt(); });
  check1("rsqrt", positive({2, 3}), [](auto& x) { return x.rsqrt(); });
  check1("abs", away_from_zero({2, 3}), [](auto& x) { return x.abs(); });
  check1("tanh", normal({2, 3}), [](auto& x) { return x.tanh(); });
  check1("sigmoid", normal({2, 3}), [](auto& x) { return x.sigmoid(); });
  check1("relu", away_from_zero({2, 3}), [](auto& x) { return x.relu(); });
  check1("square", normal({2, 3}), [](auto& x) { return x.square(); });
  check1("exp of a scalar", normal({}), [](auto& x) { return x.exp(); });
}

TEST_F(GradcheckOps, PowScalarExponent) {
  for (double e : {2.0, 3.0, 0.5, -1.5, 1.0, 0.0}) {
    check1(str("pow ", e), positive({2, 3}), [e](auto& x) { return x.pow(e); });
  }
  // Integral exponents are differentiable for negative bases too.
  for (double e : {2.0, 3.0}) {
    check1(str("pow of a negative base ", e), normal({2, 3}), [e](auto& x) { return x.pow(e); });
  }
}

TEST_F(GradcheckOps, PowTensorExponent) {
  const Binary pow = [](const Tensor& a, const Tensor& b) { return a.pow(b); };
  check2("pow same shape", positive({2, 3}), normal({2, 3}), pow);
  check2("pow broadcast exponent", positive({2, 3}), normal({3}), pow);
  check2("pow broadcast both", positive({3, 1}), normal({1, 4}), pow);
  // The gradient to one side only (the other is a constant).
  const Tensor base = positive({2, 3}).detach(), exponent = normal({3}).detach();
  check1("pow exponent only", normal({2, 3}), [&](auto& b) { return base.pow(b); });
  check1("pow base only", positive({2, 3}), [&](auto& a) { return a.pow(exponent); });
}

TEST_F(GradcheckOps, Clamp) {
  // Every value at least 0.2 from the bounds -1 and 0.5: both sides of each bound and between.
  const Tensor x = leaf(tensor({-2.0, -1.3, -0.7, -0.2, 0.1, 0.3, 0.8, 1.7}, {2, 4}, kFloat64));
  check1("clamp", x, [](auto& t) { return t.clamp(-1.0, 0.5); });
  check1("clamp_min", x, [](auto& t) { return t.clamp_min(-1.0); });
  check1("clamp_max", x, [](auto& t) { return t.clamp_max(0.5); });
}

TEST_F(GradcheckOps, MaximumMinimum) {
  check2("maximum broadcast", normal({2, 3}), normal({3}),
         [](auto& a, auto& b) { return maximum(a, b); });
  check2("minimum broadcast", normal({2, 3}), normal({3}),
         [](auto& a, auto& b) { return minimum(a, b); });
  // At an exact tie each side gets half the gradient (PyTorch's rule), which is also what central
  // differences measure: max(x ± ε, y) moves by ε on one side only.
  const Tensor a = leaf(tensor({1.0, -2.0, 0.5}, {3}, kFloat64));
  const Tensor b = leaf(tensor({1.0, 3.0, 0.5}, {3}, kFloat64));
  check2("maximum ties", a, b, [](auto& x, auto& y) { return x.maximum(y); });
  check2("minimum ties", a, b, [](auto& x, auto& y) { return x.minimum(y); });
}

TEST_F(GradcheckOps, Where) {
  const Tensor cond = tensor({1, 0}, {2, 1}, kInt64);  // broadcast over the columns
  check2("where broadcast", normal({2, 3}), normal({3}),
         [&](auto& a, auto& b) { return where(cond, a, b); });
  check2("where of a comparison", normal({2, 3}), normal({2, 3}),
         [](auto& a, auto& b) { return where(a.gt(b), a, b * 2.0); });
  const Tensor scalar = normal({});
  check1("where with a rank-0 branch", normal({2, 3}),
         [&](auto& a) { return where(cond, a, scalar); });
}

TEST_F(GradcheckOps, SumMean) {
  for (const Shape& dims : std::vector<Shape>{{0}, {-1}, {0, 2}, {1, 2}, {0, 1, 2}}) {
    for (bool keepdim : {false, true}) {
      const std::string at = str(" dims ", shape_str(dims), keepdim ? " keepdim" : "");
      check1("sum" + at, normal({2, 3, 2}), [&](auto& x) { return x.sum(dims, keepdim); });
      check1("mean" + at, normal({2, 3, 2}), [&](auto& x) { return x.mean(dims, keepdim); });
    }
  }
  check1("sum()", normal({2, 3}), [](auto& x) { return x.sum(); });
  check1("mean()", normal({2, 3}), [](auto& x) { return x.mean(); });
}

TEST_F(GradcheckOps, VarStd) {
  for (const Shape& dims : std::vector<Shape>{{1}, {-1}, {0, 2}}) {
    for (bool unbiased : {true, false}) {
      for (bool keepdim : {false, true}) {
        const std::string at = str(" dims ", shape_str(dims), unbiased ? " unbiased" : " biased",
                                   keepdim ? " keepdim" : "");
        check1("var" + at, normal({2, 3, 2}),
               [&](auto& x) { return x.var(dims, unbiased, keepdim); });
        check1("std" + at, normal({2, 3, 2}),
               [&](auto& x) { return x.std(dims, unbiased, keepdim); });
      }
    }
  }
  check1("var()", normal({2, 3}), [](auto& x) { return x.var(); });
  check1("std()", normal({2, 3}), [](auto& x) { return x.std(); });
  check1("var over all dims, biased", normal({2, 3}), [](auto& x) { return x.var({}, false); });
  check1("std over all dims, biased", normal({2, 3}), [](auto& x) { return x.std({}, false); });
}

TEST_F(GradcheckOps, MaxMin) {
  // Random normals have no ties, so each max/min is a smooth selection near the inputs.
  for (int64_t dim : {0, 1, -1}) {
    for (bool keepdim : {false, true}) {
      const std::string at = str(" dim ", dim, keepdim ? " keepdim" : "");
      check1("max" + at, normal({3, 4}), [&](auto& x) { return x.max(dim, keepdim); });
      check1("min" + at, normal({3, 4}), [&](auto& x) { return x.min(dim, keepdim); });
    }
  }
  check1("max()", normal({3, 4}), [](auto& x) { return x.max(); });
  check1("min()", normal({3, 4}), [](auto& x) { return x.min(); });
  check1("max over the middle dim of 3-D", normal({2, 3, 2}), [](auto& x) { return x.max(1); });
}

TEST_F(GradcheckOps, Matmul) {
  // 1-D x 1-D is in RegressionMatmulVectorVector.
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{3}, {3, 2}},              // vector x matrix
      {{2, 3}, {3}},              // matrix x vector
      {{2, 3}, {3, 2}},           // matrix x matrix
      {{2, 2, 3}, {3, 2}},        // batched x 2-D
      {{2, 3}, {2, 3, 2}},        // 2-D x batched
      {{2, 1, 2, 3}, {2, 3, 2}},  // 4-D x 3-D: batch dims [2, 1] and [2] broadcast to [2, 2]
      {{3}, {2, 3, 2}},           // vector x batched
      {{2, 2, 3}, {3}},           // batched x vector
  };
  for (const auto& [sa, sb] : shapes) {
    check2(str("matmul ", shape_str(sa), " x ", shape_str(sb)), normal(sa), normal(sb),
           [](auto& a, auto& b) { return matmul(a, b); });
  }
  check2("matmul of transposed operands", normal({3, 2}), normal({2, 3}),
         [](auto& a, auto& b) { return a.t().matmul(b.t()); });
  check2("bmm", normal({2, 2, 3}), normal({2, 3, 2}), [](auto& a, auto& b) { return bmm(a, b); });
}

TEST_F(GradcheckOps, CatStack) {
  expect_gradcheck("cat dim 0", {normal({1, 3}), normal({2, 3}), normal({1, 3})},
                   [](const Inputs& in) { return Inputs{cat(in, 0)}; });
  expect_gradcheck("cat dim 1", {normal({2, 1, 2}), normal({2, 3, 2})},
                   [](const Inputs& in) { return Inputs{cat(in, 1)}; });
  expect_gradcheck("cat dim -1", {normal({2, 2}), normal({2, 1}), normal({2, 3})},
                   [](const Inputs& in) { return Inputs{cat(in, -1)}; });
  for (int64_t dim : {0, 1, 2, -1}) {
    expect_gradcheck(str("stack dim ", dim), {normal({2, 3}), normal({2, 3}), normal({2, 3})},
                     [dim](const Inputs& in) { return Inputs{stack(in, dim)}; });
  }
}

TEST_F(GradcheckOps, Views) {
  const Tensor x = normal({2, 3, 2});
  check_view("view", x, [](auto& t) { return t.view({3, 4}); });
  check_view("view -1", x, [](auto& t) { return t.view({-1}); });
  check_view("reshape (a view)", x, [](auto& t) { return t.reshape({6, 2}); });
  check_view("reshape (a copy)", x, [](auto& t) { return t.transpose(0, 2).reshape({-1}); });
  check_view("permute", x, [](auto& t) { return t.permute({2, 0, 1}); });
  check_view("transpose", x, [](auto& t) { return t.transpose(0, -1); });
  check_view("t", normal({2, 3}), [](auto& t) { return t.t(); });
  const Tensor with_ones = normal({2, 1, 3, 1});
  check_view("squeeze()", with_ones, [](auto& t) { return t.squeeze(); });
  check_view("squeeze(1)", with_ones, [](auto& t) { return t.squeeze(1); });
  check_view("unsqueeze", x, [](auto& t) { return t.unsqueeze(1); });
  check_view("unsqueeze -1", x, [](auto& t) { return t.unsqueeze(-1); });
  check_view("flatten", x, [](auto& t) { return t.flatten(); });
  check_view("flatten(1, 2)", x, [](auto& t) { return t.flatten(1, 2); });
  check_view("slice", x, [](auto& t) { return t.slice(1, 1, 3); });
  check_view("slice with step", normal({5, 2}), [](auto& t) { return t.slice(0, 0, 5, 2); });
  check_view("slice from a negative start", x, [](auto& t) { return t.slice(1, -2, 3); });
  check_view("select", x, [](auto& t) { return t.select(1, -1); });
  check_view("operator[]", x, [](auto& t) { return t[1]; });
  check_view("expand", normal({3, 1}), [](auto& t) { return t.expand({2, 3, 4}); });
  check_view("expand a scalar", normal({}), [](auto& t) { return t.expand({2, 2}); });
  // These copy, so they need no clone.
  check1("contiguous of a transpose", x, [](auto& t) { return t.transpose(0, 1).contiguous(); });
  check1("clone", x, [](auto& t) { return t.clone(); });
  check1("an op reading a view of a view", x, [](auto& t) {
    return t.permute({1, 0, 2}).slice(0, 0, 3, 2).exp();
  });
}

TEST_F(GradcheckOps, ChannelsLast) {
  const Tensor x = normal({1, 2, 2, 3}), bias = normal({1, 2, 1, 1});
  check1("contiguous(ChannelsLast)", x,
         [](auto& t) { return t.contiguous(MemoryFormat::ChannelsLast); });
  check2("elementwise on channels-last", x, bias, [](auto& t, auto& b) {
    return (t.contiguous(MemoryFormat::ChannelsLast) * b).tanh() + b;
  });
  check1("reduction of channels-last", x, [](auto& t) {
    return t.contiguous(MemoryFormat::ChannelsLast).var({0, 2, 3});
  });
}

TEST_F(GradcheckOps, To) {
  check_view("to(float64) of float64", normal({2, 3}), [](auto& t) { return t.to(kFloat64); });
  // Through float32 and back: the gradient is cast back to float64. float32 rounding (~6e-8
  // relative) over eps = 1e-3 moves the numerical slope by ~1e-4, inside rtol = 1e-3.
  autograd::GradcheckOptions coarse;
  coarse.eps = 1e-3;
  expect_gradcheck(
      "to(float32).to(float64)", {normal({2, 3})},
      [](const Inputs& in) { return Inputs{(in[0].to(kFloat32) * 2.0).to(kFloat64)}; }, coarse);
}

TEST_F(GradcheckOps, MultipleOutputs) {
  // Every output is checked against every input; one output ignores b, one is a constant.
  expect_gradcheck("several outputs", {normal({2, 3}), normal({3})}, [](const Inputs& in) {
    const Tensor &a = in[0], &b = in[1];
    return Inputs{a * b, a.max(1), (a + b).sum({0}), a.exp(), ones({2}, kFloat64)};
  });
}

TEST_F(GradcheckOps, Composites) {
  // One input used several times: the engine must add up the gradients of every use.
  check1("shared input", normal({2, 3}),
         [](auto& x) { return x * x + x.exp() * x - x / (x * x + 1.0); });
  // log_softmax through max(dim, keepdim), broadcasting, exp, sum and log.
  check1("log_softmax", normal({2, 4}), [](auto& x) {
    const Tensor shifted = x - x.max(1, true);
    return shifted - shifted.exp().sum({1}, true).log();
  });
  expect_gradcheck("two-layer perceptron",
                   {normal({3, 2}), normal({2, 4}), normal({4}), normal({4, 2})},
                   [](const Inputs& in) {
                     const Tensor h = (matmul(in[0], in[1]) + in[2]).tanh();
                     return Inputs{matmul(h, in[3]).sigmoid()};
                   });
  // Layer norm written out of small ops: mean/var over the last dim, rsqrt, an affine.
  expect_gradcheck("layer norm from small ops", {normal({2, 4}), normal({4}), normal({4})},
                   [](const Inputs& in) {
                     const Tensor& x = in[0];
                     const Tensor centered = x - x.mean({-1}, true);
                     const Tensor rstd = (x.var({-1}, false, true) + 1e-5).rsqrt();
                     return Inputs{centered * rstd * in[1] + in[2]};
                   });
}

// ---- regressions: bugs these tests found ----

TEST_F(GradcheckOps, RegressionGradcheckOfAliasingOutputs) {
  // Was a bug (fixed): gradcheck fails every op whose output aliases its input (views, to() of the
  // same dtype, contiguous() of a contiguous tensor): numerical gradient 0. autograd/gradcheck.cpp
  // evaluates `plus = fn(work)` and `minus = fn(work)` and only projects them after `p[j] = orig`
  // restores the input, so outputs sharing `work`'s storage read the restored values. PyTorch's
  // gradcheck clones the outputs of each evaluation. Fix: clone each output right after fn returns
  // (or compute projected(k, plus) before the next write to p[j]).
  check1("identity", normal({2, 3}), [](auto& x) { return x; });
  check1("view", normal({2, 3}), [](auto& x) { return x.view({3, 2}); });
}

TEST_F(GradcheckOps, RegressionMatmulVectorVector) {
  // Was a bug (fixed): backward of matmul(1-D, 1-D) throws "view size is not compatible ... (input
  // [], requested [1, 1])": matmul reshapes the [1, 1] product to [] and the reshape's backward
  // views the [] gradient as [1, 1], which autograd/ops_view.cpp view_strides() refuses for any
  // rank-0 input (see OpsGolden.RegressionViewOfZeroDim for the fix).
  check2("matmul [3] x [3]", normal({3}), normal({3}),
         [](auto& a, auto& b) { return matmul(a, b); });
}
