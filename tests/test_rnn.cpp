// Recurrent layers against PyTorch: every case in fixtures/rnn_*.safetensors (written by
// tests/golden/gen_rnn.py with torch 1.13) is rebuilt as an ember module, PyTorch's state dict is
// loaded into it (its keys and their order must be the module's own), and the outputs and the
// gradients of input, initial state and every parameter are compared. Then gradcheck on every
// cell and layer kind, reprs, error texts, and the properties the fused nodes must keep (no-grad
// path, cells vs. layers, in-place detection, Module-style use).
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ember/autograd/node.h"
#include "ember/ember.h"
#include "tests/fixture_cases.h"
#include "tests/nn_test_util.h"

using namespace ember;
using ember::test_util::error_of;

namespace {

struct Tolerance {
  double rtol, atol;
};
// The bounds: ember and PyTorch round differently, nothing more.
constexpr Tolerance kF32{1e-4, 1e-5};
constexpr Tolerance kF64{1e-10, 1e-10};

// What gen_rnn.py writes; fewer means a fixture file is stale or truncated.
constexpr size_t kExpectedCases = 200;

struct Case {
  std::string name, module;
  nlohmann::json options;
  DType dtype = kFloat32;
  Shape x_shape;
  bool hx = false, train = true;
  std::vector<std::string> outputs, keys;
  std::shared_ptr<const StateDict> tensors;

