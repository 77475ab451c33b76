#pragma once
// The whole public API of ember.
#include "ember/autograd/gradcheck.h"
#include "ember/autograd/grad_mode.h"
#include "ember/dtype.h"
#include "ember/error.h"
#include "ember/runtime.h"
#include "ember/state_dict.h"
#include "ember/tensor.h"
