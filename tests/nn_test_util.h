#pragma once
// Helpers shared by the nn test suites: catching ember::Error texts and snapshotting a module's
// whole state, so a test can prove that a failed call changed nothing.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "ember/ember.h"

namespace ember::test_util {

// The what() of the ember::Error that f throws; a marker text otherwise, so a missing or foreign
// exception shows up in the failure message instead of aborting the test.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("(not an ember::Error: ") + e.what() + ")";
  }
  return "(no error)";
}

inline std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }

// One state_dict entry, copied out (state_dict values share storage with the module).
struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  std::vector<double> data;
};

inline std::vector<Entry> snapshot(const nn::Module& module) {
  std::vector<Entry> out;
  for (const auto& [name, t] : module.state_dict()) {
    out.push_back({name, t.dtype(), t.sizes(), values(t)});
  }
  return out;
}

// Bitwise equality of the copied values, so NaN == NaN and -0.0 != 0.0.
inline void expect_same_state(const std::vector<Entry>& before, const std::vector<Entry>& after) {
  ASSERT_EQ(before.size(), after.size());
  for (size_t i = 0; i < before.size(); ++i) {
    SCOPED_TRACE(before[i].name);
    EXPECT_EQ(before[i].name, after[i].name);
    EXPECT_EQ(before[i].dtype, after[i].dtype);
    EXPECT_EQ(before[i].shape, after[i].shape);
    ASSERT_EQ(before[i].data.size(), after[i].data.size());
    EXPECT_EQ(0, std::memcmp(before[i].data.data(), after[i].data.data(),
                             before[i].data.size() * sizeof(double)))
        << "values changed";
  }
}

// Forces a normalization backend for one test and restores Auto afterwards, even on failure.
struct BackendScope {
  explicit BackendScope(nn::NormBackend backend) { nn::set_norm_backend(backend); }
  ~BackendScope() { nn::set_norm_backend(nn::NormBackend::Auto); }
  BackendScope(const BackendScope&) = delete;
  BackendScope& operator=(const BackendScope&) = delete;
};

}  // namespace ember::test_util
