// Embedding: functional::embedding (one node: a row gather forward, a row scatter-add backward;
// optional in-place max_norm renormalization like PyTorch's embedding_renorm_) and the module.
#include "ember/nn/embedding.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <vector>

#include "core/dispatch.h"
#include "ember/autograd/grad_mode.h"
#include "ember/autograd/node.h"
#include "ember/nn/init.h"
#include "layers/layer_checks.h"
#include "layers/norm_common.h"

namespace ember::nn {

namespace {

std::optional<int64_t> wrap_padding_idx(std::optional<int64_t> padding_idx, int64_t num) {
  if (!padding_idx) return padding_idx;
  EMBER_CHECK(*padding_idx < num && *padding_idx >= -num,
              "Padding_idx must be within num_embeddings (got padding_idx=", *padding_idx,
              " for num_embeddings=", num, ")");
  return *padding_idx < 0 ? *padding_idx + num : *padding_idx;
}

// Scales each referenced row whose norm exceeds max_norm down to max_norm (PyTorch's
// embedding_renorm_, including its 1e-7 guard), in place and outside the graph.
void renorm_rows(Tensor weight, const std::vector<int64_t>& rows, double max_norm,
                 double norm_type) {
  NoGradGuard no_grad;
  const int64_t D = weight.size(1);
  Tensor wc = weight.detach().contiguous();  // aliases weight unless weight is strided
  ember::detail::dispatch_floating(weight.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* w = wc.data_ptr<T>();
    for (int64_t r : rows) {
      T* row = w + r * D;
      double norm = 0;
      for (int64_t j = 0; j < D; ++j)
        norm += std::pow(std::abs(static_cast<double>(row[j])), norm_type);
      norm = std::pow(norm, 1.0 / norm_type);
      if (norm > max_norm) {
        const double scale = max_norm / (norm + 1e-7);
        for (int64_t j = 0; j < D; ++j) row[j] = static_cast<T>(row[j] * scale);
      }
    }
  });
  if (wc.is_same(weight) || wc.shares_storage(weight))
    weight.bump_version();  // an in-place change: graphs that saved the old rows must notice
  else
    weight.copy_(wc);
}

}  // namespace

namespace functional {

Tensor embedding(const Tensor& indices, const Tensor& weight, std::optional<int64_t> padding_idx,
                 std::optional<double> max_norm, double norm_type, bool scale_grad_by_freq) {
  EMBER_CHECK(indices.defined() && indices.dtype() == kInt64,
              "Expected tensor for argument #1 'indices' to have one of the following scalar "
              "types: Long; but got ",
              indices.defined() ? dtype_name(indices.dtype()) : "an undefined tensor",
              " instead (while checking arguments for embedding)");
  EMBER_CHECK(weight.defined() && weight.dim() == 2, "'weight' must be 2-D, got weight of size ",
              weight.defined() ? shape_str(weight.sizes()) : "(undefined)");
  EMBER_CHECK(is_floating(weight.dtype()), "embedding: expected a floating point weight, got ",
              weight.dtype());
  const int64_t V = weight.size(0), D = weight.size(1);
  padding_idx = wrap_padding_idx(padding_idx, V);
  const Tensor idx = indices.contiguous();
  const int64_t n = idx.numel();
  const int64_t* pi = idx.data_ptr<int64_t>();
  std::vector<int64_t> ids(pi, pi + n);
  for (int64_t i : ids)
    EMBER_CHECK(i >= 0 && i < V, "index out of range in self (index ", i,
                " with num_embeddings=", V, ")");
  if (max_norm) {
    std::vector<int64_t> unique = ids;
    std::sort(unique.begin(), unique.end());
    unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
    renorm_rows(weight, unique, *max_norm, norm_type);
  }

  const Tensor wc = weight.detach().contiguous();
  Shape out_shape = indices.sizes();
  out_shape.push_back(D);
  Tensor y = empty(out_shape, weight.dtype());
  ember::detail::dispatch_floating(weight.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* w = wc.data_ptr<T>();
    T* out = y.data_ptr<T>();
    for (int64_t i = 0; i < n; ++i) std::copy(w + ids[i] * D, w + (ids[i] + 1) * D, out + i * D);
  });

  const int64_t pad = padding_idx.value_or(-1);
  return autograd::record_function(
      "EmbeddingBackward0", {indices, weight}, y, [=](const Tensor& g) {
        const Tensor dy = g.contiguous();
        Tensor dw = zeros({V, D}, dy.dtype());
        std::unordered_map<int64_t, int64_t> counts;
        if (scale_grad_by_freq)
          for (int64_t i : ids) ++counts[i];
        ember::detail::dispatch_floating(dy.dtype(), [&](auto tag) {
          using T = decltype(tag);
          const T* src = dy.data_ptr<T>();
          T* dst = dw.data_ptr<T>();
          for (int64_t i = 0; i < n; ++i) {
            if (ids[i] == pad) continue;  // the padding row never learns
            const T scale = scale_grad_by_freq ? T(1) / static_cast<T>(counts.at(ids[i])) : T(1);
            T* row = dst + ids[i] * D;
            for (int64_t j = 0; j < D; ++j) row[j] += src[i * D + j] * scale;
          }
        });
        return std::vector<Tensor>{Tensor(), dw};
      });
}

}  // namespace functional

Embedding::Embedding(EmbeddingOptions options) : options_(std::move(options)) {
  const int64_t num = options_.num_embeddings(), dim = options_.embedding_dim();
  EMBER_CHECK(num >= 0 && dim >= 0,
              "Embedding: num_embeddings and embedding_dim must be non-negative, got ", num,
              " and ", dim);
  options_.padding_idx(wrap_padding_idx(options_.padding_idx(), num));
  weight_ = register_parameter("weight", empty({num, dim}));
  reset_parameters();
}

void Embedding::reset_parameters() {
  init::normal_(weight_);
  if (options_.padding_idx()) {
    NoGradGuard no_grad;
    weight_.select(0, *options_.padding_idx()).fill_(0.0);
  }
}

std::string Embedding::extra_repr() const {
  const auto& o = options_;
  std::string s = std::to_string(o.num_embeddings()) + ", " + std::to_string(o.embedding_dim());
  if (o.padding_idx()) s += ", padding_idx=" + std::to_string(*o.padding_idx());
  if (o.max_norm()) s += ", max_norm=" + py_float(*o.max_norm());
  if (o.norm_type() != 2.0) s += ", norm_type=" + py_float(o.norm_type());
  if (o.scale_grad_by_freq()) s += ", scale_grad_by_freq=True";
  return s;
}

Tensor Embedding::forward(const Tensor& indices) {
  const auto& o = options_;
  return functional::embedding(indices, weight_, o.padding_idx(), o.max_norm(), o.norm_type(),
                               o.scale_grad_by_freq());
}

}  // namespace ember::nn
