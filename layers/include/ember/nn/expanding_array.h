#pragma once
// ExpandingArray<D>: a size option given as one number (used for every spatial dim) or as D
// numbers, like LibTorch's. It remembers which form it was given in, because PyTorch's pooling
// reprs print the value as the user passed it ("kernel_size=2" but "kernel_size=(2, 3)").
#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "ember/error.h"

namespace ember::nn {

template <size_t D>
class ExpandingArray {
 public:
  ExpandingArray(int64_t value) : scalar_(true) { values_.fill(value); }
  ExpandingArray(std::initializer_list<int64_t> values) {
    EMBER_CHECK(values.size() == D, "expected a single integer or ", D, " integers, but got ",
                values.size(), " values");
    std::copy(values.begin(), values.end(), values_.begin());
  }
  ExpandingArray(const std::array<int64_t, D>& values) : values_(values) {}

  int64_t operator[](size_t i) const { return values_[i]; }
  const std::array<int64_t, D>& values() const { return values_; }
  bool is_scalar() const { return scalar_; }
  bool all_equal(int64_t v) const {
    return std::all_of(values_.begin(), values_.end(), [v](int64_t x) { return x == v; });
  }
  // Equal sizes, whatever form they were given in.
  bool operator==(const ExpandingArray& other) const { return values_ == other.values_; }

  // Python's repr of the value as given: "2" or "(2, 3)".
  std::string repr() const { return scalar_ ? std::to_string(values_[0]) : tuple_repr(); }
  // Always a tuple, "(2, 2)": what modules that store tuples (Conv2d) print.
  std::string tuple_repr() const {
    std::string out = "(";
    for (size_t i = 0; i < D; ++i) out += (i ? ", " : "") + std::to_string(values_[i]);
    return out + (D == 1 ? ",)" : ")");
  }

 private:
  std::array<int64_t, D> values_{};
  bool scalar_ = false;
};

}  // namespace ember::nn
