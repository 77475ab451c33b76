#pragma once
// Activations: ReLU, GELU (exact erf form or tanh approximation), Tanh, Sigmoid, and the
// Softmax/LogSoftmax modules; functional relu, gelu, softmax and log_softmax.
#include <string>

#include "ember/nn/module.h"
#include "ember/nn/options.h"

namespace ember::nn {

class ReLU : public Module {
 public:
  Tensor forward(const Tensor& input) override;
  std::string name() const override { return "ReLU"; }
};

struct GELUOptions {
  // "none": x·Φ(x) with the exact normal CDF; "tanh": PyTorch's tanh approximation.
  EMBER_ARG(std::string, approximate) = "none";
};

class GELU : public Module {
 public:
  explicit GELU(GELUOptions options = {});
  explicit GELU(const std::string& approximate) : GELU(GELUOptions().approximate(approximate)) {}
  Tensor forward(const Tensor& input) override;
  std::string name() const override { return "GELU"; }
  std::string extra_repr() const override;
  const GELUOptions& options() const { return options_; }

 private:
  GELUOptions options_;
};

class Tanh : public Module {
 public:
  Tensor forward(const Tensor& input) override;
  std::string name() const override { return "Tanh"; }
};

class Sigmoid : public Module {
 public:
  Tensor forward(const Tensor& input) override;
  std::string name() const override { return "Sigmoid"; }
};

class Softmax : public Module {
 public:
  explicit Softmax(int64_t dim) : dim_(dim) {}
  Tensor forward(const Tensor& input) override;
  std::string name() const override { return "Softmax"; }
  std::string extra_repr() const override { return "dim=" + std::to_string(dim_); }
  int64_t dim() const { return dim_; }

 private:
  int64_t dim_;
};

class LogSoftmax : public Module {
 public:
  explicit LogSoftmax(int64_t dim) : dim_(dim) {}
  Tensor forward(const Tensor& input) override;
  std::string name() const override { return "LogSoftmax"; }
  std::string extra_repr() const override { return "dim=" + std::to_string(dim_); }
  int64_t dim() const { return dim_; }

 private:
  int64_t dim_;
};

namespace functional {
Tensor relu(const Tensor& input);
// One node; approximate is "none" or "tanh".
Tensor gelu(const Tensor& input, const std::string& approximate = "none");
// One node each, computed from the row maximum (stable for any logits).
Tensor softmax(const Tensor& input, int64_t dim);
Tensor log_softmax(const Tensor& input, int64_t dim);
}  // namespace functional

}  // namespace ember::nn
