#pragma once
// EMBER_ARG(T, name): a LibTorch-style option: `opts.name(v)` sets (and returns *this for
// chaining), `opts.name()` reads. Write a default after it: EMBER_ARG(double, eps) = 1e-5;
#include <optional>

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

// EMBER_OPTIONAL_ARG(name, has, value): an std::optional<double> option stored as a flag and a
// double. (Copying a disengaged std::optional<double> trips GCC 12's -Wmaybe-uninitialized in
// users' builds; this form never copies one.) Defaults: `has` and `value`.
#define EMBER_OPTIONAL_ARG(name, has, value)                                             \
 public:                                                                                 \
  auto& name(std::optional<double> new_value) {                                          \
    this->name##_has_ = new_value.has_value();                                           \
    this->name##_value_ = new_value.has_value() ? *new_value : 0.0;                      \
    return *this;                                                                        \
  }                                                                                      \
  std::optional<double> name() const {                                                   \
    return name##_has_ ? std::optional<double>(name##_value_) : std::optional<double>(); \
  }                                                                                      \
                                                                                         \
 private:                                                                                \
  bool name##_has_ = has;                                                                \
  double name##_value_ = value
