#pragma once
// The metadata every MedQuanBench model carries (SPEC section 7), parsed and validated
// from the JSON embedded in the TorchScript file (medquanbench.json) or beside it.
#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "io/ClassInfo.h"

namespace mqb {

struct IntensityPreprocessing {
  enum class Kind { ClipScale, ZScore, None };
  Kind kind = Kind::ClipScale;
  // ClipScale: clip HU to [clipLow, clipHigh], then map linearly onto [rangeLow, rangeHigh].
  double clipLow = -175, clipHigh = 250, rangeLow = 0, rangeHigh = 1;
  // ZScore: (x - mean) / std; a non-positive std means "use the volume's own statistics".
  double mean = 0, std = 0;
  bool zscoreClip = false;  // ZScore: clip to [clipLow, clipHigh] first
  std::string describe() const;
};

struct ModelMetadata {
  std::string name;
  std::string framework;     // "Framework" column of the benchmark table
  std::string architecture;  // "Architecture" column
  std::string category;      // CNN, Hybrid or Transformer
  std::string description;
  ClassList classes;  // index == class id == output channel
  int inputChannels = 1;
  // The model's tensor axes [N, C, A0, A1, A2]: "zyx" (default; nnU-Net / SimpleITK / ITK
  // arrays, D H W = z y x) or "xyz" (MONAI / nibabel arrays, A0 A1 A2 = x y z). patchSize
  // and targetSpacing are in this order, and the prepared input follows it.
  std::string axisOrder = "zyx";
  std::array<int64_t, 3> patchSize{0, 0, 0};     // A0, A1, A2 of the model tensor
  std::array<double, 3> targetSpacing{0, 0, 0};  // mm, A0, A1, A2 order
  std::string orientation = "LPS";               // direction of increasing x, y, z array index
  bool xyzAxes() const { return axisOrder == "xyz"; }
  IntensityPreprocessing preprocessing;
  int outputChannels = 0;
  nlohmann::json raw;  // the whole document, for fields the engine does not interpret

  // Throws mqb::Error("<source>: ...") on a missing or invalid field.
  static ModelMetadata fromJson(const nlohmann::json& j, const std::string& source);
  nlohmann::json toJson() const;
};

}  // namespace mqb
