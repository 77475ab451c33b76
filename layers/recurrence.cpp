// One recurrent layer over T steps as one autograd node (PyTorch's fused cell kernels, with the
// whole unroll inside one node, as cuDNN's RNN does it).
//
// Forward: the input GEMM for all steps at once, then per step one GEMM h·W_hhᵀ and one fused
// pass over the gates (layers/rnn_gates.cpp). Backward, from the last step to the first: one
// fused pass gives the gates' gradient and one GEMM carries dh to the step before; then GEMMs over
// all steps at once give dx, dW_ih and dW_hh, and column sums the bias gradients.
#include "layers/recurrence.h"

#include <algorithm>
#include <array>
#include <utility>

#include "core/kernels/linalg.h"
#include "ember/autograd/grad_mode.h"
#include "ember/autograd/node.h"
#include "layers/rnn_gates.h"

namespace ember::nn::detail {

namespace {

// The node's inputs, in this order.
enum Input { kX, kH0, kC0, kWih, kWhh, kBih, kBhh, kNumInputs };

const char* node_name(RNNMode mode, bool cell_step) {
  switch (mode) {
    case RNNMode::RnnTanh:
      return cell_step ? "RNNTanhCellBackward" : "RNNTanhLayerBackward";
    case RNNMode::RnnRelu:
      return cell_step ? "RNNReluCellBackward" : "RNNReluLayerBackward";
    case RNNMode::Lstm:
      return cell_step ? "LSTMCellBackward" : "LSTMLayerBackward";
    case RNNMode::Gru:
      return cell_step ? "GRUCellBackward" : "GRULayerBackward";
  }
  return "";
}

template <class T>
T* ptr(const Tensor& t) {
  return const_cast<T*>(t.data_ptr<T>());
}

// Σ over the rows of a contiguous [n, k] matrix (the bias gradients), row by row so the inner
// loop runs along memory.
Tensor column_sums(const Tensor& m) {
  const int64_t n = m.size(0), k = m.size(1);
  Tensor out = zeros({k}, m.dtype());
  auto run = [&](auto tag) {
    using T = decltype(tag);
    const T* src = ptr<T>(m);
    T* acc = ptr<T>(out);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < k; ++j) acc[j] += src[i * k + j];
  };
  if (m.dtype() == kFloat64)
    run(double{});
  else
    run(float{});
  return out;
}

// X·Wᵀ for X [n, in] and W [out, in]: the GEMM reads W transposed in place.
Tensor times_transposed(const Tensor& x, const Tensor& w) { return kernels::mm(x, false, w, true); }

Tensor detached(const Tensor& t) { return t.detach().contiguous(); }

struct Shapes {
  int64_t T, B, I, H, GH, W;
};

// The forward's buffers. ws and cs hold every step only when backward will need them.
struct Buffers {
  Tensor y;       // [T, B, H]
  Tensor cs;      // LSTM: [T, B, H] (or 2 alternating steps)
  Tensor ws;      // [T, B, W] (or 1 step)
  Tensor h0, c0;  // the initial states used (zeros when not given)
};

template <class T>
void forward_steps(RNNMode mode, const Shapes& s, const Tensor& x, const Tensor& w_ih,
                   const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh, bool has_h0,
                   bool keep, Buffers& buf) {
  const int64_t B = s.B, H = s.H, GH = s.GH;
  const bool lstm = mode == RNNMode::Lstm;
  const DType dt = x.dtype();
  const Tensor bi = b_ih.defined() ? detached(b_ih) : zeros({GH}, dt);
  const Tensor bh = b_hh.defined() ? detached(b_hh) : zeros({GH}, dt);
  auto c_slot = [&](int64_t t) { return ptr<T>(buf.cs) + (keep ? t : t % 2) * B * H; };

  const Tensor wih = detached(w_ih), whh = detached(w_hh);
  const Tensor gx = times_transposed(detached(x).view({s.T * B, s.I}), wih);
  for (int64_t t = 0; t < s.T; ++t) {
    const Tensor h_prev = t == 0 ? buf.h0 : buf.y.select(0, t - 1);
    // Without h0 the first step's h·W_hhᵀ is zero: no GEMM.
    const Tensor gh = t == 0 && !has_h0 ? zeros({B, GH}, dt) : times_transposed(h_prev, whh);
    GatesForward<T> a{};
    a.gx = ptr<T>(gx) + t * B * GH;
    a.gh = ptr<T>(gh);
    a.b_ih = ptr<T>(bi);
    a.b_hh = ptr<T>(bh);
    a.h_prev = ptr<T>(h_prev);
    a.h_new = ptr<T>(buf.y) + t * B * H;
    if (lstm) {
      a.c_prev = t == 0 ? ptr<T>(buf.c0) : c_slot(t - 1);
      a.c_new = c_slot(t);
    }
    if (s.W > 0) a.ws = ptr<T>(buf.ws) + (keep ? t : 0) * B * s.W;
    gates_forward<T>(mode, B, H, a);
  }
}

class RecurrenceNode : public autograd::Node {
 public:
  RecurrenceNode(RNNMode mode, bool cell_step, const Shapes& shapes,
                 const std::array<bool, kNumInputs>& needs)
      : mode_(mode), cell_step_(cell_step), s_(shapes), needs_(needs) {}

