// Torch headers come first: this translation unit is Qt-free anyway.
#include "quant/QuantConfig.h"

#include "SessionTypes.h"

#include <sstream>

#include "Error.h"

namespace mqb::gui {

std::string OpInfo::shapeText() const {
  if (weightShape.empty()) return "--";
  std::ostringstream s;
  for (size_t i = 0; i < weightShape.size(); ++i) s << (i ? "x" : "") << weightShape[i];
  return s.str();
}

std::string QuantSettings::precisionId() const {
  if (floatingPoint) return "FP32";
  return "W" + std::to_string(weightBits) + "A" + std::to_string(activationBits);
}

nlohmann::json QuantSettings::toJson() const {
  return {{"precision", precisionId()},
          {"granularity", granularity},
          {"symmetric", symmetric},
          {"calibrator", calibrator},
          {"calibration_patches", calibrationPatches},
          {"calibration_seed", calibrationSeed},
          {"quantize_activation_matmul", quantizeActivationMatmul},
          {"excluded_ops", std::vector<std::string>(excludedOps.begin(), excludedOps.end())}};
}

QuantSettings QuantSettings::fromJson(const nlohmann::json& j) {
  // Validation (and aliases) through the engine's own parser.
  const quant::QuantConfig c = quant::QuantConfig::fromJson(j);
  QuantSettings s;
  s.floatingPoint = c.precision.floatingPoint;
  if (!s.floatingPoint) {
    s.weightBits = c.precision.weightBits;
    s.activationBits = c.precision.activationBits;
  }
  s.granularity = quant::granularityId(c.granularity);
  s.calibrator = c.calibrator.toString();
  s.symmetric = c.symmetric;
  s.calibrationPatches = c.calibrationPatches;
  s.calibrationSeed = c.calibrationSeed;
  s.quantizeActivationMatmul = c.quantizeActivationMatmul;
  s.excludedOps = c.excludedOps;
  return s;
}

std::string QuantSettings::describe() const {
  try {
    return quant::QuantConfig::fromJson(toJson()).describe();
  } catch (const std::exception& e) {
    return precisionId() + " (invalid: " + e.what() + ")";
  }
}

std::string QuantSettings::calibrationKey() const {
  return std::to_string(calibrationPatches) + "/" + std::to_string(calibrationSeed);
}

}  // namespace mqb::gui
