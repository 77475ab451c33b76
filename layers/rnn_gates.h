#pragma once
// Internal: the pointwise half of one recurrent step, fused into one pass over the gates, forward
// and backward side by side (the GEMMs around it live in layers/recurrence.cpp).
//
// Layouts, all row-major and contiguous, B rows (the batch), H the hidden size, G the gate count:
//   gx, gh  [B, G·H]  x·W_ihᵀ and h·W_hhᵀ, without biases, gates in PyTorch's order
//   b_ih, b_hh [G·H]  never null (zeros when the layer has no bias)
//   h, c    [B, H]
//   ws      [B, workspace_width(mode)·H]  what backward needs besides h and c:
//           LSTM the activated gates i, f, g, o; GRU r, z, n and W_hn h + b_hn; RNN nothing.
#include <cstdint>

#include "ember/nn/rnn.h"

namespace ember::nn::detail {

int64_t gate_count(RNNMode mode);       // 1, 1, 4, 3
int64_t workspace_width(RNNMode mode);  // 0, 0, 4, 4

template <class T>
struct GatesForward {
  const T* gx;
  const T* gh;
  const T* b_ih;
  const T* b_hh;
  const T* h_prev;
  const T* c_prev;  // LSTM only
  T* h_new;
  T* c_new;  // LSTM only
  T* ws;
};

template <class T>
struct GatesBackward {
  const T* dh;  // gradient of h_new (all of it: the output's and the next step's)
  const T* dc;  // LSTM: gradient of c_new
  const T* ws;
  const T* h_prev;  // GRU
  const T* h_new;   // RNN
  const T* c_prev;  // LSTM
  const T* c_new;   // LSTM
  T* dgates_ih;     // [B, G·H] gradient of x·W_ihᵀ + b_ih
  T* dgates_hh;     // GRU only (it differs in the n gate); for the others dgates_ih serves both
  T* dh_prev;       // GRU: the part of dh_prev that bypasses W_hh (dh ⊙ z)
  T* dc_prev;       // LSTM
};

template <class T>
void gates_forward(RNNMode mode, int64_t B, int64_t H, const GatesForward<T>& a);
template <class T>
void gates_backward(RNNMode mode, int64_t B, int64_t H, const GatesBackward<T>& a);

}  // namespace ember::nn::detail
