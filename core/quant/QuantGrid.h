#pragma once
// The uniform quantization grid of SPEC section 1: which scale and zero point a b-bit
// quantizer uses for a given range, and the scalar quantize-dequantize every kernel,
// calibrator search and test agrees on.
//
// All arithmetic is float32, as the SPEC prescribes. Both grids reduce to one element rule,
//   x_hat = s * round(clamp(x / s, lo, hi)),
// with integer bounds: symmetric lo = -qmax, hi = qmax; asymmetric lo = -z, hi = (2^b-1) - z.
// Clamping before rounding equals the SPEC's clamp(round(.)) because the bounds are
// integers and rounding is monotone, and it keeps the rounded value small enough for the
// exact add-and-subtract rounding below.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <vector>

namespace mqb::quant {

// Axis value meaning "one group for the whole tensor" wherever an axis selects per-channel.
constexpr int64_t kPerTensor = -1;

constexpr int kMinBits = 2;
constexpr int kMaxBits = 16;
// The SPEC's lower bound on amax and on the asymmetric range, so an all-zero tensor gets a
// finite non-zero scale and quantizes to zeros instead of NaN.
constexpr float kMinRange = 1e-12f;

// Throws mqb::Error unless kMinBits <= bits <= kMaxBits.
void checkBits(int bits);

// 2^(b-1) - 1: the narrow signed range drops -2^(b-1) so the grid is symmetric about zero.
inline int64_t symmetricQmax(int bits) { return (int64_t{1} << (bits - 1)) - 1; }
// 2^b - 1: the number of steps of an asymmetric (unsigned) grid.
inline int64_t asymmetricQmax(int bits) { return (int64_t{1} << bits) - 1; }

// Round half to even of a float whose magnitude is at most 2^22, under the default
// rounding mode: adding 1.5 * 2^23 moves v into the binade where the float spacing is
// exactly 1, so the addition itself rounds (ties to even, since the constant is even) and
// the subtraction is exact. Unlike std::nearbyint this compiles to two vector adds, which
// is what lets the kernels auto-vectorise without SSE4.1. Results match std::nearbyint
// except that a negative input rounding to zero gives +0 instead of -0.
inline float roundHalfEven(float v) {
  constexpr float kShift = 12582912.0f;  // 1.5 * 2^23
  return (v + kShift) - kShift;
}

// The element rule above. NaN propagates (both comparisons are false), +-inf saturate.
inline float fakeQuantValue(float x, float scale, float lo, float hi) {
  float v = x / scale;
  v = v < lo ? lo : v;
  v = v > hi ? hi : v;
  return scale * roundHalfEven(v);
}

// Scale, zero point and integer bounds of one reduction group.
struct GroupGrid {
  float scale = 1.0f;
  float zeroPoint = 0.0f;  // integer valued; 0 for symmetric grids
  float lo = 0.0f;         // smallest level of x / scale: -qmax or -zeroPoint
  float hi = 0.0f;         // largest level: qmax or (2^b-1) - zeroPoint
};

// s = max(amax, 1e-12) / qmax, computed in float32. amax is taken by magnitude.
GroupGrid symmetricGroup(float amax, int bits);
// s = max(xmax - xmin, 1e-12) / (2^b - 1), z = clamp(round(-xmin / s), 0, 2^b - 1).
// The range is first widened to contain 0 (xmin <= 0 <= xmax), as every framework does:
// zero (padding, ReLU output) must be exact, and without it an all-positive range would
// have z clamped to 0 and lose its top (xmax - xmin .. xmax) to clipping.
GroupGrid asymmetricGroup(float xmin, float xmax, int bits);

// A static quantizer's grid for a whole tensor: one group (per-tensor) or one group per
// index of `axis` (per-channel). Scales are fixed at calibration time.
struct QuantGrid {
  int bits = 8;
  bool symmetric = true;
  int64_t axis = kPerTensor;  // channel axis (>= 0) of a per-channel grid
  std::vector<GroupGrid> groups;

  // Symmetric grid from one amax per group (a single value for per-tensor).
  static QuantGrid fromAmax(const std::vector<float>& amax, int bits, int64_t axis = kPerTensor);
  // Asymmetric grid from the observed minimum and maximum of each group.
  static QuantGrid fromMinMax(const std::vector<float>& xmin, const std::vector<float>& xmax, int bits,
                              int64_t axis = kPerTensor);

  // {"bits", "symmetric", "axis", "scale": [...], "zeroPoint": [...]}; the integer bounds
  // are re-derived on load, so a file cannot carry bounds that disagree with its bits.
  nlohmann::json toJson() const;
  static QuantGrid fromJson(const nlohmann::json& j);
};

}  // namespace mqb::quant