  // Version-checked where the values are also reachable from outside: the inputs, and y and cs,
  // which share storage with the outputs.
  autograd::SavedTensor x, h0, c0, w_ih, w_hh, y, cs;
  Tensor h0_zeros, c0_zeros, ws;  // internal: nothing else can write them

  std::string name() const override { return node_name(mode_, cell_step_); }
  void release() override {
    x = h0 = c0 = w_ih = w_hh = y = cs = autograd::SavedTensor();
    h0_zeros = c0_zeros = ws = Tensor();
  }

  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    size_t k = 0;
    const Tensor dy = cell_step_ ? Tensor() : grads.at(k++).contiguous();
    const Tensor dh_n = grads.at(k++).contiguous();
    const Tensor dc_n = mode_ == RNNMode::Lstm ? grads.at(k++).contiguous() : Tensor();
    if (dh_n.dtype() == kFloat64) return backward<double>(dy, dh_n, dc_n);
    return backward<float>(dy, dh_n, dc_n);
  }

 private:
  template <class T>
  std::vector<Tensor> backward(const Tensor& dy, const Tensor& dh_n, const Tensor& dc_n);

  RNNMode mode_;
  bool cell_step_;
  Shapes s_;
  std::array<bool, kNumInputs> needs_;
};

template <class T>
std::vector<Tensor> RecurrenceNode::backward(const Tensor& dy, const Tensor& dh_n,
                                             const Tensor& dc_n) {
  const std::string nm = name();
  const Tensor xs = x.unpack(nm), wih = w_ih.unpack(nm), whh = w_hh.unpack(nm), ys = y.unpack(nm);
  const Tensor hp0 = h0.defined() ? detached(h0.unpack(nm)) : h0_zeros;
  const bool lstm = mode_ == RNNMode::Lstm, gru = mode_ == RNNMode::Gru;
  const Tensor cs_all = lstm ? cs.unpack(nm) : Tensor();
  const Tensor cp0 = !lstm ? Tensor() : c0.defined() ? detached(c0.unpack(nm)) : c0_zeros;
  const int64_t steps = s_.T, B = s_.B, H = s_.H, GH = s_.GH;
  const DType dt = dh_n.dtype();

  // d(gates) of every step; a GRU's hh side differs from its ih side in the n gate.
  const Tensor dgi = empty({steps, B, GH}, dt);
  const Tensor dgh = gru ? empty({steps, B, GH}, dt) : dgi;
  Tensor dh_carry = dh_n;  // dL/dh_t from the steps after t
  Tensor dh = dy.defined() ? empty({B, H}, dt) : Tensor();
  Tensor dc = lstm ? dc_n.clone() : Tensor(), dc_prev = lstm ? empty({B, H}, dt) : Tensor();
  const Tensor dh_direct = gru ? empty({B, H}, dt) : Tensor();
  for (int64_t t = steps - 1; t >= 0; --t) {
    GatesBackward<T> a{};
    if (dy.defined()) {  // the output's gradient at step t joins the carried one
      const T* g = ptr<T>(dy) + t * B * H;
      const T* c = ptr<T>(dh_carry);
      T* d = ptr<T>(dh);
      for (int64_t e = 0; e < B * H; ++e) d[e] = g[e] + c[e];
      a.dh = d;
    } else {
      a.dh = ptr<T>(dh_carry);
    }
    a.ws = ws.defined() ? ptr<T>(ws) + t * B * s_.W : nullptr;
    a.h_prev = t == 0 ? ptr<T>(hp0) : ptr<T>(ys) + (t - 1) * B * H;
    a.h_new = ptr<T>(ys) + t * B * H;
    if (lstm) {
      a.dc = ptr<T>(dc);
      a.c_prev = t == 0 ? ptr<T>(cp0) : ptr<T>(cs_all) + (t - 1) * B * H;
      a.c_new = ptr<T>(cs_all) + t * B * H;
      a.dc_prev = ptr<T>(dc_prev);
    }
    a.dgates_ih = ptr<T>(dgi) + t * B * GH;
    a.dgates_hh = ptr<T>(dgh) + t * B * GH;
    a.dh_prev = gru ? ptr<T>(dh_direct) : nullptr;
    gates_backward<T>(mode_, B, H, a);
    if (t > 0 || needs_[kH0]) {
      dh_carry = kernels::mm(dgh.select(0, t), whh);
      if (gru) dh_carry.add_(dh_direct);
    }
    if (lstm) std::swap(dc, dc_prev);
  }

  std::vector<Tensor> grads(kNumInputs);
  const Tensor dgi2 = dgi.view({steps * B, GH});
  const Tensor dgh2 = dgh.view({steps * B, GH});
  if (needs_[kX]) grads[kX] = kernels::mm(dgi2, wih).view({steps, B, s_.I});
  if (needs_[kH0]) grads[kH0] = dh_carry;
  if (needs_[kC0]) grads[kC0] = dc;  // swapped: dc now holds dL/dc_0
  // dW = Σ_t d(gates)_tᵀ·input_t: the GEMM reads d(gates) transposed in place.
  if (needs_[kWih])
    grads[kWih] = kernels::mm(dgi2, true, detached(xs).view({steps * B, s_.I}), false);
  if (needs_[kWhh]) {
    // Σ_t d(gates)_tᵀ·h_{t−1} as one GEMM against [h0; y_0 … y_{T−2}].
    const Tensor& dgh_w = gru ? dgh2 : dgi2;  // the LSTM's two gate gradients are one
    if (steps == 1 && !h0.defined()) {
      grads[kWhh] = zeros({GH, H}, dt);  // h0 = 0
    } else {
      const Tensor h_prev =
          steps == 1 ? hp0 : cat({hp0.unsqueeze(0), ys.slice(0, 0, steps - 1)}, 0);
      grads[kWhh] = kernels::mm(dgh_w, true, h_prev.view({steps * B, H}), false);
    }
  }
  if (needs_[kBih]) grads[kBih] = column_sums(dgi2);
  if (needs_[kBhh]) grads[kBhh] = gru || !needs_[kBih] ? column_sums(dgh2) : grads[kBih];
  return grads;
}

