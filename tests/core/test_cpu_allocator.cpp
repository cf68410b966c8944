#include <gtest/gtest.h>
#include <torch/torch.h>

#include "CachingCpuAllocator.h"

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