  Tensor get(const std::string& what) const { return tensors->at(name + "/" + what); }
  Tolerance tolerance() const { return dtype == kFloat64 ? kF64 : kF32; }
  bool is_lstm() const { return module == "LSTM" || module == "LSTMCell"; }
  bool is_cell() const { return module.size() > 4 && module.substr(module.size() - 4) == "Cell"; }
};

// All cases of both fixture files, loaded once.
const std::vector<Case>& all_cases() {
  static const std::vector<Case> cases = [] {
    std::vector<Case> out;
    for (const auto& f : fixtures::load_fixture_cases({"rnn_cells", "rnn_layers"})) {
      const auto& j = f.spec;
      Case c;
      c.name = f.name;
      c.module = j.at("module");
      c.options = j.at("options");
      c.dtype = j.at("dtype") == "f64" ? kFloat64 : kFloat32;
      c.x_shape = j.at("x_shape").get<Shape>();
      c.hx = j.at("hx");
      c.train = j.at("train");
      c.outputs = j.at("outputs").get<std::vector<std::string>>();
      c.keys = f.keys;
      c.tensors = f.tensors;
      out.push_back(std::move(c));
    }
    return out;
  }();
  return cases;
}

// A module of any of the six kinds behind one call: forward(x, states) -> outputs in the order
// gen_rnn.py lists them.
struct AnyRnn {
  std::shared_ptr<nn::Module> module;
  std::function<std::vector<Tensor>(const Tensor&, const std::vector<Tensor>&)> forward;
};

template <class M>
AnyRnn wrap(std::shared_ptr<M> m) {
  AnyRnn r;
  r.module = m;
  r.forward = [m](const Tensor& x, const std::vector<Tensor>& s) -> std::vector<Tensor> {
    if constexpr (std::is_same_v<M, nn::LSTMCell>) {
      auto [h, c] = s.empty() ? m->forward(x) : m->forward(x, std::make_tuple(s[0], s[1]));
      return {h, c};
    } else if constexpr (std::is_same_v<M, nn::LSTM>) {
      auto [y, hc] = s.empty() ? m->forward(x) : m->forward(x, std::make_tuple(s[0], s[1]));
      return {y, std::get<0>(hc), std::get<1>(hc)};
    } else if constexpr (std::is_base_of_v<nn::RNNCellBase, M>) {
      return {m->forward(x, s.empty() ? Tensor() : s[0])};
    } else {
      auto [y, h] = m->forward(x, s.empty() ? Tensor() : s[0]);
      return {y, h};
    }
  };
  return r;
}

AnyRnn make_module(const Case& c) {
  const auto& o = c.options;
  const int64_t I = o.at("input_size"), H = o.at("hidden_size");
  const bool bias = o.value("bias", true), batch_first = o.value("batch_first", false);
  const int64_t layers = o.value("num_layers", 1);
  const double dropout = o.value("dropout", 0.0);
  const auto act = o.value("nonlinearity", std::string("tanh")) == "relu"
                       ? nn::RNNNonlinearity::ReLU
                       : nn::RNNNonlinearity::Tanh;
  if (c.module == "RNNCell")
    return wrap(
        std::make_shared<nn::RNNCell>(nn::RNNCellOptions(I, H).bias(bias).nonlinearity(act)));
  if (c.module == "LSTMCell")
    return wrap(std::make_shared<nn::LSTMCell>(nn::LSTMCellOptions(I, H).bias(bias)));
  if (c.module == "GRUCell")
    return wrap(std::make_shared<nn::GRUCell>(nn::GRUCellOptions(I, H).bias(bias)));
  if (c.module == "RNN")
    return wrap(std::make_shared<nn::RNN>(nn::RNNOptions(I, H)
                                              .num_layers(layers)
                                              .nonlinearity(act)
                                              .bias(bias)
                                              .batch_first(batch_first)
                                              .dropout(dropout)));
  if (c.module == "LSTM")
    return wrap(std::make_shared<nn::LSTM>(nn::LSTMOptions(I, H)
                                               .num_layers(layers)
                                               .bias(bias)
                                               .batch_first(batch_first)
                                               .dropout(dropout)));
  return wrap(std::make_shared<nn::GRU>(nn::GRUOptions(I, H)
                                            .num_layers(layers)
                                            .bias(bias)
                                            .batch_first(batch_first)
                                            .dropout(dropout)));
}

// How much of the tolerance the worst element uses (> 1 fails), per dtype, over all cases: printed
// at the end of the golden test, it shows the margin when everything passes.
std::map<DType, std::pair<double, std::string>> g_margin;

// Empty when close; otherwise what differs.
std::string compare(const Tensor& actual, const Tensor& expected, Tolerance tol,
                    const std::string& where) {
  if (!actual.defined()) return "undefined";
  if (actual.sizes() != expected.sizes())
    return "shape " + shape_str(actual.sizes()) + ", expected " + shape_str(expected.sizes());
  if (actual.dtype() != expected.dtype()) return "dtype differs";
  const std::vector<double> a = actual.to_vector<double>(), e = expected.to_vector<double>();
  double used = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double u = std::abs(a[i] - e[i]) / (tol.atol + tol.rtol * std::abs(e[i]));
    used = std::isnan(u) ? INFINITY : std::max(used, u);
  }
  auto& margin = g_margin[actual.dtype()];
  if (used >= margin.first) margin = {used, where};
  if (used <= 1) return "";
  std::ostringstream out;
  out.precision(10);
  out << "max_abs_diff " << max_abs_diff(actual, expected) << " (" << used << " of the tolerance)";
  return out.str();
}

