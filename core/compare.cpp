// allclose and max_abs_diff: comparisons for tests, computed in double.
#include <cmath>

#include "ember/tensor.h"

namespace ember {

namespace {
// Both operands broadcast to a common shape, flattened to double.
void as_doubles(const Tensor& a, const Tensor& b, std::vector<double>& x, std::vector<double>& y) {
  const Shape shape = broadcast_shapes(a.sizes(), b.sizes());
  x = a.detach().expand(shape).to_vector<double>();
  y = b.detach().expand(shape).to_vector<double>();
}
}  // namespace

bool allclose(const Tensor& a, const Tensor& b, double rtol, double atol) {
  std::vector<double> x, y;
  as_doubles(a, b, x, y);
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i] == y[i]) continue;  // also equal infinities
    if (!(std::abs(x[i] - y[i]) <= atol + rtol * std::abs(y[i]))) return false;
  }
  return true;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  std::vector<double> x, y;
  as_doubles(a, b, x, y);
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i] == y[i]) continue;
    const double d = std::abs(x[i] - y[i]);
    if (std::isnan(d)) return NAN;
    worst = std::max(worst, d);
  }
  return worst;
}

}  // namespace ember
