#include "quant/FakeQuant.h"

#include "support/Error.h"
#include "runtime/FusedInstanceNorm.h"
#include "quant/OrderedFloatBits.h"
#include "quant/ReductionGroups.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <string>
#include <vector>

#ifdef __FAST_MATH__
#error "quant kernels rely on IEEE float semantics (roundHalfEven); do not build with -ffast-math"
#endif
#ifndef _OPENMP
#pragma message("quant kernels built without OpenMP: at::parallel_for runs serially; " \
                "link mqb_core to OpenMP::OpenMP_CXX")
#endif

namespace mqb::quant {

namespace {

// Elements per parallel task: large enough that handing a task to another thread costs
// far less than streaming it (64K floats = 256 KiB).
constexpr int64_t kGrain = int64_t{1} << 16;
// Positions per dynamic block. All channels of a block (64 channels: 256 KiB) stay in L2
// between the reduction pass and the quantization pass, so the input is read from memory
// once; and each channel's run is a whole 4 KiB page, long enough for the hardware
// prefetchers to follow the 64 channel-strided streams. Measured on the 1x64x96^3 bench:
// 512 positions reached ~0.55x of a copy, 1024-2048 ~0.75x, 4096 ~0.67x.
constexpr int64_t kBlock = 1024;

// The value the grid quantizes: the input itself, or LeakyReLU of it when the activation
// that produced the op's input is folded into the quantization pass (fakeQuantLeakyInto).
struct Identity {
  float operator()(float v) const { return v; }
};
struct Leaky {
  float slope;
  // ATen's leaky_relu, v > 0 ? v : v * slope, written as max + min * slope: GCC keeps the
  // ternary as a branch (no vectorisation). Same value for every v, NaN and +-inf included;
  // only an underflowing negative product may turn -0 into +0, which quantizes alike.
  float operator()(float v) const { return std::max(v, 0.0f) + std::min(v, 0.0f) * slope; }
};

template <typename Pre>
void quantizeRun(const float* x, float* y, int64_t n, float scale, float lo, float hi, Pre pre) {
  // x may equal y (in-place). GCC versions the loop with a run-time overlap check, and
  // an exact alias still takes the vector path since each element is read before written.
  for (int64_t i = 0; i < n; ++i) y[i] = fakeQuantValue(pre(x[i]), scale, lo, hi);
}

void checkOut(const torch::Tensor& x, const torch::Tensor& out, const char* context) {
  if (!out.defined() || !out.device().is_cpu() || out.scalar_type() != torch::kFloat || !out.is_contiguous())
    throw Error(std::string(context) + ": output must be a contiguous float32 CPU tensor");
  if (out.sizes() != x.sizes()) throw Error(std::string(context) + ": output shape differs from the input shape");
}

// --- static grids -----------------------------------------------------------------

template <typename Pre>
void staticPerTensor(const float* x, float* y, int64_t n, const GroupGrid& g, Pre pre) {
  at::parallel_for(0, n, kGrain, [&](int64_t begin, int64_t end) {
    quantizeRun(x + begin, y + begin, end - begin, g.scale, g.lo, g.hi, pre);
  });
}

template <typename Pre>
void staticPerChannel(const float* x, float* y, const GroupLayout& layout, const std::vector<GroupGrid>& groups,
                      Pre pre) {
  const int64_t channels = layout.channels;
  const int64_t inner = layout.inner;
  if (inner == 1) {
    // Channels are the fastest axis: per-element grid arrays keep the loop vectorisable.
    std::vector<float> scale(channels), lo(channels), hi(channels);
    for (int64_t c = 0; c < channels; ++c) {
      scale[c] = groups[c].scale;
      lo[c] = groups[c].lo;
      hi[c] = groups[c].hi;
    }
    at::parallel_for(0, layout.outer, std::max<int64_t>(1, kGrain / channels), [&](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; ++o) {
        const float* xr = x + o * channels;
        float* yr = y + o * channels;
        for (int64_t c = 0; c < channels; ++c) yr[c] = fakeQuantValue(pre(xr[c]), scale[c], lo[c], hi[c]);
      }
    });
    return;
  }
  // Split the flat index range, not the channels, so the threads stay balanced even for
  // [1, C, D, H, W] inputs with few channels; each task walks its rows of one channel.
  at::parallel_for(0, layout.numel(), kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end;) {
      const int64_t row = i / inner;
      const int64_t rowEnd = std::min(end, (row + 1) * inner);
      const GroupGrid& g = groups[row % channels];
      quantizeRun(x + i, y + i, rowEnd - i, g.scale, g.lo, g.hi, pre);
      i = rowEnd;
    }
  });
}

