#pragma once
// Internal: the allocator behind Storage. Small buffers are recycled through per-thread free
// lists by 64-byte size class: an autograd step on tiny tensors allocates dozens of them, and
// malloc/free dominated its time. Large buffers are reused by exact size from one shared,
// bounded cache, so a training loop stops page-faulting its activations in every step.
#include <cstddef>

namespace ember::detail {

void* allocate(size_t nbytes);              // 64-byte aligned
void deallocate(void* ptr, size_t nbytes);  // nbytes as passed to allocate

}  // namespace ember::detail
