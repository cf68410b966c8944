#pragma once
// Integer keys that order like float values, for reductions that must vectorise.
// GCC does not auto-vectorise a float min/max *reduction* without -ffast-math (NaN and
// signed-zero rules make it non-associative), but it does vectorise integer ones. An IEEE
// float's bit pattern, read as int32 with the magnitude bits of negative values flipped,
// is ordered exactly like the value (-0 just below +0), so the kernels reduce these keys.
#include <cstdint>
#include <cstring>

namespace mqb::quant::detail {

constexpr int32_t kMagnitudeMask = 0x7fffffff;
constexpr int32_t kInfinityBits = 0x7f800000;

inline int32_t floatBits(float v) {
  int32_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

inline float bitsToFloat(int32_t b) {
  float v;
  std::memcpy(&v, &b, sizeof v);
  return v;
}

// False for +-inf and NaN.
inline bool finiteBits(int32_t b) { return (b & kMagnitudeMask) < kInfinityBits; }

// The mapping is its own inverse: keyToFloat(orderedKey(floatBits(v))) == v.
inline int32_t orderedKey(int32_t b) { return b ^ ((b >> 31) & kMagnitudeMask); }
inline float keyToFloat(int32_t key) { return bitsToFloat(orderedKey(key)); }

}  // namespace mqb::quant::detail
