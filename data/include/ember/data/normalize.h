#pragma once
// Normalize: (x - mean[c]) / std[c] per channel, like torchvision.transforms.Normalize, for
// batch-first data [N, C, ...] (channel dim 1). A single mean/std pair applies to every channel.
#include <vector>

#include "ember/tensor.h"

namespace ember::data {

class Normalize {
 public:
  // Throws ember::Error unless mean and std are non-empty, of equal length, and every std is
  // finite and non-zero.
  Normalize(std::vector<double> mean, std::vector<double> std);

  // A normalized copy of `input` (Float32 or Float64).
  Tensor operator()(const Tensor& input) const;
  // Normalizes a contiguous floating tensor in place.
  void apply_(Tensor& input) const;

  const std::vector<double>& mean() const { return mean_; }
  const std::vector<double>& std() const { return std_; }
  int64_t num_channels() const { return static_cast<int64_t>(mean_.size()); }
  // Throws ember::Error naming `sizes` unless data of these sizes and `dtype` can be normalized.
  void check(const Shape& sizes, DType dtype) const;

 private:
  std::vector<double> mean_;
  std::vector<double> std_;
};

}  // namespace ember::data
