#include "quant/QuantConfig.h"

#include <algorithm>
#include <cctype>
#include <sstream>

#include "support/Error.h"

namespace mqb::quant {

Granularity parseGranularity(const std::string& text) {
  std::string t = text;
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
  std::replace(t.begin(), t.end(), '_', '-');
  if (t == "per-tensor" || t == "tensor") return Granularity::PerTensor;
  if (t == "per-channel" || t == "per-token" || t == "per-channel/token" || t == "channel")
    return Granularity::PerChannel;
  if (t == "per-voxel" || t == "voxel") return Granularity::PerVoxel;
  if (t == "adaptive" || t == "adaptive-stratification") return Granularity::Adaptive;
  throw Error("unknown granularity '" + text + "' (per-tensor, per-channel, per-voxel, adaptive)");
}

std::string granularityId(Granularity g) {
  switch (g) {
    case Granularity::PerTensor: return "per-tensor";
    case Granularity::PerChannel: return "per-channel";
    case Granularity::PerVoxel: return "per-voxel";
    case Granularity::Adaptive: return "adaptive";
  }
  return "?";
}

Execution parseExecution(const std::string& text) {
  std::string t = text;
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
  std::replace(t.begin(), t.end(), '_', '-');
  if (t == "simulated" || t == "fake" || t == "fake-quant") return Execution::Simulated;
  if (t == "real-int8" || t == "int8" || t == "real") return Execution::RealInt8;
  throw Error("unknown execution '" + text + "' (simulated or real-int8)");
}

std::string executionId(Execution e) { return e == Execution::RealInt8 ? "real-int8" : "simulated"; }

std::string granularityTitle(Granularity g) {
  switch (g) {
    case Granularity::PerTensor: return "Per-tensor";
    case Granularity::PerChannel: return "Per-channel";
    case Granularity::PerVoxel: return "Per-voxel";
    case Granularity::Adaptive: return "Adaptive stratification";
  }
  return "?";
}

const std::vector<Granularity>& allGranularities() {
  static const std::vector<Granularity> all{Granularity::PerTensor, Granularity::PerChannel, Granularity::PerVoxel,
                                            Granularity::Adaptive};
  return all;
}

Precision Precision::integer(int w, int a) {
  for (int b : {w, a})
    if (b < 2 || b > 16) throw Error("bit-width " + std::to_string(b) + " is out of range (2..16)");
  Precision p;
  p.floatingPoint = false;
  p.weightBits = w;
  p.activationBits = a;
  return p;
}

Precision Precision::parse(const std::string& text) {
  std::string t;
  for (char c : text)
    if (!std::isspace(static_cast<unsigned char>(c)))
      t += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (t.rfind("INT", 0) == 0) t = t.substr(3);
  if (t == "FP32" || t == "FLOAT32") return fp32();
  const auto a = t.find('A');
  if (t.size() >= 4 && t[0] == 'W' && a != std::string::npos && a > 1 && a + 1 < t.size()) {
    const std::string w = t.substr(1, a - 1), act = t.substr(a + 1);
    const bool digits = std::all_of(w.begin(), w.end(), ::isdigit) && std::all_of(act.begin(), act.end(), ::isdigit);
    if (digits && w.size() <= 3 && act.size() <= 3) {
      const int wb = std::stoi(w), ab = std::stoi(act);
      if (wb < 2 || wb > 16 || ab < 2 || ab > 16)
        throw Error("precision '" + text + "': bit-widths must be in 2..16");
      return integer(wb, ab);
    }
  }
  throw Error("unknown precision '" + text + "' (FP32 or W<bits>A<bits> such as W8A8, W4A4, W4A8)");
}

std::string Precision::id() const {
  if (floatingPoint) return "FP32";
  return "W" + std::to_string(weightBits) + "A" + std::to_string(activationBits);
}

std::string Precision::title() const { return floatingPoint ? "FP32" : "INT " + id(); }

Precision QuantConfig::precisionOf(const std::string& opName, bool edgeOp) const {
  if (excludedOps.count(opName)) return Precision::fp32();
  auto it = opPrecision.find(opName);
  if (it != opPrecision.end()) return it->second;
  if (edgeOp && edgeBits > 0 && !precision.floatingPoint) return Precision::integer(edgeBits, edgeBits);
  return precision;
}

std::string QuantConfig::describe() const {
  if (precision.floatingPoint && opPrecision.empty()) return "FP32";
  std::ostringstream s;
  s << precision.id() << " " << granularityId(granularity) << ", " << (symmetric ? "symmetric" : "asymmetric") << ", "
    << calibrator.toString();
  if (!excludedOps.empty()) s << ", " << excludedOps.size() << " op(s) FP32";
  if (!opPrecision.empty()) s << ", " << opPrecision.size() << " op override(s)";
  if (!quantizeActivationMatmul) s << ", attention matmuls FP32";
  if (edgeBits > 0) s << ", edges W" << edgeBits << "A" << edgeBits;
  if (!method.roundToNearest()) s << ", " << method.id();
  if (execution == Execution::RealInt8) s << ", real INT8";
  return s.str();
}

nlohmann::json QuantConfig::toJson() const {
  nlohmann::json overrides = nlohmann::json::object();
  for (const auto& [op, p] : opPrecision) overrides[op] = p.id();
  return {{"precision", precision.id()},
          {"granularity", granularityId(granularity)},
          {"symmetric", symmetric},
          {"calibrator", calibrator.toString()},
          {"calibration_patches", calibrationPatches},
          {"calibration_seed", calibrationSeed},
          {"quantize_activation_matmul", quantizeActivationMatmul},
          {"excluded_ops", std::vector<std::string>(excludedOps.begin(), excludedOps.end())},
          {"op_precision", overrides},
          {"execution", executionId(execution)},
          {"method", method.id()},
          {"edge_bits", edgeBits}};
}

QuantConfig QuantConfig::fromJson(const nlohmann::json& j) {
  QuantConfig c;
  try {
    c.precision = Precision::parse(j.value("precision", "W8A8"));
    c.granularity = parseGranularity(j.value("granularity", "per-channel"));
    c.symmetric = j.value("symmetric", true);
    c.calibrator = CalibrationMethod::parse(j.value("calibrator", "minmax"));
    c.calibrationPatches = j.value("calibration_patches", 16);
    c.calibrationSeed = j.value("calibration_seed", 0u);
    c.quantizeActivationMatmul = j.value("quantize_activation_matmul", true);
    for (const auto& op : j.value("excluded_ops", std::vector<std::string>{})) c.excludedOps.insert(op);
    c.execution = parseExecution(j.value("execution", "simulated"));
    c.method = QuantMethod::parse(j.value("method", "rtn"));
    c.edgeBits = j.value("edge_bits", 0);
    if (j.contains("op_precision"))
      for (const auto& [op, p] : j["op_precision"].items())
        c.opPrecision[op] = Precision::parse(p.get<std::string>());
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(std::string("invalid quantization configuration JSON: ") + e.what());
  }
  if (c.calibrationPatches < 1) throw Error("calibration_patches must be >= 1");
  if (c.edgeBits != 0 && (c.edgeBits < 2 || c.edgeBits > 16)) throw Error("edge_bits must be 0 (off) or 2..16");
  return c;
}

bool QuantConfig::operator==(const QuantConfig& o) const {
  return precision == o.precision && granularity == o.granularity && symmetric == o.symmetric &&
         calibrator == o.calibrator && calibrationPatches == o.calibrationPatches &&
         calibrationSeed == o.calibrationSeed && quantizeActivationMatmul == o.quantizeActivationMatmul &&
         excludedOps == o.excludedOps && opPrecision == o.opPrecision && execution == o.execution &&
         method == o.method && edgeBits == o.edgeBits;
}

size_t QuantConfigHash::operator()(const QuantConfig& c) const {
  size_t h = 0;
  auto mix = [&h](size_t v) { h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2); };
  // Only what operator== compares, FP32 bits excepted, so equal configs hash equally.
  mix(c.precision.floatingPoint ? 0 : size_t(c.precision.weightBits * 64 + c.precision.activationBits));
  mix(size_t(c.granularity));
  mix(size_t(c.symmetric));
  mix(size_t(c.calibrator.kind));
  if (c.calibrator.kind == CalibrationKind::Percentile) mix(std::hash<double>()(c.calibrator.percentile));
  mix(size_t(c.calibrationPatches));
  mix(size_t(c.calibrationSeed));
  mix(size_t(c.quantizeActivationMatmul));
  for (const auto& op : c.excludedOps) mix(std::hash<std::string>()(op));
  for (const auto& [op, p] : c.opPrecision)
    mix(std::hash<std::string>()(op) + size_t(p.weightBits * 64 + p.activationBits));
  mix(size_t(c.execution));
  mix(std::hash<std::string>()(c.method.id()));
  mix(size_t(c.edgeBits));
  return h;
}

}  // namespace mqb::quant
