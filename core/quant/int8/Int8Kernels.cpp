#include "quant/int8/Int8Kernels.h"

#include <ATen/Parallel.h>
#include <torch/library.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "support/Error.h"
#include "quant/QuantGrid.h"

namespace mqb::quant {
namespace {

// Positions per block of the NC<->NHWC transposes: 64 positions x C channels of uint8 and
// float stay in L1/L2 while one side is read with stride.
constexpr int64_t kBlock = 64;

bool channelsLastCandidate(const torch::Tensor& t) { return t.dim() == 4 || t.dim() == 5; }

c10::MemoryFormat channelsLastFormat(int64_t dim) {
  return dim == 5 ? c10::MemoryFormat::ChannelsLast3d : c10::MemoryFormat::ChannelsLast;
}

int64_t spatialSize(const torch::Tensor& t) {
  int64_t s = 1;
  for (int64_t d = 2; d < t.dim(); ++d) s *= t.size(d);
  return s;
}

inline uint8_t quantizeOne(float x, float scale, float lo, float hi, float zp) {
  float v = x / scale;
  // NaN takes the level of 0 (the zero point): converting it to int is undefined.
  v = v == v ? v : 0.0f;
  v = v < lo ? lo : v;
  v = v > hi ? hi : v;
  return static_cast<uint8_t>(static_cast<int>(roundHalfEven(v) + zp));
}

const torch::Tensor& checkQuint8(const torch::Tensor& q, const char* what) {
  if (!q.is_quantized() || q.scalar_type() != torch::kQUInt8 || q.qscheme() != torch::kPerTensorAffine)
    throw Error(std::string(what) + ": expects a per-tensor quint8 tensor");
  return q;
}

}  // namespace

torch::Tensor int8Quantize(const torch::Tensor& input, double scaleD, int64_t zeroPoint) {
  if (!input.device().is_cpu()) throw Error("INT8 execution runs on the CPU");
  const torch::Tensor x = input.to(torch::kFloat).contiguous();
  const float scale = static_cast<float>(scaleD), zp = static_cast<float>(zeroPoint);
  const float lo = -zp, hi = 255.0f - zp;
  const bool cl = channelsLastCandidate(x);
  torch::Tensor q = at::_empty_affine_quantized(x.sizes(), at::device(torch::kCPU).dtype(torch::kQUInt8), scale,
                                                zeroPoint,
                                                cl ? channelsLastFormat(x.dim()) : c10::MemoryFormat::Contiguous);
  const float* src = x.data_ptr<float>();
  uint8_t* dst = reinterpret_cast<uint8_t*>(q.data_ptr<c10::quint8>());
  if (!cl) {
    at::parallel_for(0, x.numel(), 1 << 16, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) dst[i] = quantizeOne(src[i], scale, lo, hi, zp);
    });
    return q;
  }
  const int64_t n = x.size(0), c = x.size(1), s = spatialSize(x), blocks = (s + kBlock - 1) / kBlock;
  at::parallel_for(0, n * blocks, 1, [&](int64_t b, int64_t e) {
    // The arithmetic runs on contiguous rows into an L1 buffer (vectorised); the transpose
    // to channels-last is a separate pass of byte moves.
    std::vector<uint8_t> buffer(static_cast<size_t>(c * kBlock));
    for (int64_t job = b; job < e; ++job) {
      const int64_t img = job / blocks, p0 = (job % blocks) * kBlock, len = std::min(s, p0 + kBlock) - p0;
      const float* in = src + img * c * s + p0;
      uint8_t* out = dst + (img * s + p0) * c;
      for (int64_t ch = 0; ch < c; ++ch) {
        const float* row = in + ch * s;
        uint8_t* line = buffer.data() + ch * kBlock;
        for (int64_t p = 0; p < len; ++p) line[p] = quantizeOne(row[p], scale, lo, hi, zp);
      }
      for (int64_t p = 0; p < len; ++p)
        for (int64_t ch = 0; ch < c; ++ch) out[p * c + ch] = buffer[static_cast<size_t>(ch * kBlock + p)];
    }
  });
  return q;
}

