#pragma once
// EMBER_ARG(T, name): a LibTorch-style option: `opts.name(v)` sets (and returns *this for
// chaining), `opts.name()` reads. Write a default after it: EMBER_ARG(double, eps) = 1e-5;
#define EMBER_ARG(T, name)                  \
 public:                                    \
  auto& name(const T& new_value) {          \
    this->name##_ = new_value;              \
    return *this;                           \
  }                                         \
  const T& name() const { return name##_; } \
                                            \
 private:                                   \
  T name##_
