// The fused gate math of one recurrent step (PyTorch's _thnn_fused_lstm_cell / _gru_cell and their
// backwards, plus the plain RNN), one pass per step over [B, H] with every gate of an element in
// registers. The float path uses exp/tanh approximations made of plain arithmetic, so GCC
// vectorizes the whole loop (a libm call per element would cost more than the step's GEMMs).
#include "layers/rnn_gates.h"

#include <bit>
#include <cmath>

namespace ember::nn::detail {

namespace {

// Cephes' expf: x = n·ln2 + r with |r| ≤ ln2/2, e^r by a degree-6 polynomial, 2^n from the
// exponent bits; within 2 ulp of expf. The input is clamped to where 2^n is a normal float.
inline float exp_approx(float x) {
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);  // (std::fmin/fmax do not vectorize)
  // Adding 1.5·2^23 rounds x·log2(e) to an integer held in the low mantissa bits.
  constexpr float kRound = 12582912.0f;
  const float t = x * 1.44269504088896341f + kRound;
  const int32_t n = std::bit_cast<int32_t>(t) - std::bit_cast<int32_t>(kRound);
  const float fn = t - kRound;
  float r = x - fn * 0.693359375f;  // ln 2 split in two so that fn·hi is exact
  r = r - fn * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  return p * std::bit_cast<float>((n + 127) << 23);
}

inline float sigmoid(float x) { return 1.0f / (1.0f + exp_approx(-x)); }
inline double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// 1 − 2/(e^{2|x|} + 1) loses its relative accuracy as x → 0; below 1/4 the odd Taylor series to
// x⁹ is exact to float precision (the next term is < 1e-8 relative).
inline float tanh_approx(float x) {
  const float ax = std::fabs(x);
  const float big = 1.0f - 2.0f / (exp_approx(2.0f * ax) + 1.0f);
  const float x2 = x * x;
  const float small =
      x + x * x2 * (-1.0f / 3 + x2 * (2.0f / 15 + x2 * (-17.0f / 315 + x2 * (62.0f / 2835))));
  return ax < 0.25f ? small : std::copysign(big, x);
}
inline float tanh_(float x) { return tanh_approx(x); }
inline double tanh_(double x) { return std::tanh(x); }

// The pre-activation of gate element k: PyTorch adds the biases to each GEMM's result
// (addmm), then the two.
template <class T>
inline T gate(const T* gx, const T* gh, const T* b_ih, const T* b_hh, int64_t k) {
  return (gx[k] + b_ih[k]) + (gh[k] + b_hh[k]);
}

// The buffers of one step never overlap, but with a dozen pointers GCC's run-time alias checks
// exceed its limit and it leaves the loop scalar; this tells it the iterations are independent.
#if defined(__clang__)
#define EMBER_NO_ALIAS _Pragma("clang loop vectorize(assume_safety)")
#elif defined(__GNUC__)
#define EMBER_NO_ALIAS _Pragma("GCC ivdep")
#else
#define EMBER_NO_ALIAS
#endif

template <class T>
void rnn_forward(bool relu, int64_t B, int64_t H, const GatesForward<T>& a) {
  for (int64_t b = 0; b < B; ++b) {
    const T* gx = a.gx + b * H;
    const T* gh = a.gh + b * H;
    T* hn = a.h_new + b * H;
    if (relu) {
      EMBER_NO_ALIAS
      for (int64_t j = 0; j < H; ++j) {
        const T pre = gate(gx, gh, a.b_ih, a.b_hh, j);
        hn[j] = pre > T(0) ? pre : T(0);
      }
    } else {
      EMBER_NO_ALIAS
      for (int64_t j = 0; j < H; ++j) hn[j] = tanh_(gate(gx, gh, a.b_ih, a.b_hh, j));
    }
  }
}

template <class T>
void rnn_backward(bool relu, int64_t B, int64_t H, const GatesBackward<T>& a) {
  for (int64_t b = 0; b < B; ++b) {
    const T* dh = a.dh + b * H;
    const T* h = a.h_new + b * H;
    T* dg = a.dgates_ih + b * H;
    if (relu) {  // PyTorch's threshold_backward: no gradient where the output is 0
      EMBER_NO_ALIAS
      for (int64_t j = 0; j < H; ++j) dg[j] = h[j] > T(0) ? dh[j] : T(0);
    } else {
      EMBER_NO_ALIAS
      for (int64_t j = 0; j < H; ++j) dg[j] = dh[j] * (T(1) - h[j] * h[j]);
    }
  }
}

// i, f, g, o = σ, σ, tanh, σ of the gates; c' = f·c + i·g; h' = o·tanh(c').
template <class T>
void lstm_forward(int64_t B, int64_t H, const GatesForward<T>& a) {
  const int64_t GH = 4 * H;
  for (int64_t b = 0; b < B; ++b) {
    const T* gx = a.gx + b * GH;
    const T* gh = a.gh + b * GH;
    const T* cp = a.c_prev + b * H;
    T* hn = a.h_new + b * H;
    T* cn = a.c_new + b * H;
    T* ws = a.ws + b * GH;
    EMBER_NO_ALIAS
    for (int64_t j = 0; j < H; ++j) {
      const T i = sigmoid(gate(gx, gh, a.b_ih, a.b_hh, 0 * H + j));
      const T f = sigmoid(gate(gx, gh, a.b_ih, a.b_hh, 1 * H + j));
      const T g = tanh_(gate(gx, gh, a.b_ih, a.b_hh, 2 * H + j));
      const T o = sigmoid(gate(gx, gh, a.b_ih, a.b_hh, 3 * H + j));
      const T c = f * cp[j] + i * g;
      cn[j] = c;
      hn[j] = o * tanh_(c);
      ws[j] = i;
      ws[H + j] = f;
      ws[2 * H + j] = g;
      ws[3 * H + j] = o;
    }
  }
}

// tanh(c') is recomputed rather than saved (as PyTorch does): one more pass of arithmetic is
// cheaper than another [T, B, H] buffer.
template <class T>
void lstm_backward(int64_t B, int64_t H, const GatesBackward<T>& a) {
  const int64_t GH = 4 * H;
  for (int64_t b = 0; b < B; ++b) {
    const T* dh = a.dh + b * H;
    const T* dc = a.dc + b * H;
    const T* ws = a.ws + b * GH;
    const T* cp = a.c_prev + b * H;
    const T* cn = a.c_new + b * H;
    T* dg = a.dgates_ih + b * GH;
    T* dcp = a.dc_prev + b * H;
    EMBER_NO_ALIAS
    for (int64_t j = 0; j < H; ++j) {
      const T i = ws[j], f = ws[H + j], g = ws[2 * H + j], o = ws[3 * H + j];
      const T tc = tanh_(cn[j]);
      const T dct = dc[j] + dh[j] * o * (T(1) - tc * tc);  // all of dL/dc'
      dg[j] = dct * g * i * (T(1) - i);
      dg[H + j] = dct * cp[j] * f * (T(1) - f);
      dg[2 * H + j] = dct * i * (T(1) - g * g);
      dg[3 * H + j] = dh[j] * tc * o * (T(1) - o);
      dcp[j] = dct * f;
    }
  }
}

// r, z = σ(gates); n = tanh(x_n + b_in + r ⊙ (W_hn h + b_hn)); h' = n + z ⊙ (h − n).
template <class T>
void gru_forward(int64_t B, int64_t H, const GatesForward<T>& a) {
  const int64_t GH = 3 * H;
  for (int64_t b = 0; b < B; ++b) {
    const T* gx = a.gx + b * GH;
    const T* gh = a.gh + b * GH;
    const T* hp = a.h_prev + b * H;
    T* hn = a.h_new + b * H;
    T* ws = a.ws + b * 4 * H;
    EMBER_NO_ALIAS
    for (int64_t j = 0; j < H; ++j) {
      const T r = sigmoid(gate(gx, gh, a.b_ih, a.b_hh, j));
      const T z = sigmoid(gate(gx, gh, a.b_ih, a.b_hh, H + j));
      const T hn_pre = gh[2 * H + j] + a.b_hh[2 * H + j];
      const T n = tanh_((gx[2 * H + j] + a.b_ih[2 * H + j]) + r * hn_pre);
      hn[j] = n + z * (hp[j] - n);
      ws[j] = r;
      ws[H + j] = z;
      ws[2 * H + j] = n;
      ws[3 * H + j] = hn_pre;
    }
  }
}

template <class T>
void gru_backward(int64_t B, int64_t H, const GatesBackward<T>& a) {
  const int64_t GH = 3 * H;
  for (int64_t b = 0; b < B; ++b) {
    const T* dh = a.dh + b * H;
    const T* ws = a.ws + b * 4 * H;
    const T* hp = a.h_prev + b * H;
    T* dgi = a.dgates_ih + b * GH;
    T* dgh = a.dgates_hh + b * GH;
    T* dhp = a.dh_prev + b * H;
    EMBER_NO_ALIAS
    for (int64_t j = 0; j < H; ++j) {
      const T r = ws[j], z = ws[H + j], n = ws[2 * H + j], hn_pre = ws[3 * H + j];
      const T dn = dh[j] * (T(1) - z) * (T(1) - n * n);  // of n's pre-activation
      const T dz = dh[j] * (hp[j] - n) * z * (T(1) - z);
      const T dr = dn * hn_pre * r * (T(1) - r);
      dgi[j] = dr;
      dgi[H + j] = dz;
      dgi[2 * H + j] = dn;
      dgh[j] = dr;
      dgh[H + j] = dz;
      dgh[2 * H + j] = dn * r;
      dhp[j] = dh[j] * z;
    }
  }
}

}  // namespace

