#pragma once
// DataLoader: batches of (data, target) rows drawn from two tensors whose first dimension indexes
// the samples, like torch.utils.data.DataLoader over a TensorDataset.
//
//   using namespace ember::data;
//   FashionMNIST train;
//   DataLoader loader(train.images(), train.labels(),
//                     DataLoaderOptions(64).shuffle(true).seed(0).normalize(
//                         Normalize({FashionMNIST::kMean}, {FashionMNIST::kStd})));
//   for (int epoch = 0; epoch < 10; ++epoch)
//     for (auto& batch : loader) train_step(batch.data, batch.target);
//
// Each begin() starts a new epoch (as in LibTorch): with shuffle on, epoch e visits the samples
// in an order that depends only on (seed, e), so runs with the same seed see the same batches.
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <vector>

#include "ember/data/normalize.h"
#include "ember/nn/options.h"
#include "ember/tensor.h"

namespace ember::data {

struct DataLoaderOptions {
  DataLoaderOptions(int64_t batch_size) : batch_size_(batch_size) {}
  EMBER_ARG(int64_t, batch_size);
  EMBER_ARG(bool, shuffle) = false;
  EMBER_ARG(uint64_t, seed) = 0;
  // Drop the last batch when it would be smaller than batch_size.
  EMBER_ARG(bool, drop_last) = false;
  // Applied to every batch's data (which must then be Float32 or Float64).
  EMBER_ARG(std::optional<Normalize>, normalize);
};

struct Batch {
  Tensor data;    // [B, ...data sizes]
  Tensor target;  // [B, ...target sizes]; undefined when the loader has no targets
};

class DataLoader {
 public:
  class Iterator;

  // `data` and `targets` must agree in their first dimension; `targets` may be undefined. The
  // loader keeps (contiguous) handles to both: batches are copies, so they may be modified.
  DataLoader(Tensor data, Tensor targets, DataLoaderOptions options);

  // Batches per epoch.
  int64_t size() const;
  int64_t num_samples() const { return data_.size(0); }
  const DataLoaderOptions& options() const { return options_; }

  // Starts the next epoch (the first call starts epoch 0) and draws its order. begin() calls it.
  void reset();
  // The next reset() starts epoch `epoch` (to resume a run, like DistributedSampler.set_epoch).
  void set_epoch(int64_t epoch);
  // The current epoch; -1 before the first reset().
  int64_t epoch() const { return epoch_; }
  // The current epoch's sample order (starting epoch 0 first if none has started).
  const std::vector<int64_t>& order();

  // Batch `index` of the current epoch (starting epoch 0 first if none has started).
  Batch batch(int64_t index);

  Iterator begin();
  Iterator end();

  class Iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = Batch;
    using difference_type = std::ptrdiff_t;
    using pointer = Batch*;
    using reference = Batch&;

    Iterator() = default;
    Batch& operator*();
    Batch* operator->() { return &**this; }
    Iterator& operator++();
    bool operator==(const Iterator& other) const { return index_ == other.index_; }

   private:
    friend class DataLoader;
    Iterator(DataLoader* loader, int64_t index) : loader_(loader), index_(index) {}
    DataLoader* loader_ = nullptr;
    int64_t index_ = 0;
    Batch batch_;
    bool loaded_ = false;  // the batch is copied when first dereferenced
  };

 private:
  Tensor data_;
  Tensor targets_;
  DataLoaderOptions options_;
  std::vector<int64_t> order_;
  int64_t epoch_ = -1;
  int64_t next_epoch_ = 0;
};

}  // namespace ember::data
