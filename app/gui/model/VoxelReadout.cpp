#include "VoxelReadout.h"

#include "TextFormat.h"

namespace mqb::gui {

std::string labelName(int id, const ClassList& classes) {
  if (id == 0) return "background";
  for (const auto& c : classes)
    if (c.id == id) return c.name;
  return "label " + std::to_string(id);
}

std::string describeVoxel(const VoxelLayers& layers, int x, int y, int z) {
  const auto& v = layers.ct;
  if (!v || x < 0 || y < 0 || z < 0 || x >= v->geometry.size[0] || y >= v->geometry.size[1] || z >= v->geometry.size[2])
    return {};
  std::string text = "voxel (" + std::to_string(x) + ", " + std::to_string(y) + ", " + std::to_string(z) + ")   HU " +
                     fixed(v->at(x, y, z), 0);
  auto label = [&](const std::shared_ptr<const LabelVolume>& l) -> int {
    return (l && l->geometry.size == v->geometry.size) ? l->at(x, y, z) : -1;
  };
  const int f = label(layers.fp32), q = label(layers.quantized), g = label(layers.truth);
  if (f >= 0) text += "   FP32: " + labelName(f, layers.classes);
  if (q >= 0) text += "   " + layers.quantizedName + ": " + labelName(q, layers.classes);
  if (g >= 0) text += "   GT: " + labelName(g, layers.classes);
  if (f >= 0 && q >= 0 && f != q) text += "   (differ)";
  return text;
}

}  // namespace mqb::gui