int64_t gate_count(RNNMode mode) {
  switch (mode) {
    case RNNMode::Lstm:
      return 4;
    case RNNMode::Gru:
      return 3;
    default:
      return 1;
  }
}

int64_t workspace_width(RNNMode mode) {
  return mode == RNNMode::Lstm || mode == RNNMode::Gru ? 4 : 0;
}

template <class T>
void gates_forward(RNNMode mode, int64_t B, int64_t H, const GatesForward<T>& a) {
  switch (mode) {
    case RNNMode::RnnTanh:
    case RNNMode::RnnRelu:
      return rnn_forward(mode == RNNMode::RnnRelu, B, H, a);
    case RNNMode::Lstm:
      return lstm_forward(B, H, a);
    case RNNMode::Gru:
      return gru_forward(B, H, a);
  }
}

template <class T>
void gates_backward(RNNMode mode, int64_t B, int64_t H, const GatesBackward<T>& a) {
  switch (mode) {
    case RNNMode::RnnTanh:
    case RNNMode::RnnRelu:
      return rnn_backward(mode == RNNMode::RnnRelu, B, H, a);
    case RNNMode::Lstm:
      return lstm_backward(B, H, a);
    case RNNMode::Gru:
      return gru_backward(B, H, a);
  }
}

template void gates_forward<float>(RNNMode, int64_t, int64_t, const GatesForward<float>&);
template void gates_forward<double>(RNNMode, int64_t, int64_t, const GatesForward<double>&);
template void gates_backward<float>(RNNMode, int64_t, int64_t, const GatesBackward<float>&);
template void gates_backward<double>(RNNMode, int64_t, int64_t, const GatesBackward<double>&);

}  // namespace ember::nn::detail
