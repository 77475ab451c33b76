// RNNCell, LSTMCell, GRUCell and their functional forms: checks worded like PyTorch's, then one
// fused recurrence node for the single step (layers/recurrence.cpp).
#include <cmath>

#include "ember/nn/init.h"
#include "ember/nn/rnn.h"
#include "layers/recurrence.h"
#include "layers/rnn_gates.h"

namespace ember::nn {

namespace {

const char* cell_name(RNNMode mode) {
  switch (mode) {
    case RNNMode::Lstm:
      return "LSTMCell";
    case RNNMode::Gru:
      return "GRUCell";
    default:
      return "RNNCell";
  }
}

void check_cell_weights(RNNMode mode, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                        const Tensor& b_hh) {
  const char* name = cell_name(mode);
  EMBER_CHECK(w_hh.defined() && w_hh.dim() == 2 && w_ih.defined() && w_ih.dim() == 2, name,
              ": expected 2-D weights w_ih [G*H, input_size] and w_hh [G*H, H]");
  const int64_t GH = detail::gate_count(mode) * w_hh.size(1);
  EMBER_CHECK(is_floating(w_ih.dtype()), name, ": expected floating point weights, got ",
              w_ih.dtype());
  auto check = [&](const Tensor& t, const char* what, const Shape& expected) {
    if (!t.defined()) return;
    EMBER_CHECK(t.sizes() == expected, name, ": expected ", what, " of size ", shape_str(expected),
                ", got ", shape_str(t.sizes()));
    EMBER_CHECK(t.dtype() == w_ih.dtype(), name, ": expected ", what, " of type ", w_ih.dtype(),
                ", got ", t.dtype());
  };
  check(w_ih, "w_ih", {GH, w_ih.size(1)});
  check(w_hh, "w_hh", {GH, w_hh.size(1)});
  check(b_ih, "b_ih", {GH});
  check(b_hh, "b_hh", {GH});
}

// PyTorch's checks and messages (RNNCellBase.forward and ATen's check_rnn_cell_forward_*).
// states: h (and c), each possibly undefined.
void check_cell_call(RNNMode mode, const Tensor& input, const std::vector<Tensor>& states,
                     const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                     const Tensor& b_hh) {
  const char* name = cell_name(mode);
  check_cell_weights(mode, w_ih, w_hh, b_ih, b_hh);
  EMBER_CHECK(input.defined(), name, ": the input is an undefined tensor");
  EMBER_CHECK(input.dim() == 1 || input.dim() == 2, name,
              ": Expected input to be 1-D or 2-D but received ", input.dim(), "-D tensor");
  EMBER_CHECK(input.dtype() == w_ih.dtype(), "input must have the type ", w_ih.dtype(),
              ", got type ", input.dtype());
  const bool lstm = mode == RNNMode::Lstm;
  for (size_t k = 0; k < states.size(); ++k) {
    const Tensor& s = states[k];
    if (!s.defined()) continue;
    const std::string label = lstm ? "hx[" + std::to_string(k) + "]" : "hx";
    EMBER_CHECK(s.dim() == 1 || s.dim() == 2, name, ": Expected ", label,
                " to be 1-D or 2-D but received ", s.dim(), "-D tensor");
    EMBER_CHECK(s.dim() == input.dim(), name, ": For ",
                input.dim() == 1 ? "unbatched 1-D" : "batched 2-D", " input, ", label,
                " should also be ", input.dim(), "-D but got ", s.dim(), "-D tensor");
    EMBER_CHECK(s.dtype() == input.dtype(), label, " must have the type ", input.dtype(),
                ", got type ", s.dtype());
  }
  const int64_t I = w_ih.size(1), H = w_hh.size(1);
  EMBER_CHECK(input.size(-1) == I, "input has inconsistent input_size: got ", input.size(-1),
              " expected ", I);
  for (size_t k = 0; k < states.size(); ++k) {
    const Tensor& s = states[k];
    if (!s.defined()) continue;
    if (input.dim() == 2)
      EMBER_CHECK(s.size(0) == input.size(0), "Input batch size ", input.size(0),
                  " doesn't match hidden", k, " batch size ", s.size(0));
    EMBER_CHECK(s.size(-1) == H, "hidden", k, " has inconsistent hidden_size: got ", s.size(-1),
                ", expected ", H);
  }
}

// One step: unbatched inputs become a batch of one; the step is a sequence of length one.
std::vector<Tensor> cell_step(RNNMode mode, const Tensor& input, const std::vector<Tensor>& states,
                              const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                              const Tensor& b_hh) {
  check_cell_call(mode, input, states, w_ih, w_hh, b_ih, b_hh);
  const bool batched = input.dim() == 2;
  auto batch = [&](const Tensor& t) { return !t.defined() || batched ? t : t.unsqueeze(0); };
  const Tensor h = batch(states[0]);
  const Tensor c = states.size() > 1 ? batch(states[1]) : Tensor();
  auto r = detail::recurrence(mode, batch(input).unsqueeze(0), h, c, w_ih, w_hh, b_ih, b_hh,
                              /*cell_step=*/true);
  std::vector<Tensor> out{r.h_n};
  if (mode == RNNMode::Lstm) out.push_back(r.c_n);
  if (!batched)
    for (Tensor& t : out) t = t.squeeze(0);
  return out;
}

}  // namespace

namespace functional {

Tensor rnn_tanh_cell(const Tensor& input, const Tensor& hx, const Tensor& w_ih, const Tensor& w_hh,
                     const Tensor& b_ih, const Tensor& b_hh) {
  return cell_step(RNNMode::RnnTanh, input, {hx}, w_ih, w_hh, b_ih, b_hh)[0];
}

Tensor rnn_relu_cell(const Tensor& input, const Tensor& hx, const Tensor& w_ih, const Tensor& w_hh,
                     const Tensor& b_ih, const Tensor& b_hh) {
  return cell_step(RNNMode::RnnRelu, input, {hx}, w_ih, w_hh, b_ih, b_hh)[0];
}

std::tuple<Tensor, Tensor> lstm_cell(const Tensor& input, const std::tuple<Tensor, Tensor>& hx,
                                     const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                                     const Tensor& b_hh) {
  auto out =
      cell_step(RNNMode::Lstm, input, {std::get<0>(hx), std::get<1>(hx)}, w_ih, w_hh, b_ih, b_hh);
  return {out[0], out[1]};
}

Tensor gru_cell(const Tensor& input, const Tensor& hx, const Tensor& w_ih, const Tensor& w_hh,
                const Tensor& b_ih, const Tensor& b_hh) {
  return cell_step(RNNMode::Gru, input, {hx}, w_ih, w_hh, b_ih, b_hh)[0];
}

}  // namespace functional

RNNCellBase::RNNCellBase(RNNMode mode, int64_t input_size, int64_t hidden_size, bool bias)
    : mode_(mode), input_size_(input_size), hidden_size_(hidden_size), bias_(bias) {
  EMBER_CHECK(input_size >= 0, cell_name(mode), ": input_size must be non-negative, got ",
              input_size);
  EMBER_CHECK(hidden_size > 0, cell_name(mode), ": hidden_size must be greater than zero, got ",
              hidden_size);
  const int64_t GH = detail::gate_count(mode) * hidden_size;
  weight_ih_ = register_parameter("weight_ih", empty({GH, input_size}));
  weight_hh_ = register_parameter("weight_hh", empty({GH, hidden_size}));
  bias_ih_ = register_parameter("bias_ih", bias ? empty({GH}) : Tensor());
  bias_hh_ = register_parameter("bias_hh", bias ? empty({GH}) : Tensor());
  reset_parameters();
}

void RNNCellBase::reset_parameters() {
  const double bound = 1.0 / std::sqrt(static_cast<double>(hidden_size_));
  for (const Tensor& t : {weight_ih_, weight_hh_, bias_ih_, bias_hh_})
    if (t.defined()) init::uniform_(t, -bound, bound);
}

std::string RNNCellBase::extra_repr() const {
  std::string s = std::to_string(input_size_) + ", " + std::to_string(hidden_size_);
  if (!bias_) s += ", bias=False";
  if (mode_ == RNNMode::RnnRelu) s += ", nonlinearity=relu";
  return s;
}

Tensor RNNCellBase::forward(const Tensor& input) {
  std::vector<Tensor> states{Tensor()};
  if (mode_ == RNNMode::Lstm) states.emplace_back();
  return cell_step(mode_, input, states, weight_ih_, weight_hh_, bias_ih_, bias_hh_)[0];
}

RNNCell::RNNCell(RNNCellOptions options)
    : RNNCellBase(
          options.nonlinearity() == RNNNonlinearity::ReLU ? RNNMode::RnnRelu : RNNMode::RnnTanh,
          options.input_size(), options.hidden_size(), options.bias()),
      options_(std::move(options)) {}

Tensor RNNCell::forward(const Tensor& input, const Tensor& hx) {
  return cell_step(mode(), input, {hx}, weight_ih(), weight_hh(), bias_ih(), bias_hh())[0];
}

LSTMCell::LSTMCell(LSTMCellOptions options)
    : RNNCellBase(RNNMode::Lstm, options.input_size(), options.hidden_size(), options.bias()),
      options_(std::move(options)) {}

std::tuple<Tensor, Tensor> LSTMCell::forward(const Tensor& input,
                                             std::optional<std::tuple<Tensor, Tensor>> hx) {
  return functional::lstm_cell(input, hx ? *hx : std::tuple<Tensor, Tensor>(), weight_ih(),
                               weight_hh(), bias_ih(), bias_hh());
}

GRUCell::GRUCell(GRUCellOptions options)
    : RNNCellBase(RNNMode::Gru, options.input_size(), options.hidden_size(), options.bias()),
      options_(std::move(options)) {}

Tensor GRUCell::forward(const Tensor& input, const Tensor& hx) {
  return functional::gru_cell(input, hx, weight_ih(), weight_hh(), bias_ih(), bias_hh());
}

}  // namespace ember::nn