std::vector<std::string> run_case(const Case& c) {
  std::vector<std::string> problems;
  auto check = [&](const std::string& what, const Tensor& actual, const Tensor& expected) {
    const std::string p = compare(actual, expected, c.tolerance(), c.name + " " + what);
    if (!p.empty()) problems.push_back(what + ": " + p);
  };
  AnyRnn m = make_module(c);
  if (c.dtype == kFloat64) m.module->to(kFloat64);
  m.module->train(c.train);

  // PyTorch's state dict: the same keys in the same order, loaded strictly.
  std::vector<std::string> keys;
  for (const auto& [k, v] : m.module->state_dict()) keys.push_back(k);
  if (keys != c.keys) problems.push_back("state_dict keys differ from PyTorch's");
  StateDict state;
  for (const std::string& k : c.keys) state.insert(k, c.get("state/" + k));
  const nn::LoadResult loaded = m.module->load_state_dict(state);
  if (!loaded.missing_keys.empty() || !loaded.unexpected_keys.empty())
    problems.push_back("load_state_dict reported missing/unexpected keys");

  Tensor x = c.get("x").clone().requires_grad_();
  std::vector<Tensor> states;
  if (c.hx) {
    states.push_back(c.get("h0").clone().requires_grad_());
    if (c.is_lstm()) states.push_back(c.get("c0").clone().requires_grad_());
  }
  const std::vector<Tensor> outs = m.forward(x, states);
  std::vector<Tensor> gouts;
  for (size_t k = 0; k < c.outputs.size(); ++k) {
    check("out/" + c.outputs[k], outs[k], c.get("out/" + c.outputs[k]));
    gouts.push_back(c.get("gout/" + c.outputs[k]));
  }
  autograd::run_backward(outs, gouts, /*retain_graph=*/false);
  check("grad/x", x.grad(), c.get("grad/x"));
  for (size_t k = 0; k < states.size(); ++k)
    check(k == 0 ? "grad/h0" : "grad/c0", states[k].grad(), c.get(k == 0 ? "grad/h0" : "grad/c0"));
  for (const auto& [name, p] : m.module->named_parameters())
    check("grad/" + name, p.grad(), c.get("grad/" + name));
  return problems;
}

TEST(Rnn, GoldenAgainstPyTorch) {
  const auto& cases = all_cases();
  EXPECT_EQ(cases.size(), kExpectedCases);
  int failed = 0;
  for (const Case& c : cases) {
    std::vector<std::string> problems;
    try {
      problems = run_case(c);
    } catch (const std::exception& e) {
      problems.push_back(std::string("threw: ") + e.what());
    }
    if (problems.empty()) continue;
    if (++failed > 20) continue;
    std::string text = c.name;
    for (const auto& p : problems) text += "\n    " + p;
    ADD_FAILURE() << text;
  }
  EXPECT_EQ(failed, 0) << failed << " of " << cases.size() << " cases failed";
  for (const auto& [dtype, margin] : g_margin)
    std::cout << "[ margin   ] " << dtype << ": at most " << margin.first
              << " of the tolerance used (" << margin.second << ")\n";
}

// ---- gradcheck (f64, tiny sizes) ----

Tensor rand64(Shape shape) { return (rand(std::move(shape), kFloat64) * 2.0 - 1.0); }
Tensor leaf(Shape shape) { return rand64(std::move(shape)).requires_grad_(); }

void expect_gradcheck(const std::function<std::vector<Tensor>(const std::vector<Tensor>&)>& fn,
                      const std::vector<Tensor>& inputs, const std::string& what) {
  const autograd::GradcheckResult r = autograd::gradcheck(fn, inputs);
  EXPECT_TRUE(r.ok) << what << ": " << r.report;
}

