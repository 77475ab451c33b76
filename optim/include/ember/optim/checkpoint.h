#pragma once
// A training checkpoint in one safetensors file: the model's state dict under "model.", the
// optimizer's under "optimizer.", the LR scheduler's (when there is one) under "scheduler.", and
// the epoch (plus any metadata of the caller's) in the file's metadata. Resuming from it
// continues a run bit for bit: the scheduler's state is saved, not replayed, because schedulers
// such as CosineAnnealingLR step from the optimizer's current lr (PyTorch's chainable form).
//
//   save_checkpoint("run.safetensors", model, optimizer, &scheduler, epoch);
//   const int64_t epoch = load_checkpoint("run.safetensors", model, optimizer, &scheduler);
#include <cstdint>
#include <string>

#include "ember/nn/module.h"
#include "ember/optim/lr_scheduler.h"
#include "ember/optim/optimizer.h"
#include "ember/state_dict.h"

namespace ember {

// Written atomically (see save()): a crash leaves the previous file intact. `extra` may not use
// the keys "epoch" or "format".
void save_checkpoint(const std::string& path, const nn::Module& model,
                     const optim::Optimizer& optimizer, const optim::LRScheduler* scheduler,
                     int64_t epoch, const Metadata& extra = {});

// Loads every part or none: when the file is malformed, lacks a part, or a part does not fit
// (strict state-dict loading), it throws ember::Error and model, optimizer and scheduler keep the
// state they had. Returns the epoch; `metadata`, when given, receives the file's metadata.
int64_t load_checkpoint(const std::string& path, nn::Module& model, optim::Optimizer& optimizer,
                        optim::LRScheduler* scheduler, Metadata* metadata = nullptr);

}  // namespace ember
