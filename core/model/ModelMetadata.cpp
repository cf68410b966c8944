#include "model/ModelMetadata.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>
#include <type_traits>

#include "support/Error.h"
#include "support/JsonField.h"

namespace mqb {
namespace {

template <typename T, size_t N>
std::array<T, N> readArray(const nlohmann::json& j, const char* key, const std::string& source) {
  if (!j.contains(key) || !j[key].is_array() || j[key].size() != N)
    throw Error(source + ": metadata field \"" + key + "\" must be an array of " + std::to_string(N) + " numbers");
  std::array<T, N> out{};
  for (size_t i = 0; i < N; ++i) {
    if (!j[key][i].is_number())
      throw Error(source + ": metadata field \"" + key + "[" + std::to_string(i) + "]\" must be a number, but is " +
                  j[key][i].dump());
    out[i] = jsonAs<std::conditional_t<std::is_integral_v<T>, int64_t, double>>(
        j[key][i], source, std::string(key) + "[" + std::to_string(i) + "]");
  }
  return out;
}

std::string requireString(const nlohmann::json& j, const char* key, const std::string& source) {
  if (!j.contains(key) || !j[key].is_string() || j[key].get<std::string>().empty())
    throw Error(source + ": metadata field \"" + key + "\" is missing or not a string");
  return j[key].get<std::string>();
}

bool validOrientation(const std::string& o) {
  if (o.size() != 3) return false;
  std::set<int> axes;
  for (char c : o) {
    switch (c) {
      case 'L':
      case 'R': axes.insert(0); break;
      case 'P':
      case 'A': axes.insert(1); break;
      case 'S':
      case 'I': axes.insert(2); break;
      default: return false;
    }
  }
  return axes.size() == 3;
}

}  // namespace

std::string IntensityPreprocessing::describe() const {
  std::ostringstream s;
  switch (kind) {
    case Kind::ClipScale:
      s << "clip HU to [" << clipLow << ", " << clipHigh << "], scale to [" << rangeLow << ", " << rangeHigh << "]";
      break;
    case Kind::ZScore:
      if (zscoreClip) s << "clip HU to [" << clipLow << ", " << clipHigh << "], then ";
      if (std > 0)
        s << "z-score (mean " << mean << ", std " << std << ")";
      else
        s << "z-score (per-volume statistics)";
      break;
    case Kind::None: s << "none"; break;
  }
  return s.str();
}

ModelMetadata ModelMetadata::fromJson(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object()) throw Error(source + ": metadata is not a JSON object");
  ModelMetadata m;
  m.raw = j;
  m.name = requireString(j, "name", source);
  m.architecture = jsonValue<std::string>(j, "architecture", m.name, source);
  m.framework = jsonValue<std::string>(j, "framework", m.architecture, source);
  m.category = requireString(j, "category", source);
  if (m.category != "CNN" && m.category != "Hybrid" && m.category != "Transformer")
    throw Error(source + ": metadata \"category\" is '" + m.category + "'; expected CNN, Hybrid or Transformer");
  m.description = jsonValue<std::string>(j, "description", "", source);

  if (!j.contains("classes") || !j["classes"].is_array() || j["classes"].size() < 2)
    throw Error(source + ": metadata \"classes\" must list at least background and one class");
  for (const auto& c : j["classes"]) {
    const std::string field = "classes[" + std::to_string(m.classes.size()) + "]";
    ClassInfo ci;
    if (!c.is_object() || !c.contains("id") || !c.contains("name"))
      throw Error(source + ": every entry of \"classes\" needs \"id\" and \"name\"");
    ci.id = jsonAs<int>(c["id"], source, field + ".id");
    ci.name = jsonAs<std::string>(c["name"], source, field + ".name");
    if (c.contains("color")) {
      auto rgb = readArray<int, 3>(c, "color", source);
      for (int k = 0; k < 3; ++k) ci.color[k] = static_cast<uint8_t>(std::clamp(rgb[k], 0, 255));
    }
    if (ci.id != static_cast<int>(m.classes.size()))
      throw Error(source + ": class ids must be 0, 1, 2, ... in order (found " + std::to_string(ci.id) +
                  " at position " + std::to_string(m.classes.size()) + ")");
    m.classes.push_back(ci);
  }
  if (m.classes.size() > 256) throw Error(source + ": more than 256 classes are not supported");

