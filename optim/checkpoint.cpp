#include "ember/optim/checkpoint.h"

#include <exception>

#include "ember/error.h"

namespace ember {

namespace {

constexpr const char* kFormat = "ember.checkpoint.v1";

void insert_under(StateDict& out, const std::string& prefix, const StateDict& dict) {
  for (const auto& [name, t] : dict) out.insert(prefix + name, t);
}

// The entries of `all` under `prefix`, with the prefix removed.
StateDict part(const StateDict& all, const std::string& prefix) {
  StateDict out;
  for (const auto& [name, t] : all)
    if (name.rfind(prefix, 0) == 0) out.insert(name.substr(prefix.size()), t);
  return out;
}

// A copy that later loads cannot change (state_dict() values may alias live buffers).
StateDict snapshot(const StateDict& dict) {
  StateDict out;
  for (const auto& [name, t] : dict) out.insert(name, t.clone());
  return out;
}

int64_t parse_epoch(const std::string& path, const Metadata& meta) {
  const auto it = meta.find("epoch");
  EMBER_CHECK(it != meta.end(), "checkpoint ", path, " has no \"epoch\" in its metadata");
  size_t used = 0;
  int64_t epoch = -1;
  try {
    epoch = std::stoll(it->second, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  EMBER_CHECK(used == it->second.size() && epoch >= 0, "checkpoint ", path, ": epoch \"",
              it->second, "\" is not a non-negative integer");
  return epoch;
}

}  // namespace

void save_checkpoint(const std::string& path, const nn::Module& model,
                     const optim::Optimizer& optimizer, const optim::LRScheduler* scheduler,
                     int64_t epoch, const Metadata& extra) {
  EMBER_CHECK(epoch >= 0, "save_checkpoint: epoch must be non-negative, got ", epoch);
  EMBER_CHECK(!extra.count("epoch") && !extra.count("format"),
              "save_checkpoint: the metadata keys \"epoch\" and \"format\" are reserved");
  StateDict all;
  insert_under(all, "model.", model.state_dict());
  insert_under(all, "optimizer.", optimizer.state_dict());
  if (scheduler) insert_under(all, "scheduler.", scheduler->state_dict());
  Metadata meta = extra;
  meta["epoch"] = std::to_string(epoch);
  meta["format"] = kFormat;
  save(all, path, meta);
}

int64_t load_checkpoint(const std::string& path, nn::Module& model, optim::Optimizer& optimizer,
                        optim::LRScheduler* scheduler, Metadata* metadata) {
  Metadata meta;
  const StateDict all = load(path, &meta);
  // Everything that can be checked without touching the objects comes first.
  for (const auto& [name, t] : all) {
    const bool known = name.rfind("model.", 0) == 0 || name.rfind("optimizer.", 0) == 0 ||
                       (scheduler && name.rfind("scheduler.", 0) == 0);
    EMBER_CHECK(known, "checkpoint ", path, ": unexpected tensor \"", name, "\"",
                scheduler ? "" : " (a scheduler's state, but no scheduler was given)");
  }
  const int64_t epoch = parse_epoch(path, meta);
  const StateDict model_dict = part(all, "model."), optimizer_dict = part(all, "optimizer."),
                  scheduler_dict = part(all, "scheduler.");
  EMBER_CHECK(!model_dict.empty() || model.state_dict().empty(), "checkpoint ", path,
              " holds no model state (\"model.*\" tensors)");
  EMBER_CHECK(!scheduler || !scheduler_dict.empty(), "checkpoint ", path,
              " holds no scheduler state (\"scheduler.*\" tensors)");

  // Each load checks its own part; if a later one fails, the earlier ones are rolled back.
  const StateDict model_before = snapshot(model.state_dict());
  const StateDict optimizer_before = snapshot(optimizer.state_dict());
  const StateDict scheduler_before = scheduler ? snapshot(scheduler->state_dict()) : StateDict();
  try {
    model.load_state_dict(model_dict);
    optimizer.load_state_dict(optimizer_dict);
    if (scheduler) scheduler->load_state_dict(scheduler_dict);
  } catch (...) {
    model.load_state_dict(model_before);
    optimizer.load_state_dict(optimizer_before);
    if (scheduler) scheduler->load_state_dict(scheduler_before);
    throw;
  }
  if (metadata) *metadata = meta;
  return epoch;
}

}  // namespace ember
