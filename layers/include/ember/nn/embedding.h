#pragma once
// Embedding: a lookup table of num_embeddings rows of size embedding_dim, indexed by Int64
// tensors of any shape.
#include <optional>

#include "ember/nn/module.h"
#include "ember/nn/options.h"

namespace ember::nn {

struct EmbeddingOptions {
  EmbeddingOptions(int64_t num_embeddings, int64_t embedding_dim)
      : num_embeddings_(num_embeddings), embedding_dim_(embedding_dim) {}
  EMBER_ARG(int64_t, num_embeddings);
  EMBER_ARG(int64_t, embedding_dim);
  // The row that gets no gradient (and is initialized to zeros); negative counts from the end.
  EMBER_ARG(std::optional<int64_t>, padding_idx);
  // Rows looked up are first renormalized in place to at most this norm (of type norm_type).
  EMBER_OPTIONAL_ARG(max_norm, false, 0.0);
  EMBER_ARG(double, norm_type) = 2.0;
  // Scales each row's gradient by 1 / (its count in the batch).
  EMBER_ARG(bool, scale_grad_by_freq) = false;
};

// weight [num_embeddings, embedding_dim] ~ N(0, 1), like PyTorch.
class Embedding : public Module {
 public:
  explicit Embedding(EmbeddingOptions options);
  Embedding(int64_t num_embeddings, int64_t embedding_dim)
      : Embedding(EmbeddingOptions(num_embeddings, embedding_dim)) {}
  // indices Int64 [*] → [*, embedding_dim]
  Tensor forward(const Tensor& indices) override;
  std::string name() const override { return "Embedding"; }
  std::string extra_repr() const override;
  void reset_parameters();

  const EmbeddingOptions& options() const { return options_; }
  Tensor& weight() { return weight_; }

 private:
  EmbeddingOptions options_;  // padding_idx already made non-negative
  Tensor weight_;
};

namespace functional {
// One node: output rows are weight rows; backward scatter-adds into a dense weight gradient.
// A negative padding_idx counts from the end, as in the module.
Tensor embedding(const Tensor& indices, const Tensor& weight,
                 std::optional<int64_t> padding_idx = std::nullopt,
                 std::optional<double> max_norm = std::nullopt, double norm_type = 2.0,
                 bool scale_grad_by_freq = false);
}  // namespace functional

}  // namespace ember::nn
