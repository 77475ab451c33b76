#pragma once
// Recurrent layers: RNNCell, LSTMCell, GRUCell (one step) and RNN, LSTM, GRU (stacked layers over
// a sequence), with PyTorch's formulas and gate order (LSTM: i, f, g, o; GRU: r, z, n with
// n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))), parameter names (weight_ih, weight_hh, bias_ih,
// bias_hh; weight_ih_l0, ... for the stacked modules), state_dict order, init
// (U(-1/√hidden_size, 1/√hidden_size) for every parameter, from ember's generator) and reprs, so
// PyTorch state dicts load as they are.
//
// Each cell step and each layer over a whole sequence is ONE autograd node: the forward runs the
// gate GEMMs and one fused pass over the gates; the backward one fused pass per step and GEMMs for
// the input, state and parameter gradients.
//
// Not implemented: bidirectional layers, LSTM's proj_size, PackedSequence inputs.
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "ember/nn/module.h"
#include "ember/nn/rnn_options.h"

namespace ember::nn {

// Which recurrence a cell or layer runs (PyTorch's mode strings RNN_TANH, RNN_RELU, LSTM, GRU).
enum class RNNMode { RnnTanh, RnnRelu, Lstm, Gru };

// Each module's forward(input, state) hides Module's one-tensor forward on purpose (that one stays
// reachable through a Module&, as the base classes below define it); keep -Woverloaded-virtual
// (in clang's -Wall) quiet about it in users' builds.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverloaded-virtual"

// What RNNCell, LSTMCell and GRUCell share (PyTorch's RNNCellBase): the four parameters
// weight_ih [G·H, I], weight_hh [G·H, H], bias_ih [G·H], bias_hh [G·H], with G gates.
class RNNCellBase : public Module {
 public:
  // As a plain Module (e.g. inside Sequential): the new hidden state h from a zero state.
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  void reset_parameters();

  RNNMode mode() const { return mode_; }
  int64_t input_size() const { return input_size_; }
  int64_t hidden_size() const { return hidden_size_; }
  bool bias() const { return bias_; }
  Tensor& weight_ih() { return weight_ih_; }
  Tensor& weight_hh() { return weight_hh_; }
  Tensor& bias_ih() { return bias_ih_; }  // undefined without bias
  Tensor& bias_hh() { return bias_hh_; }

 protected:
  RNNCellBase(RNNMode mode, int64_t input_size, int64_t hidden_size, bool bias);

 private:
  RNNMode mode_;
  int64_t input_size_, hidden_size_;
  bool bias_;
  Tensor weight_ih_, weight_hh_, bias_ih_, bias_hh_;
};

// h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu). input [N, I] or [I]; hx [N, H] or [H],
// zeros when undefined. Returns h' [N, H] (or [H]).
class RNNCell : public RNNCellBase {
 public:
  explicit RNNCell(RNNCellOptions options);
  RNNCell(int64_t input_size, int64_t hidden_size)
      : RNNCell(RNNCellOptions(input_size, hidden_size)) {}
  Tensor forward(const Tensor& input, const Tensor& hx = {});
  Tensor operator()(const Tensor& input, const Tensor& hx = {}) { return forward(input, hx); }
  std::string name() const override { return "RNNCell"; }
  const RNNCellOptions& options() const { return options_; }

 private:
  RNNCellOptions options_;
};

// hx = (h, c), each [N, H] or [H], zeros when absent. Returns (h', c').
class LSTMCell : public RNNCellBase {
 public:
  explicit LSTMCell(LSTMCellOptions options);
  LSTMCell(int64_t input_size, int64_t hidden_size)
      : LSTMCell(LSTMCellOptions(input_size, hidden_size)) {}
  std::tuple<Tensor, Tensor> forward(const Tensor& input,
                                     std::optional<std::tuple<Tensor, Tensor>> hx = {});
  std::tuple<Tensor, Tensor> operator()(const Tensor& input,
                                        std::optional<std::tuple<Tensor, Tensor>> hx = {}) {
    return forward(input, std::move(hx));
  }
  std::string name() const override { return "LSTMCell"; }
  const LSTMCellOptions& options() const { return options_; }

 private:
  LSTMCellOptions options_;
};

class GRUCell : public RNNCellBase {
 public:
  explicit GRUCell(GRUCellOptions options);
  GRUCell(int64_t input_size, int64_t hidden_size)
      : GRUCell(GRUCellOptions(input_size, hidden_size)) {}
  Tensor forward(const Tensor& input, const Tensor& hx = {});
  Tensor operator()(const Tensor& input, const Tensor& hx = {}) { return forward(input, hx); }
  std::string name() const override { return "GRUCell"; }
  const GRUCellOptions& options() const { return options_; }

 private:
  GRUCellOptions options_;
};

// What RNN, LSTM and GRU share (PyTorch's RNNBase): per layer k the parameters weight_ih_lk
// [G·H, I or H], weight_hh_lk [G·H, H], bias_ih_lk, bias_hh_lk [G·H], in that order.
// Inputs are [L, N, I] ([N, L, I] with batch_first) or unbatched [L, I]; hidden states
// [num_layers, N, H] (or [num_layers, H]).
class RNNBase : public Module {
 public:
  // As a plain Module (e.g. inside Sequential): the output sequence from a zero initial state.
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;
  void reset_parameters();

