#pragma once
// StateDict: an insertion-ordered name -> Tensor map (what modules and optimizers save and load).
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ember/tensor.h"

namespace ember {

class StateDict {
 public:
  using Item = std::pair<std::string, Tensor>;

  void insert(std::string name, Tensor value);  // throws ember::Error on a duplicate name
  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  const Tensor& at(const std::string& name) const;  // throws ember::Error naming the missing key
  std::vector<std::string> keys() const;

  std::vector<Item>::const_iterator begin() const { return items_.begin(); }
  std::vector<Item>::const_iterator end() const { return items_.end(); }

 private:
  std::vector<Item> items_;
  std::unordered_map<std::string, size_t> index_;
};

using Metadata = std::map<std::string, std::string>;

// safetensors: 8-byte little-endian header length, JSON header, raw little-endian data.
// save writes a temporary file beside `path`, fsyncs it and renames it into place.
void save(const StateDict& dict, const std::string& path, const Metadata& metadata = {});
// load validates everything (header bound, JSON, dtypes, shapes vs byte ranges, contiguous
// offsets, duplicate keys) and throws ember::Error naming what is wrong.
StateDict load(const std::string& path, Metadata* metadata = nullptr);
// The same on in-memory bytes (what the fuzz target drives).
StateDict load_from_bytes(const std::string& bytes, Metadata* metadata = nullptr);
std::string save_to_bytes(const StateDict& dict, const Metadata& metadata = {});

}  // namespace ember
