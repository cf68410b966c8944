#include "quant/ReductionGroups.h"

#include "support/Error.h"
#include "quant/OrderedFloatBits.h"
#include "quant/QuantGrid.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <string>

namespace mqb::quant {

GroupLayout GroupLayout::of(const torch::Tensor& x, int64_t axis) {
  GroupLayout layout;
  if (axis == kPerTensor) {
    layout.inner = x.numel();
    return layout;
  }
  if (axis < 0 || axis >= x.dim())
    throw Error("channel axis " + std::to_string(axis) + " is out of range for a tensor of " +
                std::to_string(x.dim()) + " dimensions");
  for (int64_t d = 0; d < axis; ++d) layout.outer *= x.size(d);
  layout.channels = x.size(axis);
  for (int64_t d = axis + 1; d < x.dim(); ++d) layout.inner *= x.size(d);
  return layout;
}

torch::Tensor contiguousFloat32(const torch::Tensor& x, const char* context) {
  if (!x.defined()) throw Error(std::string(context) + ": tensor is undefined");
  if (!x.device().is_cpu()) throw Error(std::string(context) + ": tensor must be on the CPU");
  if (x.scalar_type() != torch::kFloat)
    throw Error(std::string(context) + ": tensor must be float32, got " + std::string(c10::toString(x.scalar_type())));
  return x.contiguous();
}

void foldMinMax(const float* data, int64_t n, float& lo, float& hi) {
  // Integer keys (OrderedFloatBits.h) so the reduction vectorises; a non-finite value gets
  // the key that cannot win, and no finite float has either sentinel as its key. The
  // selection is written with masks: GCC 12 does not vectorise it as nested ?: .
  constexpr int32_t kNoMin = std::numeric_limits<int32_t>::max();
  constexpr int32_t kNoMax = std::numeric_limits<int32_t>::min();
  int32_t mn = kNoMin;
  int32_t mx = kNoMax;
  for (int64_t i = 0; i < n; ++i) {
    const int32_t b = detail::floatBits(data[i]);
    const int32_t finite = -static_cast<int32_t>(detail::finiteBits(b));  // all ones or 0
    const int32_t key = detail::orderedKey(b);
    mn = std::min(mn, (key & finite) | (kNoMin & ~finite));
    mx = std::max(mx, (key & finite) | (kNoMax & ~finite));
  }
  if (mn == kNoMin) return;  // no finite value
  lo = std::min(lo, detail::keyToFloat(mn));
  hi = std::max(hi, detail::keyToFloat(mx));
}

GroupMinMax groupMinMax(const torch::Tensor& x, int64_t axis) {
  const GroupLayout layout = GroupLayout::of(x, axis);
  const float* base = x.data_ptr<float>();
  constexpr float kInf = std::numeric_limits<float>::infinity();
  GroupMinMax result;
  result.min.assign(static_cast<size_t>(layout.channels), kInf);
  result.max.assign(static_cast<size_t>(layout.channels), -kInf);
  std::mutex merge;
  constexpr int64_t kGrain = int64_t{1} << 16;

  if (layout.channels == 1) {
    at::parallel_for(0, layout.numel(), kGrain, [&](int64_t begin, int64_t end) {
      float lo = kInf, hi = -kInf;
      foldMinMax(base + begin, end - begin, lo, hi);
      std::lock_guard<std::mutex> lock(merge);
      result.min[0] = std::min(result.min[0], lo);
      result.max[0] = std::max(result.max[0], hi);
    });
  } else if (layout.inner == 1) {
    // Channels are the fastest axis: element-wise min/max into one row of C keys.
    const int64_t c = layout.channels;
    at::parallel_for(0, layout.outer, std::max<int64_t>(1, kGrain / c), [&](int64_t begin, int64_t end) {
      std::vector<int32_t> mn(static_cast<size_t>(c), std::numeric_limits<int32_t>::max());
      std::vector<int32_t> mx(static_cast<size_t>(c), std::numeric_limits<int32_t>::min());
      for (int64_t o = begin; o < end; ++o) {
        const float* row = base + o * c;
        for (int64_t k = 0; k < c; ++k) {
          const int32_t b = detail::floatBits(row[k]);
          const bool finite = detail::finiteBits(b);
          const int32_t key = detail::orderedKey(b);
          const int32_t forMin = finite ? key : std::numeric_limits<int32_t>::max();
          const int32_t forMax = finite ? key : std::numeric_limits<int32_t>::min();
          mn[k] = forMin < mn[k] ? forMin : mn[k];
          mx[k] = forMax > mx[k] ? forMax : mx[k];
        }
      }
      std::lock_guard<std::mutex> lock(merge);
      for (int64_t k = 0; k < c; ++k) {
        if (mn[k] == std::numeric_limits<int32_t>::max()) continue;
        result.min[k] = std::min(result.min[k], detail::keyToFloat(mn[k]));
        result.max[k] = std::max(result.max[k], detail::keyToFloat(mx[k]));
      }
    });
  } else {
    const int64_t perChannel = std::max<int64_t>(1, layout.outer * layout.inner);
    at::parallel_for(0, layout.channels, std::max<int64_t>(1, kGrain / perChannel), [&](int64_t begin, int64_t end) {
      for (int64_t k = begin; k < end; ++k) {
        float lo = kInf, hi = -kInf;
        for (int64_t o = 0; o < layout.outer; ++o)
          foldMinMax(base + (o * layout.channels + k) * layout.inner, layout.inner, lo, hi);
        result.min[k] = lo;
        result.max[k] = hi;
      }
    });
  }
  return result;
}

}  // namespace mqb::quant