TEST(Rnn, GradcheckCells) {
  manual_seed(7);
  const int64_t B = 2, I = 3, H = 2;
  for (nn::RNNMode mode :
       {nn::RNNMode::RnnTanh, nn::RNNMode::RnnRelu, nn::RNNMode::Lstm, nn::RNNMode::Gru}) {
    const int64_t G = mode == nn::RNNMode::Lstm ? 4 : mode == nn::RNNMode::Gru ? 3 : 1;
    for (bool with_state : {true, false}) {
      for (bool with_bias : {true, false}) {
        std::vector<Tensor> in{leaf({B, I}), leaf({G * H, I}), leaf({G * H, H})};
        in.push_back(with_bias ? leaf({G * H}) : Tensor());
        in.push_back(with_bias ? leaf({G * H}) : Tensor());
        in.push_back(with_state ? leaf({B, H}) : Tensor());
        in.push_back(with_state ? leaf({B, H}) : Tensor());
        auto fn = [mode](const std::vector<Tensor>& v) -> std::vector<Tensor> {
          switch (mode) {
            case nn::RNNMode::RnnTanh:
              return {nn::functional::rnn_tanh_cell(v[0], v[5], v[1], v[2], v[3], v[4])};
            case nn::RNNMode::RnnRelu:
              return {nn::functional::rnn_relu_cell(v[0], v[5], v[1], v[2], v[3], v[4])};
            case nn::RNNMode::Gru:
              return {nn::functional::gru_cell(v[0], v[5], v[1], v[2], v[3], v[4])};
            case nn::RNNMode::Lstm:
              break;
          }
          auto [h, c] = nn::functional::lstm_cell(v[0], {v[5], v[6]}, v[1], v[2], v[3], v[4]);
          return {h, c};
        };
        expect_gradcheck(fn, in,
                         "mode " + std::to_string(static_cast<int>(mode)) + " state " +
                             std::to_string(with_state) + " bias " + std::to_string(with_bias));
      }
    }
  }
}

TEST(Rnn, GradcheckLayers) {
  manual_seed(11);
  const int64_t T = 3, B = 2, I = 3, H = 2, L = 2;
  for (nn::RNNMode mode :
       {nn::RNNMode::RnnTanh, nn::RNNMode::RnnRelu, nn::RNNMode::Lstm, nn::RNNMode::Gru}) {
    const int64_t G = mode == nn::RNNMode::Lstm ? 4 : mode == nn::RNNMode::Gru ? 3 : 1;
    for (bool batch_first : {false, true}) {
      for (bool with_state : {true, false}) {
        // inputs: x, h0, c0, then per layer w_ih, w_hh, b_ih, b_hh
        std::vector<Tensor> in{batch_first ? leaf({B, T, I}) : leaf({T, B, I}),
                               with_state ? leaf({L, B, H}) : Tensor(),
                               with_state ? leaf({L, B, H}) : Tensor()};
        for (int64_t k = 0; k < L; ++k) {
          in.push_back(leaf({G * H, k == 0 ? I : H}));
          in.push_back(leaf({G * H, H}));
          in.push_back(leaf({G * H}));
          in.push_back(leaf({G * H}));
        }
        auto fn = [mode, batch_first](const std::vector<Tensor>& v) -> std::vector<Tensor> {
          const std::vector<Tensor> params(v.begin() + 3, v.end());
          if (mode == nn::RNNMode::Lstm) {
            auto [y, h, c] =
                nn::functional::lstm(v[0], {v[1], v[2]}, params, true, 2, 0.0, true, batch_first);
            return {y, h, c};
          }
          auto f = mode == nn::RNNMode::Gru       ? nn::functional::gru
                   : mode == nn::RNNMode::RnnTanh ? nn::functional::rnn_tanh
                                                  : nn::functional::rnn_relu;
          auto [y, h] = f(v[0], v[1], params, true, 2, 0.0, true, batch_first);
          return {y, h};
        };
        expect_gradcheck(fn, in,
                         "mode " + std::to_string(static_cast<int>(mode)) + " batch_first " +
                             std::to_string(batch_first) + " state " + std::to_string(with_state));
      }
    }
  }
}

// ---- reprs, parameters, init ----

