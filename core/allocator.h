#pragma once
// Internal: the allocator behind Storage. Small buffers are recycled through per-thread free
// lists by 64-byte size class: an autograd step on tiny tensors allocates dozens of them, and
// malloc/free dominated its time.
#include <cstddef>

namespace ember::detail {

void* allocate(size_t nbytes);              // 64-byte aligned
void deallocate(void* ptr, size_t nbytes);  // nbytes as passed to allocate

}  // namespace ember::detail