// --- dynamic grids ----------------------------------------------------------------

// One block of `len` contiguous positions of a [channels, stride] slab (per-voxel).
void dynamicSymmetricBlock(const float* x, float* y, int64_t channels, int64_t stride, int64_t len, float qmax) {
  float amax[kBlock];
  float scale[kBlock];
  std::fill(amax, amax + len, 0.0f);
  for (int64_t c = 0; c < channels; ++c) {
    const float* xc = x + c * stride;
    for (int64_t i = 0; i < len; ++i) {
      float a = std::fabs(xc[i]);
      a = a <= FLT_MAX ? a : 0.0f;  // the range covers finite values; inf saturates, NaN stays
      amax[i] = a > amax[i] ? a : amax[i];
    }
  }
  // Same expression as symmetricGroup(), so dynamic and static grids agree bit for bit.
  for (int64_t i = 0; i < len; ++i) scale[i] = std::max(amax[i], kMinRange) / qmax;
  for (int64_t c = 0; c < channels; ++c) {
    const float* xc = x + c * stride;
    float* yc = y + c * stride;
    for (int64_t i = 0; i < len; ++i) yc[i] = fakeQuantValue(xc[i], scale[i], -qmax, qmax);
  }
}

void dynamicAsymmetricBlock(const float* x, float* y, int64_t channels, int64_t stride, int64_t len, float levels) {
  // Starting both extremes at 0 is the widening to a range that contains 0
  // (asymmetricGroup() does the same with min(xmin, 0) / max(xmax, 0)).
  float mn[kBlock], mx[kBlock];
  std::fill(mn, mn + len, 0.0f);
  std::fill(mx, mx + len, 0.0f);
  for (int64_t c = 0; c < channels; ++c) {
    const float* xc = x + c * stride;
    for (int64_t i = 0; i < len; ++i) {
      const float v = std::fabs(xc[i]) <= FLT_MAX ? xc[i] : 0.0f;
      mn[i] = v < mn[i] ? v : mn[i];
      mx[i] = v > mx[i] ? v : mx[i];
    }
  }
  float* scale = mn;  // reuse the buffers once the range is consumed
  float* lo = mx;
  float hi[kBlock];
  for (int64_t i = 0; i < len; ++i) {
    const float s = std::max(mx[i] - mn[i], kMinRange) / levels;
    float z = -mn[i] / s;
    z = z < 0.0f ? 0.0f : z;
    z = z > levels ? levels : z;
    z = roundHalfEven(z);
    scale[i] = s;
    lo[i] = -z;
    hi[i] = levels - z;
  }
  for (int64_t c = 0; c < channels; ++c) {
    const float* xc = x + c * stride;
    float* yc = y + c * stride;
    for (int64_t i = 0; i < len; ++i) yc[i] = fakeQuantValue(xc[i], scale[i], lo[i], hi[i]);
  }
}

// Largest finite |x| of one contiguous row (0 when there is none). Reduced on integer
// keys (OrderedFloatBits.h) because a float max reduction does not vectorise.
float rowAbsMax(const float* x, int64_t n) {
  int32_t m = 0;
  for (int64_t i = 0; i < n; ++i) {
    int32_t b = detail::floatBits(x[i]) & detail::kMagnitudeMask;
    b = b < detail::kInfinityBits ? b : 0;
    m = b > m ? b : m;
  }
  return detail::bitsToFloat(m);
}