TEST(Rnn, Reprs) {
  using namespace nn;
  EXPECT_EQ(repr(LSTM(LSTMOptions(32, 128).num_layers(2).batch_first(true))),
            "LSTM(32, 128, num_layers=2, batch_first=True)");
  EXPECT_EQ(repr(LSTM(32, 128)), "LSTM(32, 128)");
  EXPECT_EQ(repr(LSTM(LSTMOptions(32, 128).num_layers(2).bias(false).dropout(0.5))),
            "LSTM(32, 128, num_layers=2, bias=False, dropout=0.5)");
  EXPECT_EQ(repr(GRU(GRUOptions(32, 128).num_layers(3).batch_first(true).dropout(0.25))),
            "GRU(32, 128, num_layers=3, batch_first=True, dropout=0.25)");
  // PyTorch does not print an RNN's nonlinearity.
  EXPECT_EQ(repr(RNN(RNNOptions(32, 128).nonlinearity(RNNNonlinearity::ReLU))), "RNN(32, 128)");
  EXPECT_EQ(repr(LSTMCell(32, 128)), "LSTMCell(32, 128)");
  EXPECT_EQ(repr(LSTMCell(LSTMCellOptions(32, 128).bias(false))), "LSTMCell(32, 128, bias=False)");
  EXPECT_EQ(repr(GRUCell(GRUCellOptions(32, 128).bias(false))), "GRUCell(32, 128, bias=False)");
  EXPECT_EQ(repr(RNNCell(RNNCellOptions(32, 128).nonlinearity(RNNNonlinearity::ReLU))),
            "RNNCell(32, 128, nonlinearity=relu)");
  EXPECT_EQ(repr(RNNCell(32, 128)), "RNNCell(32, 128)");
  EXPECT_EQ(repr(RNNCell(RNNCellOptions(32, 128).bias(false))), "RNNCell(32, 128, bias=False)");
}

TEST(Rnn, ParameterNamesShapesAndInit) {
  manual_seed(3);
  nn::LSTM lstm(nn::LSTMOptions(3, 4).num_layers(2));
  std::vector<std::string> names;
  for (const auto& [name, t] : lstm.state_dict()) names.push_back(name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                                      "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1"}));
  EXPECT_EQ(lstm.state_dict().at("weight_ih_l0").sizes(), (Shape{16, 3}));
  EXPECT_EQ(lstm.state_dict().at("weight_ih_l1").sizes(), (Shape{16, 4}));
  EXPECT_EQ(lstm.flat_weights().size(), 8u);
  // U(-1/√H, 1/√H) for every parameter, and not a constant.
  for (const auto& [name, t] : lstm.named_parameters()) {
    const std::vector<double> v = t.to_vector<double>();
    const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
    EXPECT_GE(*lo, -0.5) << name;
    EXPECT_LE(*hi, 0.5) << name;
    EXPECT_GT(*hi - *lo, 0.2) << name;
  }
  nn::GRU gru(nn::GRUOptions(3, 4).bias(false));
  names.clear();
  for (const auto& [name, t] : gru.state_dict()) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"weight_ih_l0", "weight_hh_l0"}));
  EXPECT_EQ(gru.state_dict().at("weight_hh_l0").sizes(), (Shape{12, 4}));
  nn::GRUCell cell(5, 6);
  names.clear();
  for (const auto& [name, t] : cell.state_dict()) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"weight_ih", "weight_hh", "bias_ih", "bias_hh"}));
  EXPECT_EQ(cell.weight_ih().sizes(), (Shape{18, 5}));
}

// ---- errors (PyTorch's texts) ----

