#include "io/LabelCoverage.h"

#include <array>

namespace mqb {

std::vector<int> idsWithoutClass(const LabelVolume& labels, const ClassList& classes) {
  std::array<bool, 256> present{};
  for (uint8_t v : labels.voxels) present[v] = true;
  std::array<bool, 256> known{};
  for (const ClassInfo& c : classes)
    if (c.id >= 0 && c.id < 256) known[static_cast<size_t>(c.id)] = true;
  std::vector<int> ids;
  for (int id = 1; id < 256; ++id)
    if (present[static_cast<size_t>(id)] && !known[static_cast<size_t>(id)]) ids.push_back(id);
  return ids;
}

std::string describeIdsWithoutClass(const LabelVolume& labels, const ClassList& classes, const std::string& source) {
  if (classes.empty()) return {};
  const std::vector<int> ids = idsWithoutClass(labels, classes);
  if (ids.empty()) return {};
  std::string list;
  for (size_t i = 0; i < ids.size() && i < 8; ++i) list += (i ? ", " : "") + std::to_string(ids[i]);
  if (ids.size() > 8) list += ", ... (" + std::to_string(ids.size()) + " ids)";
  return source + ": label ids " + list +
         " are not among the model's classes; scores count them as background. If the file uses "
         "another numbering, give a label map (e.g. --label-map totalsegmentator-to-btcv).";
}

}  // namespace mqb
