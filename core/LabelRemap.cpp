#include "LabelRemap.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "Error.h"
#include "Resources.h"

namespace fs = std::filesystem;

namespace mqb {

LabelRemap LabelRemap::identity() { return LabelRemap(); }

LabelRemap LabelRemap::load(const std::string& nameOrPath) {
  fs::path path = nameOrPath;
  const bool looksLikePath = nameOrPath.find('/') != std::string::npos ||
                             path.extension() == ".json";
  if (!looksLikePath) path = fs::path(resourceDir()) / "label-maps" / (nameOrPath + ".json");
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
    throw Error(path.string() + ": invalid JSON label map: " + e.what());
  }
  LabelRemap remap;
  remap.identity_ = false;
  remap.name_ = j.value("name", path.stem().string());
  remap.defaultLabel_ = j.value("default", 0);
  remap.table_.fill(remap.defaultLabel_);
  if (!j.contains("map") || !j["map"].is_object())
    throw Error(path.string() + ": label map has no \"map\" object");
  for (const auto& [key, value] : j["map"].items()) {
    int from = 0;
    try {
      from = std::stoi(key);
    } catch (...) {
      throw Error(path.string() + ": label map key '" + key + "' is not an integer");
    }
    const int to = value.get<int>();
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
