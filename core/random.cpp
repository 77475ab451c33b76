// The global random generator behind rand/randn/randint/randperm. Our own uniform and Box-Muller
// transforms (not std::*_distribution, whose output differs between standard libraries) keep a
// seeded run reproducible everywhere. Streams differ from PyTorch's: golden tests pass data in.
#include <cmath>
#include <mutex>
#include <numbers>
#include <random>

#include "core/dispatch.h"
#include "core/tensor_internal.h"
#include "ember/tensor.h"

namespace ember {

namespace {

struct Generator {
  std::mutex mutex;
  std::mt19937_64 engine{0x5eedULL};
  // U[0,1) with 53 random bits.
  double uniform() { return static_cast<double>(engine() >> 11) * 0x1.0p-53; }
};

Generator& generator() {
  static Generator g;
  return g;
}

template <class Sample>
Tensor fill_with(const Shape& shape, DType dtype, Sample sample) {
  Tensor t = detail::new_tensor(shape, dtype);
  auto& g = generator();
  std::lock_guard<std::mutex> lock(g.mutex);
  detail::dispatch(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data_ptr<T>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<T>(sample(g));
  });
  return t;
}

}  // namespace

void manual_seed(uint64_t seed) {
  auto& g = generator();
  std::lock_guard<std::mutex> lock(g.mutex);
  g.engine.seed(seed);
}

Tensor rand(Shape shape, DType dtype) {
  EMBER_CHECK(is_floating(dtype), "rand: expected a floating dtype, got ", dtype);
  // float32 takes 24 random bits: rounding 53 bits to float could give 1.0 (not in [0, 1)).
  return fill_with(shape, dtype, [dtype](Generator& g) {
    return dtype == kFloat32 ? static_cast<double>(g.engine() >> 40) * 0x1.0p-24 : g.uniform();
  });
}

Tensor randn(Shape shape, DType dtype) {
  EMBER_CHECK(is_floating(dtype), "randn: expected a floating dtype, got ", dtype);
  return fill_with(shape, dtype, [](Generator& g) {
    const double u1 = 1.0 - g.uniform();  // (0, 1]: log stays finite
    const double u2 = g.uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  });
}

Tensor randint(int64_t low, int64_t high, Shape shape, DType dtype) {
  EMBER_CHECK(low < high, "randint: expected low < high, got low=", low, ", high=", high);
  const uint64_t range = static_cast<uint64_t>(high - low);
  return fill_with(shape, dtype, [&](Generator& g) {
    return static_cast<double>(low + static_cast<int64_t>(g.engine() % range));
  });
}

Tensor randperm(int64_t n) {
  EMBER_CHECK(n >= 0, "randperm: n must be non-negative, got ", n);
  Tensor t = arange(n, kInt64);
  int64_t* p = t.data_ptr<int64_t>();
  auto& g = generator();
  std::lock_guard<std::mutex> lock(g.mutex);
  for (int64_t i = n - 1; i > 0; --i) std::swap(p[i], p[g.engine() % static_cast<uint64_t>(i + 1)]);
  return t;
}

}  // namespace ember
