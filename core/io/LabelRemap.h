#pragma once
// A lookup table applied to label maps on load, so label maps from other tools
// (e.g. TotalSegmentator ids) are compared in the model's class ids (e.g. BTCV).
#include <array>
#include <cstdint>
#include <string>

namespace mqb {

class LabelRemap {
 public:
  // Loads resources/label-maps/<name>.json, or a JSON file when nameOrPath is a path.
  // Format: {"name": "...", "description": "...", "default": 0, "map": {"52": 8, ...}}
  static LabelRemap load(const std::string& nameOrPath);
  static LabelRemap identity();

  uint8_t operator()(int64_t sourceLabel) const;
  const std::string& name() const { return name_; }

 private:
  std::string name_ = "identity";
  bool identity_ = true;
  int defaultLabel_ = 0;
  std::array<int, 65536> table_{};
};

}  // namespace mqb
