#pragma once
// Internal: one recurrent layer over a whole sequence as ONE autograd node. RNNCell/LSTMCell/
// GRUCell run it for one step, RNN/LSTM/GRU once per layer.
#include "ember/nn/rnn.h"

namespace ember::nn::detail {

struct RecurrenceOutputs {
  Tensor output;  // [T, B, H]: h of every step (undefined for a cell step)
  Tensor h_n;     // [B, H]
  Tensor c_n;     // [B, H], LSTM only
};

// x [T, B, I] time-major, any strides (T ≥ 1); h0, c0 [B, H] or undefined (zeros); w_ih
// [G·H, I], w_hh [G·H, H]; b_ih, b_hh [G·H] or undefined; one floating dtype for all. The caller
// has checked all of this. With `cell_step` (T = 1) only h_n (and c_n) are made.
RecurrenceOutputs recurrence(RNNMode mode, const Tensor& x, const Tensor& h0, const Tensor& c0,
                             const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                             const Tensor& b_hh, bool cell_step);

}  // namespace ember::nn::detail
