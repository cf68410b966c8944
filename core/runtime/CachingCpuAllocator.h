#pragma once
// A CPU allocator for LibTorch that keeps freed large blocks for reuse.
//
// A 3D network allocates activations of tens to hundreds of MB, every forward, in the same
// sizes: every sliding window, every quantized run. glibc serves blocks above 32 MB with a
// fresh mmap and returns them with munmap, so each one is page-faulted and zeroed by the
// kernel again: 10-15 % of a forward's time on the machines this was measured on, and
// most of the cost of each extra activation copy (fake quantization, layer analysis).
// This allocator hands a freed block of (almost) the same size back instead. Small blocks
// go straight to LibTorch's default allocator. The cache is bounded; it is emptied when
// it would exceed the bound, oldest-freed first.
#include <cstddef>

namespace mqb {

// Installs the allocator for the whole process (idempotent). Tensors allocated before keep
// their own deleters. Not installed when the environment sets MQB_CPU_CACHE=0.
// `cacheLimitBytes` 0 = a quarter of the physical memory, at most 8 GiB.
void installCachingCpuAllocator(size_t cacheLimitBytes = 0);

struct CpuAllocatorStats {
  size_t cachedBytes = 0;  // freed blocks held for reuse
  size_t reuses = 0;       // allocations served from the cache
  size_t misses = 0;       // large allocations that needed new memory
};
CpuAllocatorStats cpuAllocatorStats();
// Returns every cached block to the system (e.g. after a study is closed).
void releaseCachedCpuMemory();

}  // namespace mqb
