#pragma once
// The whole public API of ember.
#include "ember/autograd/grad_mode.h"
#include "ember/autograd/gradcheck.h"
#include "ember/dtype.h"
#include "ember/error.h"
#include "ember/nn/container.h"
#include "ember/nn/functional.h"
#include "ember/nn/module.h"
#include "ember/nn/norm_backend.h"
#include "ember/nn/normalization.h"
#include "ember/runtime.h"
#include "ember/state_dict.h"
#include "ember/tensor.h"
