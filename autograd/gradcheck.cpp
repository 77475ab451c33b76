// gradcheck: for each output k and each input i that requires grad, compares the analytical
// vector-Jacobian product J_kᵀu_k (one backward with a random u_k) with central differences
// Σ u_k·(f(x+εe_j) − f(x−εe_j))/2ε, element by element.
#include "ember/autograd/gradcheck.h"

#include <cmath>
#include <iomanip>
#include <random>
#include <sstream>

#include "ember/autograd/grad_mode.h"
#include "ember/autograd/node.h"

namespace ember::autograd {

namespace {

struct Worst {
  double excess = -INFINITY;  // |a − n| − (atol + rtol·|n|); > 0 fails
  size_t output = 0, input = 0;
  int64_t index = 0;
  double analytical = 0, numerical = 0;
};

Tensor random_like(const Tensor& t, std::mt19937_64& rng) {
  std::normal_distribution<double> normal;
  std::vector<double> v(t.numel());
  for (double& x : v) x = normal(rng);
  return tensor(v, t.sizes(), kFloat64);
}

std::string index_str(int64_t flat, const Shape& shape) {
  Shape idx(shape.size());
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    idx[d] = flat % std::max<int64_t>(shape[d], 1);
    flat /= std::max<int64_t>(shape[d], 1);
  }
  return shape_str(idx);
}

}  // namespace

GradcheckResult gradcheck(const std::function<std::vector<Tensor>(const std::vector<Tensor>&)>& fn,
                          const std::vector<Tensor>& inputs, GradcheckOptions options) {
  std::vector<size_t> checked;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined() || !inputs[i].requires_grad()) continue;
    EMBER_CHECK(inputs[i].dtype() == kFloat64, "gradcheck: input ", i, " has dtype ",
                inputs[i].dtype(),
                "; gradcheck needs float64 inputs (central differences with "
                "eps=",
                options.eps, " are meaningless in float32). Convert with .to(kFloat64).");
    checked.push_back(i);
  }
  EMBER_CHECK(!checked.empty(), "gradcheck: no input requires grad");

  // Analytical: one vector-Jacobian product per output.
  std::vector<Tensor> outputs;
  {
    std::vector<Tensor> outs = fn(inputs);
    for (const Tensor& o : outs) {
      EMBER_CHECK(o.dtype() == kFloat64, "gradcheck: outputs must be float64, got ", o.dtype());
      outputs.push_back(o);
    }
  }
  std::mt19937_64 rng(options.seed);
  std::vector<Tensor> us;
  for (const Tensor& o : outputs) us.push_back(random_like(o, rng));
  std::vector<Tensor> checked_inputs;
  for (size_t i : checked) checked_inputs.push_back(inputs[i]);
  std::vector<std::vector<std::vector<double>>> analytical(outputs.size());  // [k][i][j]
  for (size_t k = 0; k < outputs.size(); ++k) {
    std::vector<std::vector<double>>& per_input = analytical[k];
    if (!outputs[k].requires_grad()) {
      for (const Tensor& x : checked_inputs) per_input.emplace_back(x.numel(), 0.0);
      continue;
    }
    auto grads = grad({outputs[k]}, checked_inputs, {us[k]}, /*retain_graph=*/true);
    for (size_t i = 0; i < grads.size(); ++i)
      per_input.push_back(grads[i].defined() ? grads[i].to_vector<double>()
                                             : std::vector<double>(checked_inputs[i].numel(), 0.0));
  }

  // Numerical: perturb one element at a time on detached copies.
  NoGradGuard no_grad;
  std::vector<Tensor> work;
  for (const Tensor& x : inputs) work.push_back(x.defined() ? x.detach().clone() : x);
  std::vector<std::vector<double>> u_values;
  for (const Tensor& u : us) u_values.push_back(u.to_vector<double>());
  // <u_k, f_k(work)> for every output, read at once: an output may alias an input's storage.
  auto projections = [&] {
    const std::vector<Tensor> outs = fn(work);
    std::vector<double> out(outs.size());
    for (size_t k = 0; k < outs.size(); ++k) {
      const std::vector<double> y = outs[k].to_vector<double>();
      for (size_t e = 0; e < y.size(); ++e) out[k] += y[e] * u_values[k][e];
    }
    return out;
  };

  Worst worst;
  double max_abs_error = 0;
  for (size_t ci = 0; ci < checked.size(); ++ci) {
    Tensor& x = work[checked[ci]];
    double* p = x.data_ptr<double>();
    for (int64_t j = 0; j < x.numel(); ++j) {
      const double orig = p[j];
      p[j] = orig + options.eps;
      const std::vector<double> plus = projections();
      p[j] = orig - options.eps;
      const std::vector<double> minus = projections();
      p[j] = orig;
      for (size_t k = 0; k < outputs.size(); ++k) {
        const double n = (plus[k] - minus[k]) / (2 * options.eps);
        const double a = analytical[k][ci][j];
        const double error = std::abs(a - n);
        max_abs_error =
            std::isnan(error) || std::isnan(max_abs_error) ? NAN : std::max(max_abs_error, error);
        const double excess = error - (options.atol + options.rtol * std::abs(n));
        if (std::isnan(a) != std::isnan(n) || excess > worst.excess || std::isnan(excess)) {
          worst = {std::isnan(excess) ? INFINITY : excess, k, checked[ci], j, a, n};
        }
      }
    }
  }

  GradcheckResult result;
  result.ok = worst.excess <= 0;
  result.max_abs_error = max_abs_error;
  std::ostringstream report;
  report << std::setprecision(10) << (result.ok ? "gradcheck passed" : "gradcheck FAILED")
         << ": worst element is output " << worst.output << ", input " << worst.input << ", index "
         << index_str(worst.index, inputs[worst.input].sizes()) << ": analytical "
         << worst.analytical << " vs numerical " << worst.numerical << " (|diff| "
         << std::abs(worst.analytical - worst.numerical) << ", allowed "
         << options.atol + options.rtol * std::abs(worst.numerical) << ")";
  result.report = report.str();
  return result;
}

}  // namespace ember::autograd
