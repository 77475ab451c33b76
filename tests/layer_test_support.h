#pragma once
// Shared by test_layers.cpp and test_losses.cpp: the golden fixtures written by
// tests/golden/gen_layers.py (cases that describe themselves in JSON metadata), the ember module
// or nn::functional call each case stands for, and the comparison with PyTorch's numbers.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ember/ember.h"

namespace ember::layer_test {

namespace F = nn::functional;
using json = nlohmann::json;

struct Golden {
  StateDict tensors;
  Metadata metadata;
};

// fixtures/<file>.safetensors, loaded once and never freed (no tensor outlives ember's
// thread-local allocator state into static destruction).
inline const Golden& golden(const std::string& file) {
  static auto* cache = new std::map<std::string, std::unique_ptr<Golden>>;
  auto& slot = (*cache)[file];
  if (!slot) {
    slot = std::make_unique<Golden>();
    slot->tensors =
        load(std::string(EMBER_FIXTURES_DIR) + "/" + file + ".safetensors", &slot->metadata);
  }
  return *slot;
}

// One case of a fixture: "<layer>.<label>", with its PyTorch kwargs.
struct Case {
  const Golden* file = nullptr;
  std::string name, layer;
  json options;
  bool gradcheck = true;

  std::string meta(const std::string& what) const { return file->metadata.at(name + "/" + what); }
  bool has(const std::string& tag, const std::string& role) const {
    return file->tensors.contains(name + "/" + tag + "/" + role);
  }
  // A fresh copy, so that requires_grad_ or in-place changes never touch the cached fixture.
  Tensor at(const std::string& tag, const std::string& role) const {
    return file->tensors.at(name + "/" + tag + "/" + role).clone();
  }
  int64_t integer(const char* key, int64_t fallback) const {
    return options.contains(key) ? options.at(key).get<int64_t>() : fallback;
  }
  double real(const char* key, double fallback) const {
    return options.contains(key) ? options.at(key).get<double>() : fallback;
  }
  bool flag(const char* key, bool fallback) const {
    return options.contains(key) ? options.at(key).get<bool>() : fallback;
  }
  std::string text(const char* key, const std::string& fallback) const {
    return options.contains(key) ? options.at(key).get<std::string>() : fallback;
  }
};

// Every case of `layer` in `file` (a ".spec" metadata entry each), at least `min_cases` of them:
// a stale or truncated fixture must not pass vacuously.
inline std::vector<Case> cases_of(const std::string& file, const std::string& layer,
                                  size_t min_cases) {
  const Golden& g = golden(file);
  std::vector<Case> out;
  for (const auto& [key, value] : g.metadata) {
    const std::string tail = "/spec";
    if (key.size() <= tail.size() || key.compare(key.size() - tail.size(), tail.size(), tail))
      continue;
    const json spec = json::parse(value);
    if (spec.at("layer") != layer) continue;
    out.push_back({&g, key.substr(0, key.size() - tail.size()), layer, spec.at("options"),
                   spec.at("gradcheck").get<bool>()});
  }
  EXPECT_GE(out.size(), min_cases) << file << ": too few cases of " << layer;
  return out;
}

inline DType dtype_of_tag(const std::string& tag) { return tag == "f64" ? kFloat64 : kFloat32; }

// The bounds: float32 1e-4 relative + 1e-5 absolute (PyTorch sums in another order);
// float64 1e-10.
inline void expect_close(const Tensor& got, const Tensor& want, const std::string& what,
                         const std::string& tag) {
  ASSERT_TRUE(got.defined()) << what << ": undefined";
  ASSERT_EQ(shape_str(got.sizes()), shape_str(want.sizes())) << what;
  EXPECT_EQ(got.dtype(), want.dtype()) << what;
  const bool f64 = tag == "f64";
  EXPECT_TRUE(allclose(got, want, f64 ? 1e-10 : 1e-4, f64 ? 1e-10 : 1e-5))
      << what << " (" << tag << "): max |diff| " << max_abs_diff(got, want) << "\n got  " << got
      << "\n want " << want;
}

inline nn::ExpandingArray<2> pair_of(const json& v) {
  if (v.is_number()) return v.get<int64_t>();
  return std::array<int64_t, 2>{v.at(0).get<int64_t>(), v.at(1).get<int64_t>()};
}
inline nn::ExpandingArray<2> pair_or(const Case& c, const char* key, int64_t fallback) {
  return c.options.contains(key) ? pair_of(c.options.at(key)) : nn::ExpandingArray<2>(fallback);
}

inline nn::Conv2dPadding conv_padding(const Case& c) {
  if (!c.options.contains("padding")) return 0;
  const json& p = c.options.at("padding");
  if (p.is_string()) return nn::Conv2dPadding(p.get<std::string>());
  return pair_of(p);
}

inline nn::MaxPool2dOptions max_pool_options(const Case& c) {
  nn::MaxPool2dOptions o(pair_of(c.options.at("kernel_size")));
  if (c.options.contains("stride")) o.stride(pair_of(c.options.at("stride")));
  return o.padding(pair_or(c, "padding", 0))
      .dilation(pair_or(c, "dilation", 1))
      .ceil_mode(c.flag("ceil_mode", false));
}

inline nn::AvgPool2dOptions avg_pool_options(const Case& c) {
  nn::AvgPool2dOptions o(pair_of(c.options.at("kernel_size")));
  if (c.options.contains("stride")) o.stride(pair_of(c.options.at("stride")));
  o.padding(pair_or(c, "padding", 0))
      .ceil_mode(c.flag("ceil_mode", false))
      .count_include_pad(c.flag("count_include_pad", true));
  if (c.options.contains("divisor_override"))
    o.divisor_override(c.options.at("divisor_override").get<int64_t>());
  return o;
}

inline nn::EmbeddingOptions embedding_options(const Case& c) {
  nn::EmbeddingOptions o(c.integer("num_embeddings", 0), c.integer("embedding_dim", 0));
  if (c.options.contains("padding_idx")) o.padding_idx(c.integer("padding_idx", 0));
  if (c.options.contains("max_norm")) o.max_norm(c.real("max_norm", 0));
  return o.norm_type(c.real("norm_type", 2.0))
      .scale_grad_by_freq(c.flag("scale_grad_by_freq", false));
}

// The ember module for a case, built from PyTorch's kwargs (unset ones keep ember's defaults, so
// the cases also check that those are PyTorch's).
inline std::shared_ptr<nn::Module> make_layer(const Case& c) {
  const std::string& l = c.layer;
  if (l == "Linear")
    return std::make_shared<nn::Linear>(
        nn::LinearOptions(c.integer("in_features", 0), c.integer("out_features", 0))
            .bias(c.flag("bias", true)));
  if (l == "Conv2d")
    return std::make_shared<nn::Conv2d>(nn::Conv2dOptions(c.integer("in_channels", 0),
                                                          c.integer("out_channels", 0),
                                                          pair_of(c.options.at("kernel_size")))
                                            .stride(pair_or(c, "stride", 1))
                                            .padding(conv_padding(c))
                                            .dilation(pair_or(c, "dilation", 1))
                                            .groups(c.integer("groups", 1))
                                            .bias(c.flag("bias", true)));
  if (l == "MaxPool2d") return std::make_shared<nn::MaxPool2d>(max_pool_options(c));
  if (l == "AvgPool2d") return std::make_shared<nn::AvgPool2d>(avg_pool_options(c));
  if (l == "AdaptiveAvgPool2d")
    return std::make_shared<nn::AdaptiveAvgPool2d>(pair_of(c.options.at("output_size")));
  if (l == "ReLU") return std::make_shared<nn::ReLU>();
  if (l == "GELU")
    return std::make_shared<nn::GELU>(nn::GELUOptions().approximate(c.text("approximate", "none")));
  if (l == "Tanh") return std::make_shared<nn::Tanh>();
  if (l == "Sigmoid") return std::make_shared<nn::Sigmoid>();
  if (l == "Softmax") return std::make_shared<nn::Softmax>(c.integer("dim", 0));
  if (l == "LogSoftmax") return std::make_shared<nn::LogSoftmax>(c.integer("dim", 0));
  if (l == "Flatten")
    return std::make_shared<nn::Flatten>(nn::FlattenOptions()
                                             .start_dim(c.integer("start_dim", 1))
                                             .end_dim(c.integer("end_dim", -1)));
  if (l == "Embedding") return std::make_shared<nn::Embedding>(embedding_options(c));
  throw Error("layer_test: unknown layer " + l);
}

// The nn::functional form of a case's module, with explicit parameters (what gradcheck
// perturbs).
inline Tensor functional_forward(const Case& c, const Tensor& x, const Tensor& weight,
                                 const Tensor& bias) {
  const std::string& l = c.layer;
  if (l == "Linear") return F::linear(x, weight, bias);
  if (l == "Conv2d")
    return F::conv2d(x, weight, bias, pair_or(c, "stride", 1), conv_padding(c),
                     pair_or(c, "dilation", 1), c.integer("groups", 1));
  if (l == "MaxPool2d") return F::max_pool2d(x, max_pool_options(c));
  if (l == "AvgPool2d") return F::avg_pool2d(x, avg_pool_options(c));
  if (l == "AdaptiveAvgPool2d")
    return F::adaptive_avg_pool2d(x, pair_of(c.options.at("output_size")));
  if (l == "ReLU") return F::relu(x);
  if (l == "GELU") return F::gelu(x, c.text("approximate", "none"));
  if (l == "Tanh") return x.tanh();
  if (l == "Sigmoid") return x.sigmoid();
  if (l == "Softmax") return F::softmax(x, c.integer("dim", 0));
  if (l == "LogSoftmax") return F::log_softmax(x, c.integer("dim", 0));
  if (l == "Flatten") return x.flatten(c.integer("start_dim", 1), c.integer("end_dim", -1));
  if (l == "Embedding") {
    const nn::EmbeddingOptions o = embedding_options(c);
    return F::embedding(x, weight, o.padding_idx(), o.max_norm(), o.norm_type(),
                        o.scale_grad_by_freq());
  }
  throw Error("layer_test: unknown layer " + l);
}

}  // namespace ember::layer_test
