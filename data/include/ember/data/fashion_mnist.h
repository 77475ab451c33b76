#pragma once
// Fashion-MNIST (Zalando): 28x28 grey images of clothes in 10 classes, 60000 for training and 10000
// for testing, as four IDX files. Debian's dataset-fashion-mnist package installs them (gzipped)
// in kDefaultRoot; a directory of the same files, gzipped or not, works too.
#include <string>

#include "ember/tensor.h"

namespace ember::data {

class FashionMNIST {
 public:
  static constexpr const char* kDefaultRoot = "/usr/share/datasets/fashion-mnist";
  static constexpr int64_t kNumClasses = 10;
  static constexpr int64_t kImageSize = 28;
  static constexpr const char* kClassNames[kNumClasses] = {
      "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
      "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  // Pixel mean and standard deviation of the training images scaled to [0, 1], for Normalize.
  static constexpr double kMean = 0.2860;
  static constexpr double kStd = 0.3530;

  // Loads the training (train-*) or test (t10k-*) split from `root`, preferring the .gz files.
  // Throws ember::Error when the directory or a file is missing (saying how to get them), when a
  // file is not valid IDX, or when images and labels disagree (count, shape, label range).
  explicit FashionMNIST(const std::string& root = kDefaultRoot, bool train = true);

  int64_t size() const { return labels_.size(0); }
  // [N, 1, 28, 28] Float32 in [0, 1] (pixel / 255, like torchvision's ToTensor).
  const Tensor& images() const { return images_; }
  // [N] Int64 class indices in [0, 10).
  const Tensor& labels() const { return labels_; }
  bool is_train() const { return train_; }

 private:
  Tensor images_;
  Tensor labels_;
  bool train_;
};

}  // namespace ember::data
