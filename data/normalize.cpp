// Normalize, with torchvision's arithmetic: mean and std are first rounded to the data's dtype,
// then x.sub_(mean).div_(std), so ember's batches equal PyTorch's bit for bit.
#include "ember/data/normalize.h"

#include <cmath>

#include "ember/error.h"

namespace ember::data {
namespace {

std::string list_str(const std::vector<double>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + std::to_string(values[i]);
  return out + "]";
}

template <class T>
void normalize(T* data, int64_t outer, int64_t channels, int64_t inner,
               const std::vector<double>& mean, const std::vector<double>& std) {
  const bool shared = mean.size() == 1;
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t c = 0; c < channels; ++c) {
      const T m = static_cast<T>(mean[shared ? 0 : c]);
      const T s = static_cast<T>(std[shared ? 0 : c]);
      T* p = data + (o * channels + c) * inner;
      for (int64_t i = 0; i < inner; ++i) p[i] = (p[i] - m) / s;
    }
  }
}

}  // namespace

Normalize::Normalize(std::vector<double> mean, std::vector<double> std)
    : mean_(std::move(mean)), std_(std::move(std)) {
  EMBER_CHECK(!mean_.empty() && mean_.size() == std_.size(),
              "Normalize: mean and std need one value per channel, got mean ", list_str(mean_),
              " and std ", list_str(std_));
  for (double s : std_) {
    // Checked as float too: a std that rounds to 0 in float32 would divide by zero.
    EMBER_CHECK(std::isfinite(s) && s != 0.0 && static_cast<float>(s) != 0.0f, "Normalize: std ",
                list_str(std_), " has a zero or non-finite value");
  }
}

void Normalize::check(const Shape& sizes, DType dtype) const {
  EMBER_CHECK(is_floating(dtype), "Normalize: expected Float32 or Float64 data, got ", dtype);
  if (mean_.size() == 1) return;
  EMBER_CHECK(sizes.size() >= 2 && sizes[1] == num_channels(), "Normalize: ", mean_.size(),
              " channel values need data of sizes [N, ", mean_.size(), ", ...], got ",
              shape_str(sizes));
}

void Normalize::apply_(Tensor& input) const {
  check(input.sizes(), input.dtype());
  EMBER_CHECK(input.is_contiguous(), "Normalize: apply_ needs a contiguous tensor");
  const int64_t outer = input.dim() == 0 ? 1 : input.size(0);
  const int64_t channels = mean_.size() == 1 || input.dim() < 2 ? 1 : input.size(1);
  const int64_t inner = outer * channels == 0 ? 0 : input.numel() / (outer * channels);
  if (input.dtype() == kFloat32) {
    normalize(input.data_ptr<float>(), outer, channels, inner, mean_, std_);
  } else {
    normalize(input.data_ptr<double>(), outer, channels, inner, mean_, std_);
  }
  input.bump_version();
}

Tensor Normalize::operator()(const Tensor& input) const {
  check(input.sizes(), input.dtype());
  Tensor out = input.detach().clone();
  apply_(out);
  return out;
}

}  // namespace ember::data
