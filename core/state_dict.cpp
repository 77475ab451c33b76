// StateDict: an insertion-ordered map. Items live in a vector so iteration (and therefore saving)
// follows insertion order, which is the order PyTorch's state_dict() produces; the hash index only
// speeds up lookups.
#include "ember/state_dict.h"

#include "ember/error.h"

namespace ember {

void StateDict::insert(std::string name, Tensor value) {
  // LibTorch's OrderedDict words this "Key 'x' already defined"; silently replacing an entry would
  // hide a module that registers two parameters under one name.
  EMBER_CHECK(index_.count(name) == 0, "StateDict: key \"", name, "\" already defined");
  index_.emplace(name, items_.size());
  items_.emplace_back(std::move(name), std::move(value));
}

const Tensor& StateDict::at(const std::string& name) const {
  auto it = index_.find(name);
  // Only the missing key: listing every key of a large model would drown the message.
  EMBER_CHECK(it != index_.end(), "StateDict: key \"", name, "\" is not defined");
  return items_[it->second].second;
}

std::vector<std::string> StateDict::keys() const {
  std::vector<std::string> names;
  names.reserve(items_.size());
  for (const auto& item : items_) names.push_back(item.first);
  return names;
}

}  // namespace ember