  RNNMode mode() const { return mode_; }
  int64_t input_size() const { return input_size_; }
  int64_t hidden_size() const { return hidden_size_; }
  int64_t num_layers() const { return num_layers_; }
  bool bias() const { return bias_; }
  bool batch_first() const { return batch_first_; }
  double dropout() const { return dropout_; }
  // The parameters in state_dict order (PyTorch's _flat_weights).
  const std::vector<Tensor>& flat_weights() const { return flat_weights_; }

 protected:
  RNNBase(RNNMode mode, int64_t input_size, int64_t hidden_size, int64_t num_layers, bool bias,
          bool batch_first, double dropout);

 private:
  RNNMode mode_;
  int64_t input_size_, hidden_size_, num_layers_;
  bool bias_, batch_first_;
  double dropout_;
  std::vector<Tensor> flat_weights_;
};

// Returns (output, h_n): output [L, N, H] (batch_first: [N, L, H]), h_n [num_layers, N, H].
class RNN : public RNNBase {
 public:
  explicit RNN(RNNOptions options);
  RNN(int64_t input_size, int64_t hidden_size) : RNN(RNNOptions(input_size, hidden_size)) {}
  std::tuple<Tensor, Tensor> forward(const Tensor& input, const Tensor& hx = {});
  std::tuple<Tensor, Tensor> operator()(const Tensor& input, const Tensor& hx = {}) {
    return forward(input, hx);
  }
  std::string name() const override { return "RNN"; }
  const RNNOptions& options() const { return options_; }

 private:
  RNNOptions options_;
};

// Returns (output, (h_n, c_n)).
class LSTM : public RNNBase {
 public:
  explicit LSTM(LSTMOptions options);
  LSTM(int64_t input_size, int64_t hidden_size) : LSTM(LSTMOptions(input_size, hidden_size)) {}
  std::tuple<Tensor, std::tuple<Tensor, Tensor>> forward(
      const Tensor& input, std::optional<std::tuple<Tensor, Tensor>> hx = {});
  std::tuple<Tensor, std::tuple<Tensor, Tensor>> operator()(
      const Tensor& input, std::optional<std::tuple<Tensor, Tensor>> hx = {}) {
    return forward(input, std::move(hx));
  }
  std::string name() const override { return "LSTM"; }
  const LSTMOptions& options() const { return options_; }

 private:
  LSTMOptions options_;
};

// Returns (output, h_n).
class GRU : public RNNBase {
 public:
  explicit GRU(GRUOptions options);
  GRU(int64_t input_size, int64_t hidden_size) : GRU(GRUOptions(input_size, hidden_size)) {}
  std::tuple<Tensor, Tensor> forward(const Tensor& input, const Tensor& hx = {});
  std::tuple<Tensor, Tensor> operator()(const Tensor& input, const Tensor& hx = {}) {
    return forward(input, hx);
  }
  std::string name() const override { return "GRU"; }
  const GRUOptions& options() const { return options_; }

 private:
  GRUOptions options_;
};

#pragma GCC diagnostic pop

namespace functional {

// One step each (torch.rnn_tanh_cell, ...): input [N, I] or [I], hx [N, H] or [H] (undefined:
// zeros), w_ih [G·H, I], w_hh [G·H, H], biases [G·H] or undefined.
Tensor rnn_tanh_cell(const Tensor& input, const Tensor& hx, const Tensor& w_ih, const Tensor& w_hh,
                     const Tensor& b_ih = {}, const Tensor& b_hh = {});
Tensor rnn_relu_cell(const Tensor& input, const Tensor& hx, const Tensor& w_ih, const Tensor& w_hh,
                     const Tensor& b_ih = {}, const Tensor& b_hh = {});
// hx = (h, c); either may be undefined (zeros). Returns (h', c').
std::tuple<Tensor, Tensor> lstm_cell(const Tensor& input, const std::tuple<Tensor, Tensor>& hx,
                                     const Tensor& w_ih, const Tensor& w_hh,
                                     const Tensor& b_ih = {}, const Tensor& b_hh = {});
Tensor gru_cell(const Tensor& input, const Tensor& hx, const Tensor& w_ih, const Tensor& w_hh,
                const Tensor& b_ih = {}, const Tensor& b_hh = {});

// Stacked layers over a sequence (torch.lstm, ... without bidirectional). params: per layer
// w_ih, w_hh and, with has_biases, b_ih, b_hh (the modules' flat_weights()). hx undefined:
// zeros. dropout applies between layers when train.
std::tuple<Tensor, Tensor, Tensor> lstm(const Tensor& input, const std::tuple<Tensor, Tensor>& hx,
                                        const std::vector<Tensor>& params, bool has_biases,
                                        int64_t num_layers, double dropout, bool train,
                                        bool batch_first);
std::tuple<Tensor, Tensor> gru(const Tensor& input, const Tensor& hx,
                               const std::vector<Tensor>& params, bool has_biases,
                               int64_t num_layers, double dropout, bool train, bool batch_first);
std::tuple<Tensor, Tensor> rnn_tanh(const Tensor& input, const Tensor& hx,
                                    const std::vector<Tensor>& params, bool has_biases,
                                    int64_t num_layers, double dropout, bool train,
                                    bool batch_first);
std::tuple<Tensor, Tensor> rnn_relu(const Tensor& input, const Tensor& hx,
                                    const std::vector<Tensor>& params, bool has_biases,
                                    int64_t num_layers, double dropout, bool train,
                                    bool batch_first);

}  // namespace functional

}  // namespace ember::nn
