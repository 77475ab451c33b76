// Normalization gradients against central differences (ember::autograd::gradcheck, float64) for
// every layer x option set x train/eval, twice: through the module (the input's gradient, with the
// module's own parameters and buffers) and through the nn::functional form (input, weight and bias
// all perturbed, since gradcheck only perturbs the tensors it is given).
//
// Shapes are tiny on purpose: gradcheck runs two forwards per input element.
#include <gtest/gtest.h>

#include <sstream>

#include "ember/ember.h"
#include "tests/norm_test_support.h"

using namespace ember;
using ember::norm_test::find_state;
using ember::norm_test::functional_forward;
using ember::norm_test::make_module;
using ember::norm_test::NormSpec;

namespace {

struct GradCase {
  NormSpec spec;
  Shape shape;
};

std::string describe(const GradCase& g, bool train) {
  const NormSpec& s = g.spec;
  std::ostringstream out;
  out << s.layer << "(affine=" << s.has_affine() << ", track=" << s.tracks_running_stats();
  if (s.bias) out << ", bias=" << *s.bias;
  if (s.num_groups) out << ", groups=" << s.num_groups;
  if (s.eps) out << ", eps=" << *s.eps;
  if (s.momentum) out << ", momentum=" << (*s.momentum ? std::to_string(**s.momentum) : "None");
  out << ")" << shape_str(g.shape) << (train ? " train" : " eval");
  return out.str();
}

// Values away from the defaults (weight 1, bias 0, running stats 0/1), so every term of the
// backward carries weight; a negative scale, so a kernel using |weight| fails.
Tensor random_weight(const Shape& shape) {
  Tensor w = rand(shape, kFloat64) + 0.5;
  if (w.numel() > 1) w.select(0, 0).mul_(-1.0);
  return w;
}
Tensor random_bias(const Shape& shape) { return randn(shape, kFloat64) * 0.5; }

struct State {
  Tensor weight, bias, running_mean, running_var;
};

// Builds the module in float64 with random parameters and running stats; returns copies of them
// for the functional form.
std::shared_ptr<nn::Module> make_random_module(const NormSpec& s, State& state) {
  auto m = make_module(s);
  m->to(kFloat64);
  NoGradGuard no_grad;
  if (Tensor w = find_state(*m, "weight"); w.defined()) {
    w.copy_(random_weight(w.sizes()));
    state.weight = w.detach().clone();
  }
  if (Tensor b = find_state(*m, "bias"); b.defined()) {
    b.copy_(random_bias(b.sizes()));
    state.bias = b.detach().clone();
  }
  if (Tensor rm = find_state(*m, "running_mean"); rm.defined()) {
    rm.copy_(randn(rm.sizes(), kFloat64) * 0.5);
    state.running_mean = rm.detach().clone();
  }
  if (Tensor rv = find_state(*m, "running_var"); rv.defined()) {
    rv.copy_(rand(rv.sizes(), kFloat64) + 0.5);
    state.running_var = rv.detach().clone();
  }
  return m;
}

void check_case(const GradCase& g) {
  for (bool train : {true, false}) {
    SCOPED_TRACE(describe(g, train));
    manual_seed(42);
    State state;
    auto m = make_random_module(g.spec, state);
    m->train(train);
    // Off-centre, not unit scale: the mean and variance terms of the backward both matter.
    Tensor x = (randn(g.shape, kFloat64) * 1.5 + 0.3).requires_grad_();

    // Module: gradcheck's input is x; train-mode BatchNorm updates its running stats on every
    // forward, which its train-mode output does not read, so the repeated forwards are harmless.
    auto module_fn = [&](const std::vector<Tensor>& in) {
      return std::vector<Tensor>{m->forward(in[0])};
    };
    auto r = autograd::gradcheck(module_fn, {x});
    EXPECT_TRUE(r.ok) << "module: " << r.report;

    // Functional: x, weight and bias perturbed. Running stats are cloned per call so that the
    // updates of one forward do not leak into the next (eval mode reads them).
    Tensor w = state.weight.defined() ? state.weight.clone().requires_grad_() : Tensor();
    Tensor b = state.bias.defined() ? state.bias.clone().requires_grad_() : Tensor();
    const double momentum = g.spec.effective_momentum().value_or(0.5);
    auto functional_fn = [&](const std::vector<Tensor>& in) {
      Tensor rm = state.running_mean.defined() ? state.running_mean.clone() : Tensor();
      Tensor rv = state.running_var.defined() ? state.running_var.clone() : Tensor();
      return std::vector<Tensor>{
          functional_forward(g.spec, in[0], in[1], in[2], rm, rv, train, momentum)};
    };
    r = autograd::gradcheck(functional_fn, {x, w, b});
    EXPECT_TRUE(r.ok) << "functional: " << r.report;
  }
}

NormSpec batch_or_instance(const std::string& layer, int64_t c, std::optional<bool> affine,
                           std::optional<bool> track) {
  NormSpec s;
  s.layer = layer;
  s.num_features = c;
  s.affine = affine;
  s.track_running_stats = track;
  return s;
}

}  // namespace

