#pragma once
// Flatten: merges dims start_dim..end_dim into one (a view when the strides allow).
#include "ember/nn/module.h"
#include "ember/nn/options.h"

namespace ember::nn {

struct FlattenOptions {
  EMBER_ARG(int64_t, start_dim) = 1;
  EMBER_ARG(int64_t, end_dim) = -1;
};

class Flatten : public Module {
 public:
  explicit Flatten(FlattenOptions options = {}) : options_(std::move(options)) {}
  Flatten(int64_t start_dim, int64_t end_dim)
      : Flatten(FlattenOptions().start_dim(start_dim).end_dim(end_dim)) {}
  Tensor forward(const Tensor& input) override;
  std::string name() const override { return "Flatten"; }
  std::string extra_repr() const override;
  const FlattenOptions& options() const { return options_; }

 private:
  FlattenOptions options_;
};

}  // namespace ember::nn