// The forward pass proper: fills `buf` and makes the outputs, recording nothing.
RecurrenceOutputs run_forward(RNNMode mode, const Shapes& s, const Tensor& x, const Tensor& h0,
                              const Tensor& c0, const Tensor& w_ih, const Tensor& w_hh,
                              const Tensor& b_ih, const Tensor& b_hh, bool cell_step, bool keep,
                              Buffers& buf) {
  NoGradGuard no_grad;
  const bool lstm = mode == RNNMode::Lstm;
  const DType dt = x.dtype();
  buf.h0 = h0.defined() ? detached(h0) : zeros({s.B, s.H}, dt);
  if (lstm) buf.c0 = c0.defined() ? detached(c0) : zeros({s.B, s.H}, dt);
  buf.y = empty({s.T, s.B, s.H}, dt);
  if (lstm) buf.cs = empty({keep ? s.T : std::min<int64_t>(s.T, 2), s.B, s.H}, dt);
  if (s.W > 0) buf.ws = empty({keep ? s.T : 1, s.B, s.W}, dt);
  if (dt == kFloat64)
    forward_steps<double>(mode, s, x, w_ih, w_hh, b_ih, b_hh, h0.defined(), keep, buf);
  else
    forward_steps<float>(mode, s, x, w_ih, w_hh, b_ih, b_hh, h0.defined(), keep, buf);

  RecurrenceOutputs out;
  if (cell_step) {  // T = 1: the outputs are views of the only step's buffers
    out.h_n = buf.y.view({s.B, s.H});
    if (lstm) out.c_n = buf.cs.view({s.B, s.H});
  } else {
    out.output = buf.y;
    out.h_n = buf.y.select(0, s.T - 1).clone();
    if (lstm) out.c_n = buf.cs.select(0, keep ? s.T - 1 : (s.T - 1) % 2).clone();
  }
  return out;
}

}  // namespace

