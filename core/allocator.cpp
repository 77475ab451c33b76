#include "core/allocator.h"

#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

namespace ember::detail {

namespace {

constexpr size_t kAlignment = 64;

// --- Small buffers: per-thread free lists, no locking ---------------------------------------

constexpr size_t kMaxSmall = 4096;  // bytes: larger buffers go to the large-buffer cache
constexpr size_t kClasses = kMaxSmall / kAlignment;
constexpr size_t kPerClass = 64;  // blocks kept per class and thread

size_t rounded(size_t nbytes) {
  return (std::max<size_t>(nbytes, 1) + kAlignment - 1) / kAlignment * kAlignment;
}

struct SmallCache {
  std::vector<void*> free[kClasses];
  ~SmallCache();
};

// Set once this thread's cache is destroyed: tensors held in statics are freed after the main
// thread's thread_locals, and must then bypass the cache. (A bool needs no destructor.)
thread_local bool small_cache_gone = false;

SmallCache::~SmallCache() {
  small_cache_gone = true;
  for (auto& list : free)
    for (void* p : list) std::free(p);
}

SmallCache* small_cache() {
  if (small_cache_gone) return nullptr;
  thread_local SmallCache c;
  return &c;
}

// --- Large buffers: one shared cache of exact sizes, bounded ---------------------------------
//
// glibc serves blocks above its mmap threshold (≥ 128 KB, adapting up to 32 MB) with fresh
// mmaps, so every training step page-faulted its activations in again: a third of the time of
// a batch-1000 evaluation went to the kernel. A training loop asks for the same sizes every
// step, so exact-size reuse catches nearly all of it. Buffers are freed on any thread (autograd
// releases them wherever the graph dies), hence one cache under a mutex — its cost is nothing
// next to touching a buffer this big.

constexpr size_t kLargeGranule = 4096;
constexpr size_t kLargeBudget = size_t{512} << 20;  // bytes kept free at most

struct LargeCache {
  std::mutex mutex;
  std::unordered_map<size_t, std::vector<void*>> free;  // by size rounded to kLargeGranule
  size_t cached_bytes = 0;
};

// Never destroyed: tensors in statics may be freed after every other static is gone. The
// blocks it holds stay reachable through it, so leak checkers do not report them.
LargeCache& large_cache() {
  static LargeCache* cache = new LargeCache;
  return *cache;
}

size_t large_size(size_t nbytes) {
  return (nbytes + kLargeGranule - 1) / kLargeGranule * kLargeGranule;
}

}  // namespace

void* allocate(size_t nbytes) {
  size_t size = rounded(nbytes);
  if (size <= kMaxSmall) {
    if (SmallCache* c = small_cache()) {
      auto& list = c->free[size / kAlignment - 1];
      if (!list.empty()) {
        void* p = list.back();
        list.pop_back();
        return p;
      }
    }
  } else {
    size = large_size(size);
    LargeCache& c = large_cache();
    std::lock_guard lock(c.mutex);
    auto it = c.free.find(size);
    if (it != c.free.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      c.cached_bytes -= size;
      return p;
    }
  }
  void* p = std::aligned_alloc(kAlignment, size);
  if (!p) throw std::bad_alloc();
  return p;
}

void deallocate(void* ptr, size_t nbytes) {
  size_t size = rounded(nbytes);
  if (size <= kMaxSmall) {
    if (SmallCache* c = small_cache()) {
      auto& list = c->free[size / kAlignment - 1];
      if (list.size() < kPerClass) {
        list.push_back(ptr);
        return;
      }
    }
  } else {
    size = large_size(size);
    LargeCache& c = large_cache();
    std::lock_guard lock(c.mutex);
    if (size <= kLargeBudget) {
      // Make room by freeing other sizes: shapes that stopped coming must not pin the budget.
      for (auto it = c.free.begin(); c.cached_bytes + size > kLargeBudget && it != c.free.end();
           ++it) {
        for (; !it->second.empty() && c.cached_bytes + size > kLargeBudget; it->second.pop_back()) {
          std::free(it->second.back());
          c.cached_bytes -= it->first;
        }
      }
      c.free[size].push_back(ptr);
      c.cached_bytes += size;
      return;
    }
  }
  std::free(ptr);
}

}  // namespace ember::detail