torch::Tensor int8Dequantize(const torch::Tensor& qIn) {
  checkQuint8(qIn, "mqb::int8_dequantize");
  const float scale = static_cast<float>(qIn.q_scale());
  const int zp = static_cast<int>(qIn.q_zero_point());
  const bool cl = channelsLastCandidate(qIn) && !qIn.is_contiguous() &&
                  qIn.is_contiguous(channelsLastFormat(qIn.dim()));
  const torch::Tensor q = cl ? qIn : qIn.contiguous();
  torch::Tensor y = torch::empty(q.sizes(), torch::kFloat);
  const uint8_t* src = reinterpret_cast<const uint8_t*>(q.data_ptr<c10::quint8>());
  float* dst = y.data_ptr<float>();
  if (!cl) {
    at::parallel_for(0, q.numel(), 1 << 16, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) dst[i] = static_cast<float>(static_cast<int>(src[i]) - zp) * scale;
    });
    return y;
  }
  const int64_t n = q.size(0), c = q.size(1), s = spatialSize(q), blocks = (s + kBlock - 1) / kBlock;
  at::parallel_for(0, n * blocks, 1, [&](int64_t b, int64_t e) {
    std::vector<uint8_t> buffer(static_cast<size_t>(c * kBlock));
    for (int64_t job = b; job < e; ++job) {
      const int64_t img = job / blocks, p0 = (job % blocks) * kBlock, len = std::min(s, p0 + kBlock) - p0;
      const uint8_t* in = src + (img * s + p0) * c;
      float* out = dst + img * c * s + p0;
      for (int64_t p = 0; p < len; ++p)
        for (int64_t ch = 0; ch < c; ++ch) buffer[static_cast<size_t>(ch * kBlock + p)] = in[p * c + ch];
      for (int64_t ch = 0; ch < c; ++ch) {
        const uint8_t* line = buffer.data() + ch * kBlock;
        float* row = out + ch * s;
        for (int64_t p = 0; p < len; ++p) row[p] = static_cast<float>(static_cast<int>(line[p]) - zp) * scale;
      }
    }
  });
  return y;
}

