#pragma once
// Losses: cross_entropy (class indices, class weights, ignore_index, label smoothing), nll_loss
// and mse_loss, as functions and as modules, with reductions "mean" | "sum" | "none".
#include <string>

#include "ember/nn/module.h"
#include "ember/nn/options.h"

namespace ember::nn {

struct CrossEntropyLossOptions {
  // Per-class weights [C] (undefined: all 1).
  EMBER_ARG(Tensor, weight);
  // Targets equal to this contribute nothing (and are left out of the mean's denominator).
  EMBER_ARG(int64_t, ignore_index) = -100;
  EMBER_ARG(std::string, reduction) = "mean";
  // ε in [0, 1]: the target distribution is (1 − ε)·onehot + ε/C.
  EMBER_ARG(double, label_smoothing) = 0.0;
};
using CrossEntropyOptions = CrossEntropyLossOptions;
using CrossEntropyFuncOptions = CrossEntropyLossOptions;

struct NLLLossOptions {
  EMBER_ARG(Tensor, weight);
  EMBER_ARG(int64_t, ignore_index) = -100;
  EMBER_ARG(std::string, reduction) = "mean";
};
using NLLLossFuncOptions = NLLLossOptions;

struct MSELossOptions {
  MSELossOptions(std::string reduction = "mean") : reduction_(std::move(reduction)) {}
  EMBER_ARG(std::string, reduction);
};
using MSELossFuncOptions = MSELossOptions;

namespace functional {
// input: logits [N, C], [N, C, d1, ...] or [C]; target: Int64 class indices [N], [N, d1, ...] or
// []. One fused node: log-sum-exp forward, softmax-minus-target backward, no log_softmax tensor.
// "mean" divides by the summed weights of the non-ignored targets (their count when unweighted).
Tensor cross_entropy(const Tensor& input, const Tensor& target,
                     const CrossEntropyLossOptions& options);
Tensor cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight = {},
                     int64_t ignore_index = -100, const std::string& reduction = "mean",
                     double label_smoothing = 0.0);
// input: log-probabilities, shaped as for cross_entropy. One node.
Tensor nll_loss(const Tensor& input, const Tensor& target, const NLLLossOptions& options);
Tensor nll_loss(const Tensor& input, const Tensor& target, const Tensor& weight = {},
                int64_t ignore_index = -100, const std::string& reduction = "mean");
// (input − target)², reduced; target broadcasts to input (with a warning, like PyTorch). One node.
Tensor mse_loss(const Tensor& input, const Tensor& target, const std::string& reduction = "mean");
inline Tensor mse_loss(const Tensor& input, const Tensor& target, const MSELossOptions& options) {
  return mse_loss(input, target, options.reduction());
}
}  // namespace functional

class CrossEntropyLoss : public Module {
 public:
  explicit CrossEntropyLoss(CrossEntropyLossOptions options = {});
  using Module::forward;  // (throws: a loss needs a target)
  Tensor forward(const Tensor& input, const Tensor& target);
  Tensor operator()(const Tensor& input, const Tensor& target) { return forward(input, target); }
  std::string name() const override { return "CrossEntropyLoss"; }
  const CrossEntropyLossOptions& options() const { return options_; }
  // The class weights buffer ("weight" in the state dict when defined).
  Tensor& weight() { return weight_; }

 private:
  CrossEntropyLossOptions options_;
  Tensor weight_;
};

class NLLLoss : public Module {
 public:
  explicit NLLLoss(NLLLossOptions options = {});
  using Module::forward;  // (throws: a loss needs a target)
  Tensor forward(const Tensor& input, const Tensor& target);
  Tensor operator()(const Tensor& input, const Tensor& target) { return forward(input, target); }
  std::string name() const override { return "NLLLoss"; }
  const NLLLossOptions& options() const { return options_; }
  // The class weights buffer ("weight" in the state dict when defined).
  Tensor& weight() { return weight_; }

 private:
  NLLLossOptions options_;
  Tensor weight_;
};

class MSELoss : public Module {
 public:
  explicit MSELoss(MSELossOptions options = {});
  using Module::forward;  // (throws: a loss needs a target)
  Tensor forward(const Tensor& input, const Tensor& target);
  Tensor operator()(const Tensor& input, const Tensor& target) { return forward(input, target); }
  std::string name() const override { return "MSELoss"; }
  const MSELossOptions& options() const { return options_; }

 private:
  MSELossOptions options_;
};

}  // namespace ember::nn