TEST(NormGradcheck, BatchNorm) {
  const std::pair<std::string, Shape> shapes[] = {{"BatchNorm1d", {4, 2}},
                                                  {"BatchNorm1d", {3, 2, 2}},
                                                  {"BatchNorm2d", {2, 2, 2, 2}},
                                                  {"BatchNorm3d", {2, 2, 1, 2, 2}}};
  for (const auto& [layer, shape] : shapes) {
    for (bool affine : {true, false}) {
      check_case({batch_or_instance(layer, shape[1], affine, false), shape});
      for (std::optional<double> momentum : {std::optional<double>(0.1), std::optional<double>()}) {
        NormSpec s = batch_or_instance(layer, shape[1], affine, true);
        s.momentum = momentum;
        check_case({s, shape});
      }
    }
    NormSpec s = batch_or_instance(layer, shape[1], std::nullopt, std::nullopt);
    s.eps = 1e-3;
    check_case({s, shape});
  }
}

TEST(NormGradcheck, InstanceNorm) {
  const std::pair<std::string, Shape> shapes[] = {{"InstanceNorm1d", {2, 2, 3}},
                                                  {"InstanceNorm2d", {2, 2, 2, 2}},
                                                  {"InstanceNorm3d", {1, 2, 2, 2, 2}}};
  for (const auto& [layer, shape] : shapes) {
    for (bool affine : {false, true}) {
      for (bool track : {false, true}) {
        NormSpec s = batch_or_instance(layer, shape[1], affine, track);
        if (track) s.momentum = 0.3;
        check_case({s, shape});
      }
    }
    NormSpec s = batch_or_instance(layer, shape[1], true, true);
    s.eps = 1e-3;
    check_case({s, shape});
  }
}

TEST(NormGradcheck, LayerNorm) {
  const std::pair<Shape, Shape> shapes[] = {
      {{3, 4}, {4}}, {{2, 2, 3}, {2, 3}}, {{2, 2, 2, 2}, {2, 2, 2}}};
  for (const auto& [shape, normalized] : shapes) {
    NormSpec s;
    s.layer = "LayerNorm";
    s.normalized_shape = normalized;
    check_case({s, shape});
    NormSpec plain = s;
    plain.affine = false;
    check_case({plain, shape});
    NormSpec no_bias = s;
    no_bias.bias = false;
    check_case({no_bias, shape});
    NormSpec eps = s;
    eps.eps = 1e-3;
    check_case({eps, shape});
  }
}

TEST(NormGradcheck, GroupNorm) {
  for (int64_t groups : {1, 2, 4}) {
    NormSpec s;
    s.layer = "GroupNorm";
    s.num_groups = groups;
    s.num_features = 4;
    check_case({s, {2, 4, 3}});
    NormSpec plain = s;
    plain.affine = false;
    check_case({plain, {2, 4, 3}});
    NormSpec eps = s;
    eps.eps = 1e-3;
    check_case({eps, {2, 4, 3}});
  }
  NormSpec s;
  s.layer = "GroupNorm";
  s.num_groups = 2;
  s.num_features = 4;
  check_case({s, {3, 4}});
  check_case({s, {2, 4, 1, 2, 2}});
}

TEST(NormGradcheck, RMSNorm) {
  const std::pair<Shape, Shape> shapes[] = {
      {{3, 4}, {4}}, {{2, 2, 3}, {2, 3}}, {{1, 2, 2, 3}, {2, 2, 3}}};
  for (const auto& [shape, normalized] : shapes) {
    NormSpec s;
    s.layer = "RMSNorm";
    s.normalized_shape = normalized;
    check_case({s, shape});  // eps = float64's machine epsilon
    NormSpec eps = s;
    eps.eps = 1e-3;
    check_case({eps, shape});
    NormSpec plain = s;
    plain.affine = false;
    check_case({plain, shape});
  }
}
