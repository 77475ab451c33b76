#pragma once
// ember::optim: optimizers and learning-rate schedulers, named like LibTorch's torch::optim.
#include "ember/optim/adam.h"
#include "ember/optim/adamw.h"
#include "ember/optim/checkpoint.h"
#include "ember/optim/cosine_annealing_lr.h"
#include "ember/optim/lr_scheduler.h"
#include "ember/optim/optimizer.h"
#include "ember/optim/sgd.h"
#include "ember/optim/step_lr.h"