RecurrenceOutputs recurrence(RNNMode mode, const Tensor& x, const Tensor& h0, const Tensor& c0,
                             const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                             const Tensor& b_hh, bool cell_step) {
  const bool lstm = mode == RNNMode::Lstm;
  const bool keep = autograd::any_requires_grad({x, h0, c0, w_ih, w_hh, b_ih, b_hh});
  Shapes s{x.size(0), x.size(1), x.size(2), w_hh.size(1), 0, 0};
  s.GH = gate_count(mode) * s.H;
  s.W = workspace_width(mode) * s.H;
  Buffers buf;
  RecurrenceOutputs out =
      run_forward(mode, s, x, h0, c0, w_ih, w_hh, b_ih, b_hh, cell_step, keep, buf);
  if (!keep) return out;

  std::array<bool, kNumInputs> needs{};
  const Tensor* inputs[kNumInputs] = {&x, &h0, &c0, &w_ih, &w_hh, &b_ih, &b_hh};
  for (int i = 0; i < kNumInputs; ++i)
    needs[i] = inputs[i]->defined() && inputs[i]->requires_grad();
  auto node = std::make_shared<RecurrenceNode>(mode, cell_step, s, needs);
  node->x = autograd::SavedTensor(x);
  node->w_ih = autograd::SavedTensor(w_ih);
  node->w_hh = autograd::SavedTensor(w_hh);
  node->y = autograd::SavedTensor(buf.y);
  if (h0.defined())
    node->h0 = autograd::SavedTensor(h0);
  else
    node->h0_zeros = buf.h0;
  if (lstm) {
    node->cs = autograd::SavedTensor(buf.cs);
    if (c0.defined())
      node->c0 = autograd::SavedTensor(c0);
    else
      node->c0_zeros = buf.c0;
  }
  node->ws = buf.ws;
  std::vector<Tensor*> outputs;
  if (!cell_step) outputs.push_back(&out.output);
  outputs.push_back(&out.h_n);
  if (lstm) outputs.push_back(&out.c_n);
  autograd::record(node, {x, h0, c0, w_ih, w_hh, b_ih, b_hh}, outputs);
  return out;
}

}  // namespace ember::nn::detail