// Smallest and largest finite value of one contiguous row, both starting from 0.
void rowMinMaxWithZero(const float* x, int64_t n, float& lo, float& hi) {
  int32_t mn = 0, mx = 0;  // key of +0 is 0
  for (int64_t i = 0; i < n; ++i) {
    const int32_t b = detail::floatBits(x[i]);
    const int32_t key = detail::finiteBits(b) ? detail::orderedKey(b) : 0;
    mn = key < mn ? key : mn;
    mx = key > mx ? key : mx;
  }
  lo = detail::keyToFloat(mn);
  hi = detail::keyToFloat(mx);
}

// Per-token: the channels of a position are one contiguous row, read once into L1.
void dynamicRows(const float* x, float* y, int64_t rows, int64_t channels, int bits, bool symmetric) {
  const auto qmax = static_cast<float>(symmetricQmax(bits));
  const auto levels = static_cast<float>(asymmetricQmax(bits));
  at::parallel_for(0, rows, std::max<int64_t>(1, kGrain / channels), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* xr = x + r * channels;
      float* yr = y + r * channels;
      if (symmetric) {
        const float scale = std::max(rowAbsMax(xr, channels), kMinRange) / qmax;
        quantizeRun(xr, yr, channels, scale, -qmax, qmax, Identity{});
      } else {
        float mn, mx;
        rowMinMaxWithZero(xr, channels, mn, mx);
        const float scale = std::max(mx - mn, kMinRange) / levels;
        const float z = roundHalfEven(std::clamp(-mn / scale, 0.0f, levels));
        quantizeRun(xr, yr, channels, scale, -z, levels - z, Identity{});
      }
    }
  });
}

// Per-voxel: positions are contiguous within a channel; tasks are blocks of positions.
void dynamicBlocks(const float* x, float* y, const GroupLayout& layout, int bits, bool symmetric) {
  const int64_t blocksPerSlab = (layout.inner + kBlock - 1) / kBlock;
  const int64_t tasks = layout.outer * blocksPerSlab;
  const int64_t elementsPerTask = layout.channels * std::min(kBlock, layout.inner);
  const auto qmax = static_cast<float>(symmetricQmax(bits));
  const auto levels = static_cast<float>(asymmetricQmax(bits));
  at::parallel_for(0, tasks, std::max<int64_t>(1, kGrain / elementsPerTask), [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t o = t / blocksPerSlab;
      const int64_t start = (t % blocksPerSlab) * kBlock;
      const int64_t len = std::min(kBlock, layout.inner - start);
      const int64_t offset = o * layout.channels * layout.inner + start;
      if (symmetric)
        dynamicSymmetricBlock(x + offset, y + offset, layout.channels, layout.inner, len, qmax);
      else
        dynamicAsymmetricBlock(x + offset, y + offset, layout.channels, layout.inner, len, levels);
    }
  });
}

}  // namespace

namespace {

template <typename Pre>
void staticInto(const torch::Tensor& x, const QuantGrid& grid, const torch::Tensor& out, Pre pre) {
  checkBits(grid.bits);
  const torch::Tensor input = contiguousFloat32(x, "fake quantization");
  checkOut(input, out, "fake quantization");
  const GroupLayout layout = GroupLayout::of(input, grid.axis);
  if (grid.groups.size() != static_cast<size_t>(layout.channels))
    throw Error("fake quantization: the grid has " + std::to_string(grid.groups.size()) + " groups but axis " +
                std::to_string(grid.axis) + " has " + std::to_string(layout.channels) + " channels");
  const float* xp = input.data_ptr<float>();
  float* yp = out.data_ptr<float>();
  if (grid.axis == kPerTensor || layout.channels == 1)
    staticPerTensor(xp, yp, layout.numel(), grid.groups.front(), pre);
  else
    staticPerChannel(xp, yp, layout, grid.groups, pre);
}

}  // namespace

void fakeQuantInto(const torch::Tensor& x, const QuantGrid& grid, const torch::Tensor& out) {
  staticInto(x, grid, out, Identity{});
}

void fakeQuantLeakyInto(const torch::Tensor& x, double negativeSlope, const QuantGrid& grid, const torch::Tensor& out) {
  staticInto(x, grid, out, Leaky{static_cast<float>(negativeSlope)});
}