TEST(Rnn, ErrorsOfLayers) {
  nn::LSTM lstm(32, 128);
  EXPECT_EQ(error_of([&] {
              lstm.forward(randn({5, 3, 16}));
            }),
            "input.size(-1) must be equal to input_size. Expected 32, got 16");
  EXPECT_EQ(error_of([&] {
              lstm.forward(randn({5, 3, 32, 1}));
            }),
            "LSTM: Expected input to be 2-D or 3-D but received 4-D tensor");
  EXPECT_EQ(error_of([&] {
              lstm.forward(randn({5, 3, 32}, kFloat64));
            }),
            "input must have the type float32, got type float64");
  EXPECT_EQ(
      error_of([&] {
        lstm.forward(randn({5, 3, 32}), std::make_tuple(randn({1, 2, 128}), randn({1, 3, 128})));
      }),
      "Expected hidden[0] size (1, 3, 128), got [1, 2, 128]");
  EXPECT_EQ(
      error_of([&] {
        lstm.forward(randn({5, 3, 32}), std::make_tuple(randn({1, 3, 128}), randn({2, 3, 128})));
      }),
      "Expected hidden[1] size (1, 3, 128), got [2, 3, 128]");
  EXPECT_EQ(error_of([&] {
              lstm.forward(randn({5, 32}), std::make_tuple(randn({1, 3, 128}), randn({1, 3, 128})));
            }),
            "For unbatched 2-D input, hx and cx should also be 2-D but got (3-D, 3-D) tensors");
  EXPECT_EQ(error_of([&] {
              lstm.forward(randn({5, 3, 32}), std::make_tuple(randn({1, 128}), randn({1, 128})));
            }),
            "For batched 3-D input, hx and cx should also be 3-D but got (2-D, 2-D) tensors");
  EXPECT_EQ(error_of([&] {
              lstm.forward(randn({0, 3, 32}));
            }),
            "Expected sequence length to be larger than 0 in RNN");

  nn::GRU gru(32, 128);
  EXPECT_EQ(error_of([&] {
              gru.forward(randn({5, 3, 16}));
            }),
            "input.size(-1) must be equal to input_size. Expected 32, got 16");
  EXPECT_EQ(error_of([&] {
              gru.forward(randn({5, 3, 32}), randn({1, 2, 128}));
            }),
            "Expected hidden size (1, 3, 128), got [1, 2, 128]");
  EXPECT_EQ(error_of([&] {
              gru.forward(randn({5, 32}), randn({1, 2, 128}));
            }),
            "For unbatched 2-D input, hx should also be 2-D but got 3-D tensor");
  EXPECT_EQ(error_of([&] {
              gru.forward(randn({5, 3, 32}), randn({2, 128}));
            }),
            "For batched 3-D input, hx should also be 3-D but got 2-D tensor");
  // batch_first moves the batch dim of the input, not of the hidden state.
  nn::GRU gru_bf(nn::GRUOptions(32, 128).batch_first(true));
  EXPECT_EQ(error_of([&] {
              gru_bf.forward(randn({3, 5, 32}), randn({1, 5, 128}));
            }),
            "Expected hidden size (1, 3, 128), got [1, 5, 128]");

  const std::string bad_dropout =
      "dropout should be a number in range [0, 1] representing the probability of an element "
      "being zeroed";
  EXPECT_EQ(error_of([] { nn::LSTM(nn::LSTMOptions(3, 4).dropout(1.5)); }), bad_dropout);
  EXPECT_EQ(error_of([] { nn::GRU(nn::GRUOptions(3, 4).dropout(-0.1)); }), bad_dropout);
  EXPECT_EQ(error_of([] { nn::LSTM(3, 0); }), "LSTM: hidden_size must be greater than zero, got 0");
  EXPECT_EQ(error_of([] { nn::GRU(nn::GRUOptions(3, 4).num_layers(0)); }),
            "GRU: num_layers must be greater than zero, got 0");
}