namespace {

// The affine map of a folded instance norm in terms of integer levels: for image `img` and
// channel `ch`, normalised = (level - zero point) * A + B, with mean and variance taken
// from the integer tensor (exact int64 sums, so they are those of the dequantized tensor up
// to the final float rounding).
struct LevelAffine {
  std::vector<float> A, B;  // [N * C]
};

LevelAffine levelAffineOfNorm(const torch::Tensor& q, bool cl, const c10::optional<torch::Tensor>& weight,
                              const c10::optional<torch::Tensor>& bias, double eps) {
  const int64_t n = q.size(0), c = q.size(1), s = spatialSize(q);
  const double scale = q.q_scale();
  const int64_t zp = q.q_zero_point();
  const uint8_t* src = reinterpret_cast<const uint8_t*>(q.data_ptr<c10::quint8>());
  std::vector<int64_t> sum(static_cast<size_t>(n * c), 0), squares(static_cast<size_t>(n * c), 0);
  const int64_t blocks = (s + 4095) / 4096;
  std::vector<int64_t> partSum(static_cast<size_t>(n * blocks * c), 0), partSq(partSum.size(), 0);
  at::parallel_for(0, n * blocks, 1, [&](int64_t b, int64_t e) {
    for (int64_t job = b; job < e; ++job) {
      const int64_t img = job / blocks, p0 = (job % blocks) * 4096, p1 = std::min(s, p0 + 4096);
      int64_t* ps = partSum.data() + job * c;
      int64_t* pq = partSq.data() + job * c;
      const uint8_t* in = src + img * c * s;
      // int32 partial sums are exact within a block: 4096 * 255^2 < 2^31.
      std::vector<int32_t> a(static_cast<size_t>(c), 0), a2(static_cast<size_t>(c), 0);
      if (cl) {
        for (int64_t p = p0; p < p1; ++p) {
          const uint8_t* v = in + p * c;
          for (int64_t ch = 0; ch < c; ++ch) {
            const int32_t x = v[ch];
            a[static_cast<size_t>(ch)] += x;
            a2[static_cast<size_t>(ch)] += x * x;
          }
        }
      } else {
        for (int64_t ch = 0; ch < c; ++ch) {
          int32_t s1 = 0, s2 = 0;
          const uint8_t* v = in + ch * s;
          for (int64_t p = p0; p < p1; ++p) {
            const int32_t x = v[p];
            s1 += x;
            s2 += x * x;
          }
          a[static_cast<size_t>(ch)] = s1;
          a2[static_cast<size_t>(ch)] = s2;
        }
      }
      for (int64_t ch = 0; ch < c; ++ch) {
        ps[ch] += a[static_cast<size_t>(ch)];
        pq[ch] += a2[static_cast<size_t>(ch)];
      }
    }
  });
  for (int64_t img = 0; img < n; ++img)
    for (int64_t blk = 0; blk < blocks; ++blk)
      for (int64_t ch = 0; ch < c; ++ch) {
        sum[static_cast<size_t>(img * c + ch)] += partSum[static_cast<size_t>((img * blocks + blk) * c + ch)];
        squares[static_cast<size_t>(img * c + ch)] += partSq[static_cast<size_t>((img * blocks + blk) * c + ch)];
      }

  // y = (x - mean) / sqrt(var + eps) * g + off with x = (level - zp) * scale, i.e.
  // y = (level - zp) * A + B per (image, channel).
  torch::Tensor w = weight && weight->defined() ? weight->to(torch::kFloat).contiguous() : torch::Tensor();
  torch::Tensor bi = bias && bias->defined() ? bias->to(torch::kFloat).contiguous() : torch::Tensor();
  if ((w.defined() && w.numel() != c) || (bi.defined() && bi.numel() != c))
    throw Error("mqb::int8 instance norm: weight/bias size differs from the channel count");
  LevelAffine f;
  f.A.resize(static_cast<size_t>(n * c));
  f.B.resize(static_cast<size_t>(n * c));
  for (int64_t img = 0; img < n; ++img)
    for (int64_t ch = 0; ch < c; ++ch) {
      const size_t i = static_cast<size_t>(img * c + ch);
      const double meanLevel = double(sum[i]) / double(s);
      const double varLevel = std::max(0.0, double(squares[i]) / double(s) - meanLevel * meanLevel);
      const double mean = (meanLevel - double(zp)) * scale, var = varLevel * scale * scale;
      const double inv = 1.0 / std::sqrt(var + eps);
      const double g = w.defined() ? w.data_ptr<float>()[ch] : 1.0;
      const double off = bi.defined() ? bi.data_ptr<float>()[ch] : 0.0;
      f.A[i] = static_cast<float>(scale * inv * g);
      f.B[i] = static_cast<float>(off - mean * inv * g);
    }
  return f;
}

// The normalised (and activated) float value of one integer level: the one expression both
// the float output and the requantizing lookup table use, so the two agree to the bit.
inline float normalisedLevel(int level, int zp, float a, float b, bool activation, float leak) {
  const float v = static_cast<float>(level - zp) * a + b;
  return activation && v < 0.0f ? v * leak : v;
}

}  // namespace

torch::Tensor int8DequantizeNorm(const torch::Tensor& qIn, const c10::optional<torch::Tensor>& weight,
                                 const c10::optional<torch::Tensor>& bias, double eps, double slope, bool activation) {
  checkQuint8(qIn, "mqb::int8_dequantize_norm");
  if (qIn.dim() < 3) throw Error("mqb::int8_dequantize_norm: expects [N, C, spatial...]");
  const bool cl = channelsLastCandidate(qIn) && !qIn.is_contiguous() &&
                  qIn.is_contiguous(channelsLastFormat(qIn.dim()));
  const torch::Tensor q = cl ? qIn : qIn.contiguous();
  const int64_t n = q.size(0), c = q.size(1), s = spatialSize(q);
  const uint8_t* src = reinterpret_cast<const uint8_t*>(q.data_ptr<c10::quint8>());
  const LevelAffine f = levelAffineOfNorm(q, cl, weight, bias, eps);
  torch::Tensor y = torch::empty(q.sizes(), torch::kFloat);
  float* dst = y.data_ptr<float>();
  const float leak = static_cast<float>(slope);
  const int izp = static_cast<int>(q.q_zero_point());
  const int64_t tb = (s + kBlock - 1) / kBlock;
  at::parallel_for(0, n * tb, 1, [&](int64_t b, int64_t e) {
    std::vector<uint8_t> buffer(static_cast<size_t>(c * kBlock));
    for (int64_t job = b; job < e; ++job) {
      const int64_t img = job / tb, p0 = (job % tb) * kBlock, len = std::min(s, p0 + kBlock) - p0;
      float* out = dst + img * c * s + p0;
      if (cl) {
        const uint8_t* in = src + (img * s + p0) * c;
        for (int64_t p = 0; p < len; ++p)
          for (int64_t ch = 0; ch < c; ++ch) buffer[static_cast<size_t>(ch * kBlock + p)] = in[p * c + ch];
      }
      for (int64_t ch = 0; ch < c; ++ch) {
        const float a = f.A[static_cast<size_t>(img * c + ch)], bb = f.B[static_cast<size_t>(img * c + ch)];
        const uint8_t* line = cl ? buffer.data() + ch * kBlock : src + img * c * s + ch * s + p0;
        float* row = out + ch * s;
        if (activation) {
          for (int64_t p = 0; p < len; ++p) row[p] = normalisedLevel(line[p], izp, a, bb, true, leak);
        } else {
          for (int64_t p = 0; p < len; ++p) row[p] = normalisedLevel(line[p], izp, a, bb, false, leak);
        }
      }
    }
  });
  return y;
}

