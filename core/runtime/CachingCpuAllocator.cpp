#include "runtime/CachingCpuAllocator.h"

#include "runtime/EnvSwitch.h"

#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>
#include <sanitizer/asan_interface.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>
#include <list>
#include <map>
#include <mutex>
#include <unordered_map>

namespace mqb {
namespace {

// Below this, glibc's own free lists already reuse memory without page faults.
constexpr size_t kMinCachedBytes = size_t{1} << 20;

class CachingCpuAllocator final : public c10::Allocator {
 public:
  explicit CachingCpuAllocator(size_t limit) : limit_(limit) {}

  c10::DataPtr allocate(size_t n) const override {
    if (n < kMinCachedBytes) {
      void* p = c10::alloc_cpu(n);
      return {p, p, &freeSmall, c10::Device(c10::DeviceType::CPU)};
    }
    void* p = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      // A cached block up to 1/8 larger than asked is good enough: activation sizes of
      // one network repeat exactly, and a slightly larger block costs nothing.
      auto it = free_.lower_bound(n);
      if (it != free_.end() && it->first <= n + n / 8) {
        p = it->second->ptr;
        ASAN_UNPOISON_MEMORY_REGION(p, n);  // the slack past n stays poisoned: overflows are seen
        live_[p] = it->first;
        cachedBytes_ -= it->first;
        order_.erase(it->second);
        free_.erase(it);
        ++reuses_;
      }
    }
    if (!p) {
      p = c10::alloc_cpu(n);
      std::lock_guard<std::mutex> lock(mutex_);
      live_[p] = n;
      ++misses_;
    }
    return {p, p, &freeBlock, c10::Device(c10::DeviceType::CPU)};
  }

  // raw_allocate / raw_deallocate (used inside LibTorch) need one context-free deleter for
  // blocks of any size: release() tells cached blocks from small ones.
  c10::DeleterFnPtr raw_deleter() const override { return &freeBlock; }

  void release(void* p) {
    std::unique_lock<std::mutex> lock(mutex_);
    auto it = live_.find(p);
    if (it == live_.end()) {  // a small block: straight back to the system allocator
      lock.unlock();
      c10::free_cpu(p);
      return;
    }
    const size_t size = it->second;
    live_.erase(it);
    if (size > limit_) {
      lock.unlock();
      c10::free_cpu(p);
      return;
    }
    // A cached block is freed memory to its last owner: under AddressSanitizer a use after
    // free (or a read of a block another tensor will get) is reported, as with free().
    ASAN_POISON_MEMORY_REGION(p, size);
    std::list<Block>::iterator entry = order_.insert(order_.end(), Block{p, size, {}});
    entry->where = free_.emplace(size, entry);
    cachedBytes_ += size;
    std::vector<void*> evicted;
    while (cachedBytes_ > limit_ && !order_.empty()) {
      Block& oldest = order_.front();
      cachedBytes_ -= oldest.size;
      evicted.push_back(oldest.ptr);
      free_.erase(oldest.where);
      order_.pop_front();
    }
    lock.unlock();
    for (void* q : evicted) c10::free_cpu(q);  // free() accepts a block poisoned by hand
  }

  void releaseAll() {
    std::vector<void*> blocks;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (const Block& b : order_) blocks.push_back(b.ptr);
      order_.clear();
      free_.clear();
      cachedBytes_ = 0;
    }
    for (void* q : blocks) c10::free_cpu(q);
  }

  CpuAllocatorStats stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return {cachedBytes_, reuses_, misses_};
  }

 private:
  struct Block {
    void* ptr;
    size_t size;
    std::multimap<size_t, std::list<Block>::iterator>::iterator where;
  };

  // Small blocks skip the cache's lock and map entirely.
  static void freeSmall(void* p) { c10::free_cpu(p); }
  static void freeBlock(void* p);

  const size_t limit_;
  mutable std::mutex mutex_;
  mutable std::unordered_map<void*, size_t> live_;
  mutable std::list<Block> order_;  // freed blocks, oldest first
  mutable std::multimap<size_t, std::list<Block>::iterator> free_;
  mutable size_t cachedBytes_ = 0;
  mutable size_t reuses_ = 0;
  mutable size_t misses_ = 0;
};

// Never destroyed: tensors may be freed during static destruction.
CachingCpuAllocator* g_allocator = nullptr;
std::once_flag g_install;

void CachingCpuAllocator::freeBlock(void* p) { g_allocator->release(p); }

size_t defaultLimit() {
  const long pages = sysconf(_SC_PHYS_PAGES), pageSize = sysconf(_SC_PAGESIZE);
  const size_t physical = pages > 0 && pageSize > 0 ? size_t(pages) * size_t(pageSize) : size_t{8} << 30;
  return std::min(physical / 4, size_t{8} << 30);
}

}  // namespace

void installCachingCpuAllocator(size_t cacheLimitBytes) {
  // MQB_CPU_CACHE=0 keeps LibTorch's allocator (for A/B measurements).
  if (envSwitchOff("MQB_CPU_CACHE")) return;
  std::call_once(g_install, [&] {
    g_allocator = new CachingCpuAllocator(cacheLimitBytes ? cacheLimitBytes : defaultLimit());
    // Priority above the default allocator's 0, so LibTorch keeps ours.
    c10::SetCPUAllocator(g_allocator, /*priority=*/10);
  });
}

CpuAllocatorStats cpuAllocatorStats() { return g_allocator ? g_allocator->stats() : CpuAllocatorStats{}; }

void releaseCachedCpuMemory() {
  if (g_allocator) g_allocator->releaseAll();
}

}  // namespace mqb