TEST(Rnn, ErrorsOfCells) {
  nn::LSTMCell lstm(32, 128);
  EXPECT_EQ(error_of([&] {
              lstm.forward(randn({3, 16}));
            }),
            "input has inconsistent input_size: got 16 expected 32");
  EXPECT_EQ(error_of([&] {
              lstm.forward(randn({3, 32, 1}));
            }),
            "LSTMCell: Expected input to be 1-D or 2-D but received 3-D tensor");
  EXPECT_EQ(error_of([&] {
              lstm.forward(randn({3, 32}), std::make_tuple(randn({2, 128}), randn({3, 128})));
            }),
            "Input batch size 3 doesn't match hidden0 batch size 2");
  EXPECT_EQ(error_of([&] {
              lstm.forward(randn({3, 32}), std::make_tuple(randn({3, 128}), randn({2, 128})));
            }),
            "Input batch size 3 doesn't match hidden1 batch size 2");
  EXPECT_EQ(error_of([&] {
              lstm.forward(randn({3, 32}), std::make_tuple(randn({3, 64}), randn({3, 128})));
            }),
            "hidden0 has inconsistent hidden_size: got 64, expected 128");
  EXPECT_EQ(error_of([&] {
              lstm.forward(randn({3, 32}), std::make_tuple(randn({3, 128}), randn({3, 64})));
            }),
            "hidden1 has inconsistent hidden_size: got 64, expected 128");
  EXPECT_EQ(error_of([&] {
              lstm.forward(randn({32}), std::make_tuple(randn({3, 128}), randn({3, 128})));
            }),
            "LSTMCell: For unbatched 1-D input, hx[0] should also be 1-D but got 2-D tensor");
  EXPECT_EQ(error_of([&] {
              lstm.forward(randn({3, 32}, kFloat64));
            }),
            "input must have the type float32, got type float64");

  nn::GRUCell gru(32, 128);
  EXPECT_EQ(error_of([&] {
              gru.forward(randn({3, 16}));
            }),
            "input has inconsistent input_size: got 16 expected 32");
  EXPECT_EQ(error_of([&] {
              gru.forward(randn({3, 32}), randn({2, 128}));
            }),
            "Input batch size 3 doesn't match hidden0 batch size 2");
  EXPECT_EQ(error_of([&] {
              gru.forward(randn({3, 32}), randn({3, 64}));
            }),
            "hidden0 has inconsistent hidden_size: got 64, expected 128");
  EXPECT_EQ(error_of([&] {
              gru.forward(randn({3, 32, 2}));
            }),
            "GRUCell: Expected input to be 1-D or 2-D but received 3-D tensor");
  nn::RNNCell rnn(32, 128);
  EXPECT_EQ(error_of([&] {
              rnn.forward(randn({3, 32, 2}));
            }),
            "RNNCell: Expected input to be 1-D or 2-D but received 3-D tensor");
  EXPECT_EQ(error_of([&] {
              rnn.forward(randn({3, 32}), randn({3, 128}, kFloat64));
            }),
            "hx must have the type float32, got type float64");
  EXPECT_EQ(error_of([] { nn::GRUCell(3, 0); }),
            "GRUCell: hidden_size must be greater than zero, got 0");
}

// ---- properties of the fused nodes ----

// Without a graph the forward keeps one step of workspace and two of cell state; the values must
// not change.
TEST(Rnn, NoGradForwardMatchesGradForward) {
  manual_seed(5);
  for (int64_t layers : {1, 2}) {
    nn::LSTM lstm(nn::LSTMOptions(4, 5).num_layers(layers));
    nn::GRU gru(nn::GRUOptions(4, 5).num_layers(layers));
    const Tensor x = randn({7, 3, 4});
    auto [y, hc] = lstm.forward(x);
    auto [gy, gh] = gru.forward(x);
    NoGradGuard no_grad;
    auto [y2, hc2] = lstm.forward(x);
    auto [gy2, gh2] = gru.forward(x);
    EXPECT_TRUE(allclose(y, y2, 0, 0));
    EXPECT_TRUE(allclose(std::get<0>(hc), std::get<0>(hc2), 0, 0));
    EXPECT_TRUE(allclose(std::get<1>(hc), std::get<1>(hc2), 0, 0));
    EXPECT_TRUE(allclose(gy, gy2, 0, 0));
    EXPECT_TRUE(allclose(gh, gh2, 0, 0));
    EXPECT_FALSE(y2.requires_grad());
  }
}

