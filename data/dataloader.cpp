// DataLoader. A batch is built by copying whole sample rows with memcpy (one copy for an unshuffled
// batch, since its rows are adjacent), so a 60000-image epoch costs about one pass over the data.
#include "ember/data/dataloader.h"

#include <cstring>
#include <numeric>
#include <random>

#include "ember/error.h"

namespace ember::data {
namespace {

// SplitMix64's finalizer: spreads (seed, epoch) over the whole state, so nearby seeds and epochs
// give unrelated orders.
uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// Uniform in [0, n) by rejection. (std::uniform_int_distribution differs between standard
// libraries; this keeps a seed's order the same everywhere.)
uint64_t uniform_below(std::mt19937_64& engine, uint64_t n) {
  const uint64_t threshold = (0 - n) % n;  // 2^64 mod n: the biased low values
  while (true) {
    const uint64_t r = engine();
    if (r >= threshold) return r % n;
  }
}

// Fisher-Yates over 0..n-1, from an engine seeded by (seed, epoch) alone.
void shuffle_order(std::vector<int64_t>& order, uint64_t seed, int64_t epoch) {
  std::mt19937_64 engine(mix(seed ^ mix(static_cast<uint64_t>(epoch))));
  for (size_t i = order.size(); i > 1; --i) {
    std::swap(order[i - 1], order[uniform_below(engine, i)]);
  }
}

int64_t row_bytes(const Tensor& t) {
  return t.size(0) == 0 ? 0 : t.numel() / t.size(0) * static_cast<int64_t>(element_size(t.dtype()));
}

// Rows order[first, first + count) of `source` into a new tensor.
Tensor gather_rows(const Tensor& source, const std::vector<int64_t>& order, int64_t first,
                   int64_t count, bool adjacent) {
  Shape sizes = source.sizes();
  sizes[0] = count;
  Tensor out = empty(sizes, source.dtype());
  const int64_t row = row_bytes(source);
  const char* in = static_cast<const char*>(source.impl()->data());
  char* dst = static_cast<char*>(out.impl()->data());
  if (adjacent) {
    std::memcpy(dst, in + order[first] * row, count * row);
  } else {
    for (int64_t i = 0; i < count; ++i)
      std::memcpy(dst + i * row, in + order[first + i] * row, row);
  }
  return out;
}

}  // namespace

DataLoader::DataLoader(Tensor data, Tensor targets, DataLoaderOptions options)
    : options_(std::move(options)) {
  EMBER_CHECK(data.defined() && data.dim() >= 1,
              "DataLoader: data must have a first (sample) dimension");
  EMBER_CHECK(options_.batch_size() > 0, "DataLoader: batch_size must be positive, got ",
              options_.batch_size());
  if (targets.defined()) {
    EMBER_CHECK(targets.dim() >= 1 && targets.size(0) == data.size(0), "DataLoader: data of sizes ",
                shape_str(data.sizes()), " and targets of sizes ", shape_str(targets.sizes()),
                " differ in their number of samples");
  }
  if (options_.normalize()) options_.normalize()->check(data.sizes(), data.dtype());
  // detach: batches are plain data, and the loader must not keep a training graph alive.
  data_ = data.detach().contiguous();
  if (targets.defined()) targets_ = targets.detach().contiguous();
}

int64_t DataLoader::size() const {
  const int64_t n = num_samples(), b = options_.batch_size();
  return options_.drop_last() ? n / b : (n + b - 1) / b;
}

void DataLoader::reset() {
  epoch_ = next_epoch_++;
  order_.resize(num_samples());
  std::iota(order_.begin(), order_.end(), int64_t{0});
  if (options_.shuffle()) shuffle_order(order_, options_.seed(), epoch_);
}

void DataLoader::set_epoch(int64_t epoch) {
  EMBER_CHECK(epoch >= 0, "DataLoader: set_epoch needs a non-negative epoch, got ", epoch);
  next_epoch_ = epoch;
}

const std::vector<int64_t>& DataLoader::order() {
  if (epoch_ < 0) reset();
  return order_;
}

Batch DataLoader::batch(int64_t index) {
  EMBER_CHECK(index >= 0 && index < size(), "DataLoader: batch index ", index,
              " is out of range for ", size(), " batches");
  if (epoch_ < 0) reset();
  const int64_t first = index * options_.batch_size();
  const int64_t count = std::min(options_.batch_size(), num_samples() - first);
  const bool adjacent = !options_.shuffle();
  Batch batch;
  batch.data = gather_rows(data_, order_, first, count, adjacent);
  if (targets_.defined()) batch.target = gather_rows(targets_, order_, first, count, adjacent);
  if (options_.normalize()) options_.normalize()->apply_(batch.data);
  return batch;
}

DataLoader::Iterator DataLoader::begin() {
  reset();
  return Iterator(this, 0);
}

DataLoader::Iterator DataLoader::end() { return Iterator(this, size()); }

Batch& DataLoader::Iterator::operator*() {
  if (!loaded_) {
    batch_ = loader_->batch(index_);
    loaded_ = true;
  }
  return batch_;
}

DataLoader::Iterator& DataLoader::Iterator::operator++() {
  ++index_;
  loaded_ = false;
  return *this;
}

}  // namespace ember::data
