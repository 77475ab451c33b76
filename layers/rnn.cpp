// RNN, LSTM, GRU over sequences and their functional forms: PyTorch's checks and messages
// (RNNBase.check_forward_args and the modules' forward), then one fused recurrence node per layer
// (layers/recurrence.cpp), dropout between layers in training.
#include "ember/nn/rnn.h"

#include <cmath>

#include "ember/nn/dropout.h"
#include "ember/nn/init.h"
#include "ember/runtime.h"
#include "layers/recurrence.h"
#include "layers/rnn_gates.h"

namespace ember::nn {

namespace {

const char* module_name(RNNMode mode) {
  switch (mode) {
    case RNNMode::Lstm:
      return "LSTM";
    case RNNMode::Gru:
      return "GRU";
    default:
      return "RNN";
  }
}

std::string dims_str(const Tensor& t) { return std::to_string(t.dim()) + "-D"; }

struct Layout {
  int64_t num_layers, stride;  // parameters per layer: 4 with biases, 2 without
  int64_t input_size, hidden_size;
};

// The parameter list's shapes and dtypes (the module's are right by construction; a caller of
// the functional form may pass anything).
Layout check_params(RNNMode mode, const std::vector<Tensor>& params, bool has_biases,
                    int64_t num_layers) {
  const char* name = module_name(mode);
  const int64_t stride = has_biases ? 4 : 2;
  EMBER_CHECK(num_layers > 0, name, ": num_layers must be greater than zero, got ", num_layers);
  EMBER_CHECK(static_cast<int64_t>(params.size()) == num_layers * stride, name, ": expected ",
              num_layers * stride, " parameter tensors (num_layers=", num_layers,
              ", has_biases=", has_biases ? "true" : "false", "), got ", params.size());
  for (const Tensor& p : params) EMBER_CHECK(p.defined(), name, ": a parameter is undefined");
  EMBER_CHECK(params[0].dim() == 2 && params[1].dim() == 2, name,
              ": expected 2-D weights weight_ih_l0 and weight_hh_l0");
  const DType dt = params[0].dtype();
  EMBER_CHECK(is_floating(dt), name, ": expected floating point parameters, got ", dt);
  Layout l{num_layers, stride, params[0].size(1), params[1].size(1)};
  const int64_t GH = detail::gate_count(mode) * l.hidden_size;
  const char* kinds[] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
  for (int64_t k = 0; k < num_layers; ++k) {
    const Shape expected[] = {
        {GH, k == 0 ? l.input_size : l.hidden_size}, {GH, l.hidden_size}, {GH}, {GH}};
    for (int64_t j = 0; j < stride; ++j) {
      const Tensor& p = params[k * stride + j];
      EMBER_CHECK(p.sizes() == expected[j], name, ": expected ", kinds[j], "_l", k, " of size ",
                  shape_str(expected[j]), ", got ", shape_str(p.sizes()));
      EMBER_CHECK(p.dtype() == dt, name, ": expected ", kinds[j], "_l", k, " of type ", dt,
                  ", got ", p.dtype());
    }
  }
  return l;
}

struct SequenceResult {
  Tensor output, h_n, c_n;
};

// The body of functional::lstm/gru/rnn_*: checks in PyTorch's order with its messages, then the
// layers. h0/c0 [num_layers, N, H] (or [num_layers, H] for an unbatched input) or undefined.
SequenceResult run_sequence(RNNMode mode, const Tensor& input, const Tensor& h0, const Tensor& c0,
                            const std::vector<Tensor>& params, bool has_biases, int64_t num_layers,
                            double dropout, bool train, bool batch_first) {
  const char* name = module_name(mode);
  const bool lstm = mode == RNNMode::Lstm;
  const Layout l = check_params(mode, params, has_biases, num_layers);
  EMBER_CHECK(input.defined(), name, ": the input is an undefined tensor");
  EMBER_CHECK(input.dim() == 2 || input.dim() == 3, name,
              ": Expected input to be 2-D or 3-D but received ", input.dim(), "-D tensor");
  EMBER_CHECK(!lstm || h0.defined() == c0.defined(), name,
              ": hx must hold both h_0 and c_0, or neither");
  const bool batched = input.dim() == 3;
  if (h0.defined()) {
    const std::string kind = batched ? "batched 3-D" : "unbatched 2-D";
    const int64_t want = batched ? 3 : 2;
    if (lstm)
      EMBER_CHECK(h0.dim() == want && c0.dim() == want, "For ", kind,
                  " input, hx and cx should also be ", want, "-D but got (", dims_str(h0), ", ",
                  dims_str(c0), ") tensors");
    else
      EMBER_CHECK(h0.dim() == want, "For ", kind, " input, hx should also be ", want, "-D but got ",
                  dims_str(h0), " tensor");
  }
  // From here on, an unbatched call is a batch of one (as in PyTorch, so are its messages).
  const int64_t batch_dim = batch_first ? 0 : 1;
  auto batch = [&](const Tensor& t) { return !t.defined() || batched ? t : t.unsqueeze(1); };
  const Tensor x = batched ? input : input.unsqueeze(batch_dim), h = batch(h0), c = batch(c0);

  const DType dt = params[0].dtype();
  EMBER_CHECK(x.dtype() == dt, "input must have the type ", dt, ", got type ", x.dtype());
  EMBER_CHECK(x.size(-1) == l.input_size, "input.size(-1) must be equal to input_size. Expected ",
              l.input_size, ", got ", x.size(-1));
  const int64_t B = x.size(batch_dim), T = x.size(1 - batch_dim);
  const Shape expected{num_layers, B, l.hidden_size};
  auto check_hidden = [&](const Tensor& t, const char* label) {
    EMBER_CHECK(t.sizes() == expected, "Expected hidden", label, " size ", py_tuple(expected),
                ", got ", shape_str(t.sizes()));
    EMBER_CHECK(t.dtype() == dt, "hx must have the type ", dt, ", got type ", t.dtype());
  };
  if (h.defined()) check_hidden(h, lstm ? "[0]" : "");
  if (c.defined()) check_hidden(c, "[1]");
  EMBER_CHECK(T > 0, "Expected sequence length to be larger than 0 in RNN");
  EMBER_CHECK(dropout >= 0.0 && dropout <= 1.0,
              "dropout should be a number in range [0, 1] representing the probability of an "
              "element being zeroed");

  Tensor layer_input = batch_first ? x.transpose(0, 1) : x;  // time-major
  std::vector<Tensor> h_n, c_n;
  for (int64_t k = 0; k < num_layers; ++k) {
    const Tensor* p = params.data() + k * l.stride;
    auto r = detail::recurrence(mode, layer_input, h.defined() ? h.select(0, k) : Tensor(),
                                c.defined() ? c.select(0, k) : Tensor(), p[0], p[1],
                                has_biases ? p[2] : Tensor(), has_biases ? p[3] : Tensor(),
                                /*cell_step=*/false);
    h_n.push_back(r.h_n);
    if (lstm) c_n.push_back(r.c_n);
    layer_input = r.output;
    if (train && dropout > 0 && k + 1 < num_layers)
      layer_input = functional::dropout(layer_input, dropout, /*training=*/true);
  }
  SequenceResult out;
  out.output = batch_first ? layer_input.transpose(0, 1) : layer_input;
  out.h_n = stack(h_n, 0);
  if (lstm) out.c_n = stack(c_n, 0);
  if (!batched) {
    out.output = out.output.squeeze(batch_dim);
    out.h_n = out.h_n.squeeze(1);
    if (lstm) out.c_n = out.c_n.squeeze(1);
  }
  return out;
}

}  // namespace

namespace functional {

std::tuple<Tensor, Tensor, Tensor> lstm(const Tensor& input, const std::tuple<Tensor, Tensor>& hx,
                                        const std::vector<Tensor>& params, bool has_biases,
                                        int64_t num_layers, double dropout, bool train,
                                        bool batch_first) {
  auto r = run_sequence(RNNMode::Lstm, input, std::get<0>(hx), std::get<1>(hx), params, has_biases,
                        num_layers, dropout, train, batch_first);
  return {r.output, r.h_n, r.c_n};
}

std::tuple<Tensor, Tensor> gru(const Tensor& input, const Tensor& hx,
                               const std::vector<Tensor>& params, bool has_biases,
                               int64_t num_layers, double dropout, bool train, bool batch_first) {
  auto r = run_sequence(RNNMode::Gru, input, hx, {}, params, has_biases, num_layers, dropout, train,
                        batch_first);
  return {r.output, r.h_n};
}

std::tuple<Tensor, Tensor> rnn_tanh(const Tensor& input, const Tensor& hx,
                                    const std::vector<Tensor>& params, bool has_biases,
                                    int64_t num_layers, double dropout, bool train,
                                    bool batch_first) {
  auto r = run_sequence(RNNMode::RnnTanh, input, hx, {}, params, has_biases, num_layers, dropout,
                        train, batch_first);
  return {r.output, r.h_n};
}

std::tuple<Tensor, Tensor> rnn_relu(const Tensor& input, const Tensor& hx,
                                    const std::vector<Tensor>& params, bool has_biases,
                                    int64_t num_layers, double dropout, bool train,
                                    bool batch_first) {
  auto r = run_sequence(RNNMode::RnnRelu, input, hx, {}, params, has_biases, num_layers, dropout,
                        train, batch_first);
  return {r.output, r.h_n};
}

}  // namespace functional

RNNBase::RNNBase(RNNMode mode, int64_t input_size, int64_t hidden_size, int64_t num_layers,
                 bool bias, bool batch_first, double dropout)
    : mode_(mode),
      input_size_(input_size),
      hidden_size_(hidden_size),
      num_layers_(num_layers),
      bias_(bias),
      batch_first_(batch_first),
      dropout_(dropout) {
  const char* name = module_name(mode);
  EMBER_CHECK(dropout >= 0.0 && dropout <= 1.0,
              "dropout should be a number in range [0, 1] representing the probability of an "
              "element being zeroed");
  if (dropout > 0 && num_layers == 1)
    log_warn(
        "dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
        "expects num_layers greater than 1, but got dropout=" +
        py_float(dropout) + " and num_layers=" + std::to_string(num_layers));
  EMBER_CHECK(input_size >= 0, name, ": input_size must be non-negative, got ", input_size);
  EMBER_CHECK(hidden_size > 0, name, ": hidden_size must be greater than zero, got ", hidden_size);
  EMBER_CHECK(num_layers > 0, name, ": num_layers must be greater than zero, got ", num_layers);
  const int64_t GH = detail::gate_count(mode) * hidden_size;
  for (int64_t k = 0; k < num_layers; ++k) {
    const std::string sfx = "_l" + std::to_string(k);
    const int64_t in = k == 0 ? input_size : hidden_size;
    flat_weights_.push_back(register_parameter("weight_ih" + sfx, empty({GH, in})));
    flat_weights_.push_back(register_parameter("weight_hh" + sfx, empty({GH, hidden_size})));
    if (bias) {
      flat_weights_.push_back(register_parameter("bias_ih" + sfx, empty({GH})));
      flat_weights_.push_back(register_parameter("bias_hh" + sfx, empty({GH})));
    }
  }
  reset_parameters();
}

void RNNBase::reset_parameters() {
  const double bound = 1.0 / std::sqrt(static_cast<double>(hidden_size_));
  for (const Tensor& t : flat_weights_) init::uniform_(t, -bound, bound);
}

std::string RNNBase::extra_repr() const {
  std::string s = std::to_string(input_size_) + ", " + std::to_string(hidden_size_);
  if (num_layers_ != 1) s += ", num_layers=" + std::to_string(num_layers_);
  if (!bias_) s += ", bias=False";
  if (batch_first_) s += ", batch_first=True";
  if (dropout_ != 0) s += ", dropout=" + py_float(dropout_);
  return s;
}

Tensor RNNBase::forward(const Tensor& input) {
  return run_sequence(mode_, input, {}, {}, flat_weights_, bias_, num_layers_, dropout_,
                      is_training(), batch_first_)
      .output;
}

RNN::RNN(RNNOptions options)
    : RNNBase(options.nonlinearity() == RNNNonlinearity::ReLU ? RNNMode::RnnRelu : RNNMode::RnnTanh,
              options.input_size(), options.hidden_size(), options.num_layers(), options.bias(),
              options.batch_first(), options.dropout()),
      options_(std::move(options)) {}

std::tuple<Tensor, Tensor> RNN::forward(const Tensor& input, const Tensor& hx) {
  auto r = run_sequence(mode(), input, hx, {}, flat_weights(), bias(), num_layers(), dropout(),
                        is_training(), batch_first());
  return {r.output, r.h_n};
}

LSTM::LSTM(LSTMOptions options)
    : RNNBase(RNNMode::Lstm, options.input_size(), options.hidden_size(), options.num_layers(),
              options.bias(), options.batch_first(), options.dropout()),
      options_(std::move(options)) {}

std::tuple<Tensor, std::tuple<Tensor, Tensor>> LSTM::forward(
    const Tensor& input, std::optional<std::tuple<Tensor, Tensor>> hx) {
  const std::tuple<Tensor, Tensor> state = hx ? *hx : std::tuple<Tensor, Tensor>();
  auto r =
      run_sequence(RNNMode::Lstm, input, std::get<0>(state), std::get<1>(state), flat_weights(),
                   bias(), num_layers(), dropout(), is_training(), batch_first());
  return {r.output, {r.h_n, r.c_n}};
}

GRU::GRU(GRUOptions options)
    : RNNBase(RNNMode::Gru, options.input_size(), options.hidden_size(), options.num_layers(),
              options.bias(), options.batch_first(), options.dropout()),
      options_(std::move(options)) {}

std::tuple<Tensor, Tensor> GRU::forward(const Tensor& input, const Tensor& hx) {
  auto r = run_sequence(RNNMode::Gru, input, hx, {}, flat_weights(), bias(), num_layers(),
                        dropout(), is_training(), batch_first());
  return {r.output, r.h_n};
}

}  // namespace ember::nn
