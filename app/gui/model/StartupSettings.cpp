#include "StartupSettings.h"

namespace mqb::gui {

quant::QuantConfig rememberedSettings(const std::string& json) {
  if (json.empty()) return {};
  try {
    return quant::QuantConfig::fromJson(nlohmann::json::parse(json));
  } catch (const std::exception&) {
    return {};
  }
}

quant::QuantConfig demoSettings() {
  quant::QuantConfig s;
  s.precision.weightBits = s.precision.activationBits = 4;
  s.granularity = quant::Granularity::PerTensor;
  return s;
}

quant::QuantConfig startupSettings(const quant::QuantConfig& remembered, bool demo, const QuantOverrides& o) {
  quant::QuantConfig settings = demo ? demoSettings() : remembered;
  if (!o.any()) return settings;
  nlohmann::json j = settings.toJson();
  if (!o.precision.empty()) j["precision"] = o.precision;
  if (!o.granularity.empty()) j["granularity"] = o.granularity;
  if (!o.calibrator.empty()) j["calibrator"] = o.calibrator;
  if (o.asymmetric) j["symmetric"] = false;
  j["excluded_ops"] = nlohmann::json::array();
  return quant::QuantConfig::fromJson(j);
}

}  // namespace mqb::gui