  m.inputChannels = jsonValue<int>(j, "input_channels", 1, source);
  if (m.inputChannels < 1) throw Error(source + ": \"input_channels\" must be >= 1");
  m.patchSize = readArray<int64_t, 3>(j, "patch_size", source);
  for (auto p : m.patchSize)
    if (p < 4 || p > 1024) throw Error(source + ": \"patch_size\" entries must be in 4..1024");
  m.targetSpacing = readArray<double, 3>(j, "target_spacing", source);
  for (auto s : m.targetSpacing)
    if (!(s > 0) || !std::isfinite(s)) throw Error(source + ": \"target_spacing\" must be positive");
  m.axisOrder = jsonValue<std::string>(j, "axis_order", "zyx", source);
  if (m.axisOrder != "zyx" && m.axisOrder != "xyz")
    throw Error(source + ": \"axis_order\" '" + m.axisOrder +
                "' must be \"zyx\" (tensor axes z, y, x: nnU-Net, SimpleITK) or \"xyz\" (MONAI, nibabel)");
  m.orientation = jsonValue<std::string>(j, "orientation", "LPS", source);
  if (!validOrientation(m.orientation))
    throw Error(source + ": \"orientation\" '" + m.orientation + "' is not a 3-letter code like LPS or RAS");

  if (j.contains("preprocessing")) {
    const auto& p = j["preprocessing"];
    if (!p.is_object()) throw Error(source + ": metadata field \"preprocessing\" must be an object");
    const std::string type = jsonValue<std::string>(p, "type", "clip_scale", source, "preprocessing");
    if (type == "clip_scale") {
      m.preprocessing.kind = IntensityPreprocessing::Kind::ClipScale;
      auto clip = readArray<double, 2>(p, "clip", source);
      m.preprocessing.clipLow = clip[0];
      m.preprocessing.clipHigh = clip[1];
      if (p.contains("range")) {
        auto range = readArray<double, 2>(p, "range", source);
        m.preprocessing.rangeLow = range[0];
        m.preprocessing.rangeHigh = range[1];
      }
      if (!(m.preprocessing.clipHigh > m.preprocessing.clipLow))
        throw Error(source + ": preprocessing clip range is empty");
    } else if (type == "zscore") {
      m.preprocessing.kind = IntensityPreprocessing::Kind::ZScore;
      m.preprocessing.mean = jsonValue<double>(p, "mean", 0.0, source, "preprocessing");
      m.preprocessing.std = jsonValue<double>(p, "std", 0.0, source, "preprocessing");
      // nnU-Net's CT normalisation clips to foreground percentiles before the z-score.
      if (p.contains("clip")) {
        auto clip = readArray<double, 2>(p, "clip", source);
        m.preprocessing.clipLow = clip[0];
        m.preprocessing.clipHigh = clip[1];
        m.preprocessing.zscoreClip = true;
        if (!(clip[1] > clip[0])) throw Error(source + ": preprocessing clip range is empty");
      }
    } else if (type == "none") {
      m.preprocessing.kind = IntensityPreprocessing::Kind::None;
    } else {
      throw Error(source + ": unknown preprocessing type '" + type + "' (clip_scale, zscore or none)");
    }
  }
  m.outputChannels = static_cast<int>(m.classes.size());
  if (j.contains("output") && j["output"].is_object() && j["output"].contains("channels")) {
    m.outputChannels = jsonAs<int>(j["output"]["channels"], source, "output.channels");
    if (m.outputChannels != static_cast<int>(m.classes.size()))
      throw Error(source + ": \"output.channels\" is " + std::to_string(m.outputChannels) +
                  " but the class list has " + std::to_string(m.classes.size()) + " entries");
  }
  return m;
}

nlohmann::json ModelMetadata::toJson() const { return raw; }

}  // namespace mqb
