#include "StartupSettings.h"

namespace mqb::gui {

QuantSettings rememberedSettings(const std::string& json) {
  if (json.empty()) return {};
  try {
    return QuantSettings::fromJson(nlohmann::json::parse(json));
  } catch (const std::exception&) {
    return {};
  }
}

QuantSettings demoSettings() {
  QuantSettings s;
  s.weightBits = s.activationBits = 4;
  s.granularity = "per-tensor";
  return s;
}

QuantSettings startupSettings(const QuantSettings& remembered, bool demo, const QuantOverrides& o) {
  QuantSettings settings = demo ? demoSettings() : remembered;
  if (!o.any()) return settings;
  nlohmann::json j = settings.toJson();
  if (!o.precision.empty()) j["precision"] = o.precision;
  if (!o.granularity.empty()) j["granularity"] = o.granularity;
  if (!o.calibrator.empty()) j["calibrator"] = o.calibrator;
  if (o.asymmetric) j["symmetric"] = false;
  j["excluded_ops"] = nlohmann::json::array();
  return QuantSettings::fromJson(j);
}

}  // namespace mqb::gui
