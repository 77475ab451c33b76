// Class-index losses over rows (see cross_entropy.h). Rows are independent, so they split
// across threads without synchronization; the totals are reduced once at the end.
#include "layers/kernels/native/cross_entropy.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/dispatch.h"
#include "core/parallel.h"

namespace ember::nn::kernels::native {

namespace {

constexpr int64_t kParallelGrain = 32768;

// Class weights as doubles (all 1 without a weight tensor), and their sum.
std::vector<double> class_weights(const Tensor& weight, int64_t C) {
  if (!weight.defined()) return std::vector<double>(C, 1.0);
  return weight.contiguous().to_vector<double>();
}

template <class T>
void ce_forward(const T* x, const int64_t* target, const std::vector<double>& w, int64_t M,
                int64_t C, int64_t ignore_index, double eps, T* losses, double* lse, double& total,
                double& total_weight) {
  double sum_w = 0;
  for (double v : w) sum_w += v;
  std::vector<double> row_loss(M, 0.0);  // in double, so the totals lose nothing to rounding
  ember::detail::parallel_for(M, M * C >= kParallelGrain, [&](int64_t i) {
    const T* row = x + i * C;
    const int64_t t = target[i];
    if (t == ignore_index) {
      losses[i] = T(0);
      lse[i] = 0;
      return;
    }
    double m = -std::numeric_limits<double>::infinity();
    for (int64_t c = 0; c < C; ++c) m = std::max<double>(m, row[c]);
    double s = 0, wx = 0;
    for (int64_t c = 0; c < C; ++c) {
      s += std::exp(static_cast<double>(row[c]) - m);
      wx += w[c] * row[c];
    }
    const double l = m + std::log(s);
    double loss = (1.0 - eps) * w[t] * (l - row[t]);
    if (eps > 0) loss += eps / static_cast<double>(C) * (l * sum_w - wx);  // Σ w_c(lse − x_c)
    lse[i] = l;
    losses[i] = static_cast<T>(loss);
    row_loss[i] = loss;
  });
  total = total_weight = 0;
  for (int64_t i = 0; i < M; ++i) {
    if (target[i] == ignore_index) continue;
    total += row_loss[i];
    total_weight += w[target[i]];
  }
}

template <class T>
void ce_backward(const T* x, const int64_t* target, const std::vector<double>& w, const double* lse,
                 const double* coef, int64_t M, int64_t C, int64_t ignore_index, double eps,
                 T* dx) {
  double sum_w = 0;
  for (double v : w) sum_w += v;
  const double spread = eps / static_cast<double>(C);
  ember::detail::parallel_for(M, M * C >= kParallelGrain, [&](int64_t i) {
    T* out = dx + i * C;
    const int64_t t = target[i];
    if (t == ignore_index) {
      std::fill(out, out + C, T(0));
      return;
    }
    const T* row = x + i * C;
    const double hard = coef[i] * (1.0 - eps) * w[t];  // weight of (p − onehot)
    const double soft = coef[i] * spread;              // weight of (p·Σw − w)
    for (int64_t c = 0; c < C; ++c) {
      const double p = std::exp(static_cast<double>(row[c]) - lse[i]);
      out[c] = static_cast<T>(hard * p + soft * (p * sum_w - w[c]));
    }
    out[t] = static_cast<T>(out[t] - hard);
  });
}

}  // namespace

ClassLossForward cross_entropy_forward(const Tensor& x, const Tensor& target, const Tensor& weight,
                                       int64_t ignore_index, double smoothing) {
  const int64_t M = x.size(0), C = x.size(1);
  ClassLossForward f;
  f.losses = empty({M}, x.dtype());
  f.lse = empty({M}, kFloat64);
  const std::vector<double> w = class_weights(weight, C);
  ember::detail::dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    ce_forward<T>(x.data_ptr<T>(), target.data_ptr<int64_t>(), w, M, C, ignore_index, smoothing,
                  f.losses.data_ptr<T>(), f.lse.data_ptr<double>(), f.total, f.total_weight);
  });
  return f;
}

Tensor cross_entropy_backward(const Tensor& x, const Tensor& target, const Tensor& weight,
                              const Tensor& lse, int64_t ignore_index, double smoothing,
                              const Tensor& coef) {
  const int64_t M = x.size(0), C = x.size(1);
  Tensor dx = empty({M, C}, x.dtype());
  const std::vector<double> w = class_weights(weight, C);
  ember::detail::dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    ce_backward<T>(x.data_ptr<T>(), target.data_ptr<int64_t>(), w, lse.data_ptr<double>(),
                   coef.data_ptr<double>(), M, C, ignore_index, smoothing, dx.data_ptr<T>());
  });
  return dx;
}

ClassLossForward nll_loss_forward(const Tensor& x, const Tensor& target, const Tensor& weight,
                                  int64_t ignore_index) {
  const int64_t M = x.size(0), C = x.size(1);
  ClassLossForward f;
  f.losses = empty({M}, x.dtype());
  const std::vector<double> w = class_weights(weight, C);
  const int64_t* t = target.data_ptr<int64_t>();
  ember::detail::dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data_ptr<T>();
    T* losses = f.losses.data_ptr<T>();
    for (int64_t i = 0; i < M; ++i) {
      if (t[i] == ignore_index) {
        losses[i] = T(0);
        continue;
      }
      const double loss = -w[t[i]] * px[i * C + t[i]];
      losses[i] = static_cast<T>(loss);
      f.total += loss;
      f.total_weight += w[t[i]];
    }
  });
  return f;
}

Tensor nll_loss_backward(const Shape& x_shape, DType dtype, const Tensor& target,
                         const Tensor& weight, int64_t ignore_index, const Tensor& coef) {
  const int64_t M = x_shape[0], C = x_shape[1];
  Tensor dx = zeros({M, C}, dtype);
  const std::vector<double> w = class_weights(weight, C);
  const int64_t* t = target.data_ptr<int64_t>();
  const double* k = coef.data_ptr<double>();
  ember::detail::dispatch_floating(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* out = dx.data_ptr<T>();
    for (int64_t i = 0; i < M; ++i)
      if (t[i] != ignore_index) out[i * C + t[i]] = static_cast<T>(-w[t[i]] * k[i]);
  });
  return dx;
}

}  // namespace ember::nn::kernels::native
