#pragma once
// Reduction groups: every granularity sees a contiguous tensor as [outer, channels, inner]
// around one axis. A per-channel group c is the `outer` runs of `inner` values starting at
// (o * channels + c) * inner; a per-voxel/per-token position is one (o, i) pair read across
// the channels. Per-tensor is the degenerate split [1, 1, numel].
#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace mqb::quant {

struct GroupLayout {
  int64_t outer = 1;
  int64_t channels = 1;
  int64_t inner = 1;

  int64_t numel() const { return outer * channels * inner; }
  // Splits around `axis` (0 <= axis < dim), or [1, 1, numel] for kPerTensor.
  static GroupLayout of(const torch::Tensor& x, int64_t axis);
};

// The float32 CPU tensor the kernels can stream over: `x` itself when already contiguous,
// otherwise a contiguous copy. Throws mqb::Error (naming `context`) for other dtypes/devices.
torch::Tensor contiguousFloat32(const torch::Tensor& x, const char* context);

// Smallest and largest finite value of each group (NaN and +-inf are skipped, so one bad
// activation cannot poison a calibration). A group without finite values reports
// min = +inf, max = -inf. Runs in parallel; `x` must be contiguous float32.
struct GroupMinMax {
  std::vector<float> min;
  std::vector<float> max;
};
GroupMinMax groupMinMax(const torch::Tensor& x, int64_t axis);

// Finite min/max of `n` contiguous values, folded into (lo, hi).
void foldMinMax(const float* data, int64_t n, float& lo, float& hi);

}  // namespace mqb::quant
