#include <gtest/gtest.h>
#include <torch/torch.h>

#include "runtime/CachingCpuAllocator.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

using namespace mqb;

// A freed large tensor's memory serves the next tensor of the same size (no new mmap and
// page faults per activation); small tensors and values are unaffected.
TEST(CachingCpuAllocator, ReusesLargeBlocksAndKeepsValuesCorrect) {
  installCachingCpuAllocator(size_t{256} << 20);
  releaseCachedCpuMemory();
  void* first = nullptr;
  {
    torch::Tensor a = torch::full({4, 1 << 20}, 3.0f);  // 16 MiB
    first = a.data_ptr();
    EXPECT_EQ(a.sum().item<double>(), 3.0 * 4 * (1 << 20));
  }
  const CpuAllocatorStats before = cpuAllocatorStats();
  EXPECT_GE(before.cachedBytes, size_t{16} << 20);
  torch::Tensor b = torch::zeros({4, 1 << 20});
  EXPECT_EQ(b.data_ptr(), first);
  EXPECT_EQ(b.abs().sum().item<double>(), 0.0);  // zeros() really zeroes reused memory
  EXPECT_EQ(cpuAllocatorStats().reuses, before.reuses + 1);
  // A much larger request does not take the smaller block.
  torch::Tensor c = torch::ones({8, 1 << 20});
  EXPECT_NE(c.data_ptr(), first);
  // The cache stays under its bound: 20 distinct 16 MiB blocks freed, at most 256 MiB kept.
  {
    std::vector<torch::Tensor> many;
    for (int i = 0; i < 20; ++i) many.push_back(torch::empty({4 + i, 1 << 20}));
  }
  EXPECT_LE(cpuAllocatorStats().cachedBytes, size_t{256} << 20);
  releaseCachedCpuMemory();
  EXPECT_EQ(cpuAllocatorStats().cachedBytes, 0u);
}

#if defined(__SANITIZE_ADDRESS__)
// Under AddressSanitizer (scripts/sanitize.sh) a block waiting in the cache is poisoned like
// freed memory, so a use after free of tensor data is reported rather than hidden by reuse;
// a reused block is usable again for the size asked.
TEST(CachingCpuAllocator, CachedBlocksArePoisonedUnderAddressSanitizer) {
  installCachingCpuAllocator(size_t{256} << 20);
  releaseCachedCpuMemory();
  const size_t bytes = size_t{16} << 20;
  const char* block = nullptr;
  {
    torch::Tensor a = torch::full({4, 1 << 20}, 1.0f);
    block = static_cast<const char*>(a.data_ptr());
    EXPECT_EQ(__asan_region_is_poisoned(a.data_ptr(), bytes), nullptr);
  }
  EXPECT_TRUE(__asan_address_is_poisoned(block));
  EXPECT_TRUE(__asan_address_is_poisoned(block + bytes - 1));
  torch::Tensor b = torch::zeros({4, 1 << 20});
  ASSERT_EQ(b.data_ptr(), block);
  EXPECT_EQ(__asan_region_is_poisoned(b.data_ptr(), bytes), nullptr);
  releaseCachedCpuMemory();
}
#endif