torch::Tensor int8NormRequantize(const torch::Tensor& qIn, const c10::optional<torch::Tensor>& weight,
                                 const c10::optional<torch::Tensor>& bias, double eps, double slope, bool activation,
                                 double outScaleD, int64_t outZeroPoint) {
  checkQuint8(qIn, "mqb::int8_norm_requantize");
  if (qIn.dim() < 3) throw Error("mqb::int8_norm_requantize: expects [N, C, spatial...]");
  // The next integer kernel wants channels-last: produce it whatever the input layout.
  const bool clCandidate = channelsLastCandidate(qIn);
  const torch::Tensor q = clCandidate ? qIn.contiguous(channelsLastFormat(qIn.dim())) : qIn.contiguous();
  const int64_t n = q.size(0), c = q.size(1), s = spatialSize(q);
  const LevelAffine f = levelAffineOfNorm(q, clCandidate, weight, bias, eps);
  const float leak = static_cast<float>(slope);
  const int izp = static_cast<int>(q.q_zero_point());
  const float outScale = static_cast<float>(outScaleD), ozp = static_cast<float>(outZeroPoint);
  const float lo = -ozp, hi = 255.0f - ozp;
  // Every input level of a channel maps to one output level: a 256-entry table per
  // (image, channel) replaces dequantize + norm + activation + quantize, and the tensor
  // stays one byte per element in the kernels' channels-last layout.
  std::vector<uint8_t> table(static_cast<size_t>(n * c * 256));
  for (int64_t i = 0; i < n * c; ++i)
    for (int level = 0; level < 256; ++level)
      table[static_cast<size_t>(i * 256 + level)] = quantizeOne(
          normalisedLevel(level, izp, f.A[static_cast<size_t>(i)], f.B[static_cast<size_t>(i)], activation, leak),
          outScale, lo, hi, ozp);
  torch::Tensor out =
      at::_empty_affine_quantized(q.sizes(), at::device(torch::kCPU).dtype(torch::kQUInt8), outScaleD, outZeroPoint,
                                  clCandidate ? channelsLastFormat(q.dim()) : c10::MemoryFormat::Contiguous);
  const uint8_t* src = reinterpret_cast<const uint8_t*>(q.data_ptr<c10::quint8>());
  uint8_t* dst = reinterpret_cast<uint8_t*>(out.data_ptr<c10::quint8>());
  if (clCandidate) {
    at::parallel_for(0, n * s, 4096, [&](int64_t b, int64_t e) {
      for (int64_t pos = b; pos < e; ++pos) {
        const uint8_t* lut = table.data() + (pos / s) * c * 256;
        const uint8_t* in = src + pos * c;
        uint8_t* o = dst + pos * c;
        for (int64_t ch = 0; ch < c; ++ch) o[ch] = lut[ch * 256 + in[ch]];
      }
    });
  } else {
    at::parallel_for(0, n * c, 1, [&](int64_t b, int64_t e) {
      for (int64_t row = b; row < e; ++row) {
        const uint8_t* lut = table.data() + row * 256;
        for (int64_t p = 0; p < s; ++p) dst[row * s + p] = lut[src[row * s + p]];
      }
    });
  }
  return out;
}

