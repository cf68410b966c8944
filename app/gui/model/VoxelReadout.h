#pragma once
// The status-bar read-out under the cursor: "voxel (12, 40, 7)   HU 400   FP32: liver
// W4A4: spleen   GT: liver   (differ)". Label maps on another grid than the CT are skipped.
#include <memory>
#include <string>

#include "io/ClassInfo.h"
#include "io/Volume.h"

namespace mqb::gui {

struct VoxelLayers {
  std::shared_ptr<const ImageVolume> ct;
  std::shared_ptr<const LabelVolume> fp32, quantized, truth;
  std::string quantizedName;  // precision id of the quantized result, "W4A4"
  ClassList classes;          // of the loaded model, for the label names
};

// "background" for 0, the model's class name, else "label <id>".
std::string labelName(int id, const ClassList& classes);
// Empty when there is no CT or (x, y, z) is outside it.
std::string describeVoxel(const VoxelLayers& layers, int x, int y, int z);

}  // namespace mqb::gui
