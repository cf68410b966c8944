#include "quant/QuantGrid.h"

#include "support/JsonField.h"

#include "support/Error.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace mqb::quant {

void checkBits(int bits) {
  if (bits < kMinBits || bits > kMaxBits)
    throw Error("quantization bit-width " + std::to_string(bits) + " is not supported (use " +
                std::to_string(kMinBits) + ".." + std::to_string(kMaxBits) + ")");
}

namespace {

void checkFinite(float value, const char* what) {
  if (!std::isfinite(value)) throw Error(std::string("quantization range: ") + what + " is not finite");
}

}  // namespace

GroupGrid symmetricGroup(float amax, int bits) {
  checkBits(bits);
  checkFinite(amax, "amax");
  const auto qmax = static_cast<float>(symmetricQmax(bits));
  GroupGrid g;
  g.scale = std::max(std::fabs(amax), kMinRange) / qmax;
  g.zeroPoint = 0.0f;
  g.lo = -qmax;
  g.hi = qmax;
  return g;
}

GroupGrid asymmetricGroup(float xmin, float xmax, int bits) {
  checkBits(bits);
  checkFinite(xmin, "minimum");
  checkFinite(xmax, "maximum");
  if (xmin > xmax) throw Error("quantization range: minimum is larger than maximum");
  const float lo = std::min(xmin, 0.0f);
  const float hi = std::max(xmax, 0.0f);
  const auto levels = static_cast<float>(asymmetricQmax(bits));
  GroupGrid g;
  const float width = hi - lo;
  checkFinite(width, "max - min");
  g.scale = std::max(width, kMinRange) / levels;
  g.zeroPoint = std::clamp(std::nearbyint(-lo / g.scale), 0.0f, levels);
  g.lo = -g.zeroPoint;
  g.hi = levels - g.zeroPoint;
  return g;
}

QuantGrid QuantGrid::fromAmax(const std::vector<float>& amax, int bits, int64_t axis) {
  checkBits(bits);
  if (amax.empty()) throw Error("quantization grid: no amax given");
  if (axis == kPerTensor && amax.size() != 1)
    throw Error("quantization grid: a per-tensor grid takes exactly one amax");
  if (axis < kPerTensor) throw Error("quantization grid: invalid channel axis");
  QuantGrid grid;
  grid.bits = bits;
  grid.symmetric = true;
  grid.axis = axis;
  grid.groups.reserve(amax.size());
  for (float a : amax) grid.groups.push_back(symmetricGroup(a, bits));
  return grid;
}

QuantGrid QuantGrid::fromMinMax(const std::vector<float>& xmin, const std::vector<float>& xmax, int bits, int64_t axis) {
  checkBits(bits);
  if (xmin.empty() || xmin.size() != xmax.size())
    throw Error("quantization grid: minimum and maximum lists differ in length");
  if (axis == kPerTensor && xmin.size() != 1)
    throw Error("quantization grid: a per-tensor grid takes exactly one range");
  if (axis < kPerTensor) throw Error("quantization grid: invalid channel axis");
  QuantGrid grid;
  grid.bits = bits;
  grid.symmetric = false;
  grid.axis = axis;
  grid.groups.reserve(xmin.size());
  for (size_t i = 0; i < xmin.size(); ++i) grid.groups.push_back(asymmetricGroup(xmin[i], xmax[i], bits));
  return grid;
}

nlohmann::json QuantGrid::toJson() const {
  nlohmann::json scales = nlohmann::json::array();
  nlohmann::json zeros = nlohmann::json::array();
  for (const auto& g : groups) {
    scales.push_back(g.scale);
    zeros.push_back(g.zeroPoint);
  }
  return {{"bits", bits}, {"symmetric", symmetric}, {"axis", axis}, {"scale", scales}, {"zeroPoint", zeros}};
}

QuantGrid QuantGrid::fromJson(const nlohmann::json& j) {
  try {
    QuantGrid grid;
    // Checked reads: get<int>() of 1e20 is an undefined float -> int conversion.
    grid.bits = jsonAs<int>(j.at("bits"), "quantization grid", "bits");
    checkBits(grid.bits);
    grid.symmetric = jsonAs<bool>(j.at("symmetric"), "quantization grid", "symmetric");
    grid.axis = jsonAs<int64_t>(j.at("axis"), "quantization grid", "axis");
    if (grid.axis < kPerTensor) throw Error("quantization grid: invalid channel axis");
    const auto scales = j.at("scale").get<std::vector<float>>();
    const auto zeros = j.at("zeroPoint").get<std::vector<float>>();
    if (scales.empty() || scales.size() != zeros.size())
      throw Error("quantization grid: scale and zeroPoint lists differ in length");
    if (grid.axis == kPerTensor && scales.size() != 1)
      throw Error("quantization grid: a per-tensor grid has exactly one scale");
    const auto levels = static_cast<float>(grid.symmetric ? symmetricQmax(grid.bits) : asymmetricQmax(grid.bits));
    for (size_t i = 0; i < scales.size(); ++i) {
      GroupGrid g;
      g.scale = scales[i];
      g.zeroPoint = grid.symmetric ? 0.0f : zeros[i];
      if (!(g.scale > 0.0f) || !std::isfinite(g.scale))
        throw Error("quantization grid: scale must be positive and finite");
      if (g.zeroPoint < 0.0f || g.zeroPoint > levels || g.zeroPoint != std::nearbyint(g.zeroPoint))
        throw Error("quantization grid: zero point must be an integer in the grid's range");
      g.lo = grid.symmetric ? -levels : -g.zeroPoint;
      g.hi = levels - g.zeroPoint;
      grid.groups.push_back(g);
    }
    return grid;
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("quantization grid JSON: ") + e.what());
  }
}

}  // namespace mqb::quant