// An LSTMCell stepped by hand and an LSTM layer with the same weights compute the same thing, and
// so do their gradients (one node per step vs. one node for the sequence).
TEST(Rnn, CellUnrollMatchesLayer) {
  manual_seed(9);
  nn::LSTMCell cell(4, 6);
  nn::LSTM layer(4, 6);
  layer.load_state_dict([&] {
    StateDict d;
    for (const auto& [name, t] : cell.state_dict()) d.insert(name + "_l0", t);
    return d;
  }());
  const Tensor x = randn({8, 3, 4});
  const Tensor h0 = randn({1, 3, 6}), c0 = randn({1, 3, 6});
  const Tensor g = randn({8, 3, 6});

  auto [y, hc] = layer.forward(x, std::make_tuple(h0, c0));
  (y * g).sum().backward();

  Tensor h = h0[0], c = c0[0];
  Tensor loss = zeros({});
  for (int64_t t = 0; t < 8; ++t) {
    std::tie(h, c) = cell.forward(x[t], std::make_tuple(h, c));
    loss = loss + (h * g[t]).sum();
  }
  loss.backward();
  EXPECT_LT(max_abs_diff(h, std::get<0>(hc)[0]), 1e-6);
  EXPECT_LT(max_abs_diff(c, std::get<1>(hc)[0]), 1e-6);
  const auto cell_params = cell.named_parameters();
  const auto layer_params = layer.named_parameters();
  for (size_t k = 0; k < cell_params.size(); ++k)
    EXPECT_LT(max_abs_diff(cell_params[k].second.grad(), layer_params[k].second.grad()), 1e-5)
        << cell_params[k].first;
}

TEST(Rnn, InPlaceChangeBeforeBackwardIsCaught) {
  nn::GRU gru(3, 4);
  const Tensor y = std::get<0>(gru.forward(randn({2, 2, 3})));
  {
    NoGradGuard no_grad;
    Tensor weight_hh = gru.flat_weights()[1];
    weight_hh.mul_(2.0);  // as an optimizer step would
  }
  EXPECT_NE(error_of([&] { y.sum().backward(); }).find("modified by an inplace operation"),
            std::string::npos);
}

TEST(Rnn, PlainModuleForwardReturnsTheOutputSequence) {
  manual_seed(2);
  auto lstm = std::make_shared<nn::LSTM>(nn::LSTMOptions(3, 4).batch_first(true));
  auto cell = std::make_shared<nn::GRUCell>(3, 4);
  const Tensor x = randn({2, 5, 3});
  nn::Module& as_module = *lstm;
  EXPECT_TRUE(allclose(as_module.forward(x), std::get<0>(lstm->forward(x)), 0, 0));
  nn::Sequential seq{lstm};
  EXPECT_EQ(seq.forward(x).sizes(), (Shape{2, 5, 4}));
  nn::Module& cell_module = *cell;
  EXPECT_TRUE(allclose(cell_module.forward(x[0]), cell->forward(x[0]), 0, 0));
}

TEST(Rnn, DropoutActsOnlyInTrainingBetweenLayers) {
  manual_seed(4);
  nn::GRU gru(nn::GRUOptions(3, 8).num_layers(2).dropout(0.5));
  const Tensor x = randn({4, 2, 3});
  gru.eval();
  const Tensor eval_a = std::get<0>(gru.forward(x)), eval_b = std::get<0>(gru.forward(x));
  EXPECT_TRUE(allclose(eval_a, eval_b, 0, 0));
  gru.train();
  EXPECT_FALSE(allclose(std::get<0>(gru.forward(x)), eval_a, 1e-3, 1e-3));
}

TEST(Rnn, EmptyBatch) {
  nn::LSTM lstm(3, 4);
  auto [y, hc] = lstm.forward(randn({5, 0, 3}));
  EXPECT_EQ(y.sizes(), (Shape{5, 0, 4}));
  EXPECT_EQ(std::get<1>(hc).sizes(), (Shape{1, 0, 4}));
  nn::LSTMCell cell(3, 4);
  auto [h, c] = cell.forward(randn({0, 3}));
  EXPECT_EQ(h.sizes(), (Shape{0, 4}));
  EXPECT_EQ(c.sizes(), (Shape{0, 4}));
}

}  // namespace