void fakeQuantNormLeakyInto(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                            double eps, double negativeSlope, const QuantGrid& grid, const torch::Tensor& out) {
  checkBits(grid.bits);
  const torch::Tensor input = contiguousFloat32(x, "fake quantization");
  checkOut(input, out, "fake quantization");
  if (input.dim() < 2) throw Error("fake quantization: an instance norm needs [N, C, spatial...]");
  const int64_t channels = input.size(1);
  const bool perTensor = grid.axis == kPerTensor || grid.groups.size() == 1;
  if (!perTensor && (grid.axis != 1 || grid.groups.size() != static_cast<size_t>(channels)))
    throw Error("fake quantization: the grid does not match the norm's channels");
  if ((weight.defined() && weight.numel() != channels) || (bias.defined() && bias.numel() != channels))
    throw Error("fake quantization: the norm's weight or bias does not match its channels");
  const Leaky leaky{static_cast<float>(negativeSlope)};
  forEachInstanceNormPlane(input, weight, bias, eps, out,
                           [&](const float* xs, float* ys, int64_t n, int64_t c, const PlaneNorm& a) {
                             const GroupGrid& g = grid.groups[perTensor ? 0 : static_cast<size_t>(c)];
                             const float centre = a.centre, scale = a.scale, shift = a.shift;
                             for (int64_t i = 0; i < n; ++i)
                               ys[i] = fakeQuantValue(leaky((xs[i] - centre) * scale + shift), g.scale, g.lo, g.hi);
                           });
}

torch::Tensor fakeQuant(const torch::Tensor& x, const QuantGrid& grid) {
  torch::Tensor out = torch::empty(x.sizes(), x.options().memory_format(torch::MemoryFormat::Contiguous));
  fakeQuantInto(x, grid, out);
  return out;
}

void fakeQuantDynamicInto(const torch::Tensor& x, int64_t channelDim, int bits, bool symmetric,
                          const torch::Tensor& out) {
  checkBits(bits);
  const torch::Tensor input = contiguousFloat32(x, "dynamic fake quantization");
  checkOut(input, out, "dynamic fake quantization");
  if (input.dim() == 0) throw Error("dynamic fake quantization: a scalar has no channel dimension");
  const int64_t dim = channelDim < 0 ? channelDim + input.dim() : channelDim;
  const GroupLayout layout = GroupLayout::of(input, dim);
  if (layout.numel() == 0) return;
  const float* xp = input.data_ptr<float>();
  float* yp = out.data_ptr<float>();
  if (layout.inner == 1)
    dynamicRows(xp, yp, layout.outer, layout.channels, bits, symmetric);
  else
    dynamicBlocks(xp, yp, layout, bits, symmetric);
}

torch::Tensor fakeQuantDynamic(const torch::Tensor& x, int64_t channelDim, int bits, bool symmetric) {
  torch::Tensor out = torch::empty(x.sizes(), x.options().memory_format(torch::MemoryFormat::Contiguous));
  fakeQuantDynamicInto(x, channelDim, bits, symmetric, out);
  return out;
}

QuantGrid weightGrid(const torch::Tensor& weight, int64_t perChannelAxis, int bits, bool symmetric) {
  checkBits(bits);
  const torch::Tensor w = contiguousFloat32(weight, "weight quantization");
  GroupMinMax range = groupMinMax(w, perChannelAxis);
  // A group with no finite value (empty or all NaN) gets the floor scale, like zeros.
  for (size_t g = 0; g < range.min.size(); ++g)
    if (range.min[g] > range.max[g]) range.min[g] = range.max[g] = 0.0f;
  if (range.min.empty()) throw Error("weight quantization: the weight has no channels");
  if (!symmetric) return QuantGrid::fromMinMax(range.min, range.max, bits, perChannelAxis);
  std::vector<float> amax(range.min.size());
  for (size_t g = 0; g < amax.size(); ++g) amax[g] = std::max(std::fabs(range.min[g]), std::fabs(range.max[g]));
  return QuantGrid::fromAmax(amax, bits, perChannelAxis);
}

torch::Tensor fakeQuantWeight(const torch::Tensor& weight, int64_t perChannelAxis, int bits, bool symmetric) {
  return fakeQuant(weight, weightGrid(weight, perChannelAxis, bits, symmetric));
}

}  // namespace mqb::quant
