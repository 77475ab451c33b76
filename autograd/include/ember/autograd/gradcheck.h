#pragma once
// gradcheck: compares autograd's gradients with central finite differences in float64.
#include <functional>
#include <string>
#include <vector>

#include "ember/tensor.h"

namespace ember::autograd {

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-5;
  double rtol = 1e-3;
  uint64_t seed = 0;  // for the random grad_outputs
};

struct GradcheckResult {
  bool ok = false;
  std::string report;  // names the worst element: output, input, index, analytical vs numerical
  // The largest |analytical − numerical| over every element checked (NaN if either was NaN).
  double max_abs_error = 0;
  explicit operator bool() const { return ok; }
};

// fn maps the inputs to one or more outputs. Every output is checked against every input that
// requires grad, using random grad_outputs (never sum(): through a norm its gradient is ~0).
// Inputs must be Float64 (float32 cannot resolve eps = 1e-6): anything else throws ember::Error.
GradcheckResult gradcheck(const std::function<std::vector<Tensor>(const std::vector<Tensor>&)>& fn,
                          const std::vector<Tensor>& inputs, GradcheckOptions options = {});

}  // namespace ember::autograd
