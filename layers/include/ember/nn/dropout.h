#pragma once
// Dropout: in training, zeroes each element with probability p and scales the rest by 1/(1 − p);
// in eval, the identity.
#include "ember/nn/module.h"
#include "ember/nn/options.h"

namespace ember::nn {

struct DropoutOptions {
  DropoutOptions(double p = 0.5) : p_(p) {}
  EMBER_ARG(double, p);
  // Writes the result into the input (only where no graph is recorded through it).
  EMBER_ARG(bool, inplace) = false;
};

class Dropout : public Module {
 public:
  explicit Dropout(DropoutOptions options = {});
  explicit Dropout(double p) : Dropout(DropoutOptions(p)) {}
  Tensor forward(const Tensor& input) override;
  std::string name() const override { return "Dropout"; }
  std::string extra_repr() const override;
  const DropoutOptions& options() const { return options_; }

 private:
  DropoutOptions options_;
};

namespace functional {
// The mask is drawn from ember's generator (manual_seed makes it reproducible).
Tensor dropout(const Tensor& input, double p = 0.5, bool training = true, bool inplace = false);
}  // namespace functional

}  // namespace ember::nn
