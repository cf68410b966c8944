#include "io/LabelRemap.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/Error.h"
#include "support/FileChecks.h"
#include "support/JsonField.h"
#include "support/Resources.h"

namespace fs = std::filesystem;

namespace mqb {

LabelRemap LabelRemap::identity() { return LabelRemap(); }

LabelRemap LabelRemap::load(const std::string& nameOrPath) {
  fs::path path = nameOrPath;
  const bool looksLikePath = nameOrPath.find('/') != std::string::npos || path.extension() == ".json";
  if (!looksLikePath) path = fs::path(resourceDir()) / "label-maps" / (nameOrPath + ".json");
  std::error_code ec;
  if (looksLikePath || fs::exists(path, ec)) checkInputPath(path.string(), false, "label map table");
  std::ifstream in(path);
  if (!in) {
    std::string known;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(fs::path(resourceDir()) / "label-maps", ec))
      if (e.path().extension() == ".json") known += (known.empty() ? "" : ", ") + e.path().stem().string();
    throw Error("label map '" + nameOrPath + "': not found (" + path.string() +
                "); available: " + (known.empty() ? "none" : known));
  }
  nlohmann::json j;
  try {
    in >> j;
  } catch (const std::exception& e) {
    throw Error(path.string() + ": invalid JSON in the label map table: " + jsonReason(e));
  }
  const std::string source = path.string();
  if (!j.is_object()) throw Error(source + ": a label map table must be a JSON object");
  LabelRemap remap;
  remap.identity_ = false;
  remap.name_ = jsonValue<std::string>(j, "name", path.stem().string(), source);
  remap.defaultLabel_ = jsonValue<int>(j, "default", 0, source);
  if (remap.defaultLabel_ < 0 || remap.defaultLabel_ > 255)
    throw Error(source + ": field \"default\" is " + std::to_string(remap.defaultLabel_) +
                "; target ids must be 0..255");
  remap.table_.fill(remap.defaultLabel_);
  if (!j.contains("map") || !j["map"].is_object()) throw Error(path.string() + ": label map has no \"map\" object");
  for (const auto& [key, value] : j["map"].items()) {
    int from = 0;
    size_t used = 0;
    try {
      from = std::stoi(key, &used);
    } catch (...) {
      used = 0;
    }
    if (used == 0 || used != key.size())
      throw Error(path.string() + ": label map key '" + key + "' is not an integer");
    const int to = jsonAs<int>(value, source, "map." + key);
    if (from < 0 || from >= 65536 || to < 0 || to > 255)
      throw Error(path.string() + ": label map entry " + key + " -> " + std::to_string(to) +
                  " is out of range (source 0..65535, target 0..255)");
    remap.table_[from] = to;
  }
  return remap;
}

uint8_t LabelRemap::operator()(int64_t sourceLabel) const {
  if (identity_) return static_cast<uint8_t>(sourceLabel);
  if (sourceLabel < 0 || sourceLabel >= 65536) return static_cast<uint8_t>(defaultLabel_);
  return static_cast<uint8_t>(table_[static_cast<size_t>(sourceLabel)]);
}

}  // namespace mqb
