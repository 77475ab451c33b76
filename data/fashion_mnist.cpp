// Fashion-MNIST: two IDX files per split. The pixels are converted straight from the file's bytes
// to Float32 (an Int64 tensor of 47M pixels on the way would cost 376 MB).
#include "ember/data/fashion_mnist.h"

#include <filesystem>

#include "ember/data/idx.h"
#include "ember/error.h"

namespace ember::data {
namespace {

namespace fs = std::filesystem;

constexpr const char* kInstallHint =
    "Install the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist), "
    "or pass the directory that holds the four Fashion-MNIST IDX files (--data DIR in ember's "
    "examples)";

// `name`.gz when present (the Debian package's form), else the uncompressed `name`.
std::string find_file(const fs::path& root, const std::string& name) {
  std::error_code ec;
  for (const std::string& candidate : {name + ".gz", name}) {
    if (fs::is_regular_file(root / candidate, ec)) return (root / candidate).string();
  }
  throw Error(detail::concat("FashionMNIST: '", root.string(), "' has no ", name, ".gz (nor ", name,
                             "). ", kInstallHint));
}

}  // namespace

FashionMNIST::FashionMNIST(const std::string& root, bool train) : train_(train) {
  std::error_code ec;
  EMBER_CHECK(fs::is_directory(root, ec), "FashionMNIST: the directory '", root,
              "' does not exist. ", kInstallHint);
  const std::string split = train ? "train" : "t10k";
  const std::string images_path = find_file(root, split + "-images-idx3-ubyte");
  const std::string labels_path = find_file(root, split + "-labels-idx1-ubyte");

  const IdxArray images = read_idx_array(images_path);
  const IdxArray labels = read_idx_array(labels_path);
  EMBER_CHECK(images.type == IdxType::UInt8 && images.dims.size() == 3 &&
                  images.dims[1] == kImageSize && images.dims[2] == kImageSize,
              "FashionMNIST: '", images_path, "' should hold ubyte images of dims [N, ", kImageSize,
              ", ", kImageSize, "], it holds ", idx_type_name(images.type), " dims ",
              shape_str(images.dims));
  EMBER_CHECK(labels.type == IdxType::UInt8 && labels.dims.size() == 1, "FashionMNIST: '",
              labels_path, "' should hold ubyte labels of dims [N], it holds ",
              idx_type_name(labels.type), " dims ", shape_str(labels.dims));
  const int64_t n = images.dims[0];
  EMBER_CHECK(labels.dims[0] == n, "FashionMNIST: '", images_path, "' holds ", n, " images but '",
              labels_path, "' holds ", labels.dims[0], " labels");

  // Labels first: a bad one must throw before the (larger) image conversion runs.
  labels_ = empty({n}, kInt64);
  int64_t* label = labels_.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    label[i] = labels.bytes[i];
    EMBER_CHECK(label[i] < kNumClasses, "FashionMNIST: '", labels_path, "' has label ", label[i],
                " at index ", i, "; expected 0 to ", kNumClasses - 1);
  }

  images_ = empty({n, 1, kImageSize, kImageSize}, kFloat32);
  float* pixel = images_.data_ptr<float>();
  const uint8_t* byte = images.bytes.data();
  const int64_t count = images.numel();
  // Division, not multiplication by 1/255: the same floats as torchvision's ToTensor.
  for (int64_t i = 0; i < count; ++i) pixel[i] = static_cast<float>(byte[i]) / 255.0f;
}

}  // namespace ember::data