torch::Tensor int8Requantize(const torch::Tensor& qIn, double outScaleD, int64_t outZeroPoint) {
  checkQuint8(qIn, "mqb::int8_requantize");
  const bool cl = channelsLastCandidate(qIn);
  const torch::Tensor q = cl ? qIn.contiguous(channelsLastFormat(qIn.dim())) : qIn.contiguous();
  const float scale = static_cast<float>(q.q_scale());
  const int izp = static_cast<int>(q.q_zero_point());
  const float outScale = static_cast<float>(outScaleD), ozp = static_cast<float>(outZeroPoint);
  // The level int8_dequantize + int8_quantize would give, for each of the 256 input levels.
  uint8_t table[256];
  for (int level = 0; level < 256; ++level)
    table[level] = quantizeOne(static_cast<float>(level - izp) * scale, outScale, -ozp, 255.0f - ozp, ozp);
  torch::Tensor out = at::_empty_affine_quantized(q.sizes(), at::device(torch::kCPU).dtype(torch::kQUInt8), outScaleD,
                                                  outZeroPoint,
                                                  cl ? channelsLastFormat(q.dim()) : c10::MemoryFormat::Contiguous);
  const uint8_t* src = reinterpret_cast<const uint8_t*>(q.data_ptr<c10::quint8>());
  uint8_t* dst = reinterpret_cast<uint8_t*>(out.data_ptr<c10::quint8>());
  at::parallel_for(0, q.numel(), 1 << 16, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) dst[i] = table[src[i]];
  });
  return out;
}

torch::Tensor int8CatChannels(const std::vector<torch::Tensor>& parts) {
  if (parts.empty()) throw Error("mqb::int8_cat_channels: no tensors");
  for (const auto& p : parts) checkQuint8(p, "mqb::int8_cat_channels");
  const torch::Tensor& first = parts.front();
  if (!channelsLastCandidate(first)) throw Error("mqb::int8_cat_channels: expects 4-D or 5-D tensors");
  const double scale = first.q_scale();
  const int64_t zp = first.q_zero_point();
  int64_t channels = 0;
  std::vector<torch::Tensor> cl;
  for (const auto& p : parts) {
    if (p.dim() != first.dim() || p.size(0) != first.size(0) || p.q_scale() != scale || p.q_zero_point() != zp)
      throw Error("mqb::int8_cat_channels: tensors differ in batch, rank or grid");
    for (int64_t d = 2; d < p.dim(); ++d)
      if (p.size(d) != first.size(d)) throw Error("mqb::int8_cat_channels: spatial sizes differ");
    cl.push_back(p.contiguous(channelsLastFormat(p.dim())));
    channels += p.size(1);
  }
  std::vector<int64_t> sizes = first.sizes().vec();
  sizes[1] = channels;
  torch::Tensor out = at::_empty_affine_quantized(sizes, at::device(torch::kCPU).dtype(torch::kQUInt8), scale, zp,
                                                  channelsLastFormat(first.dim()));
  const int64_t positions = first.size(0) * spatialSize(first);
  uint8_t* dst = reinterpret_cast<uint8_t*>(out.data_ptr<c10::quint8>());
  at::parallel_for(0, positions, 2048, [&](int64_t b, int64_t e) {
    int64_t offset = 0;
    for (const auto& p : cl) {
      const int64_t c = p.size(1);
      const uint8_t* src = reinterpret_cast<const uint8_t*>(p.data_ptr<c10::quint8>());
      for (int64_t pos = b; pos < e; ++pos)
        std::memcpy(dst + pos * channels + offset, src + pos * c, static_cast<size_t>(c));
      offset += c;
    }
  });
  return out;
}

TORCH_LIBRARY_FRAGMENT(mqb, m) {
  m.def("int8_quantize(Tensor x, float scale, int zero_point) -> Tensor", int8Quantize);
  m.def("int8_dequantize(Tensor q) -> Tensor", int8Dequantize);
  m.def("int8_dequantize_norm(Tensor q, Tensor? weight, Tensor? bias, float eps, float slope, bool activation) -> Tensor",
        int8DequantizeNorm);
  m.def("int8_norm_requantize(Tensor q, Tensor? weight, Tensor? bias, float eps, float slope, bool activation, "
        "float scale, int zero_point) -> Tensor",
        int8NormRequantize);
  m.def("int8_requantize(Tensor q, float scale, int zero_point) -> Tensor", int8Requantize);
  m.def("int8_cat_channels(Tensor[] parts) -> Tensor", int8CatChannels);
}

void registerInt8Operators() {}

}  // namespace mqb::quant
