#pragma once
// ember's data pipeline: the IDX reader, Fashion-MNIST, Normalize and DataLoader.
#include "ember/data/dataloader.h"
#include "ember/data/fashion_mnist.h"
#include "ember/data/idx.h"
#include "ember/data/normalize.h"
