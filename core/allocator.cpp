#include "core/allocator.h"

#include <cstdlib>
#include <new>
#include <vector>

namespace ember::detail {

namespace {

constexpr size_t kAlignment = 64;
constexpr size_t kMaxCached = 4096;  // bytes: larger buffers go straight to the system
constexpr size_t kClasses = kMaxCached / kAlignment;
constexpr size_t kPerClass = 64;  // blocks kept per class and thread

size_t rounded(size_t nbytes) {
  return (std::max<size_t>(nbytes, 1) + kAlignment - 1) / kAlignment * kAlignment;
}

struct Cache {
  std::vector<void*> free[kClasses];
  ~Cache();
};

// Set once this thread's cache is destroyed: tensors held in statics are freed after the main
// thread's thread_locals, and must then bypass the cache. (A bool needs no destructor.)
thread_local bool cache_gone = false;

Cache::~Cache() {
  cache_gone = true;
  for (auto& list : free)
    for (void* p : list) std::free(p);
}

Cache* cache() {
  if (cache_gone) return nullptr;
  thread_local Cache c;
  return &c;
}

}  // namespace

void* allocate(size_t nbytes) {
  const size_t size = rounded(nbytes);
  Cache* c = size <= kMaxCached ? cache() : nullptr;
  if (c) {
    auto& list = c->free[size / kAlignment - 1];
    if (!list.empty()) {
      void* p = list.back();
      list.pop_back();
      return p;
    }
  }
  void* p = std::aligned_alloc(kAlignment, size);
  if (!p) throw std::bad_alloc();
  return p;
}

void deallocate(void* ptr, size_t nbytes) {
  const size_t size = rounded(nbytes);
  Cache* c = size <= kMaxCached ? cache() : nullptr;
  if (c) {
    auto& list = c->free[size / kAlignment - 1];
    if (list.size() < kPerClass) {
      list.push_back(ptr);
      return;
    }
  }
  std::free(ptr);
}

}  // namespace ember::detail
