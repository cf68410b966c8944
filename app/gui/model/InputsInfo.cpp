#include "InputsInfo.h"

#include <algorithm>
#include <array>

#include "io/Reorientation.h"
#include "TableExport.h"
#include "TextFormat.h"

namespace mqb::gui {

const char* const kComputingText = "computing...";

namespace {

std::string spacingText(const std::array<double, 3>& s, int significant) {
  return general(s[0], significant) + " x " + general(s[1], significant) + " x " + general(s[2], significant) + " mm";
}

}  // namespace

IntensityRange intensityRange(const ImageVolume& volume) {
  if (volume.voxels.empty()) return {};
  const auto [lo, hi] = std::minmax_element(volume.voxels.begin(), volume.voxels.end());
  return {*lo, *hi};
}

std::vector<int> labelsPresent(const LabelVolume& labels) {
  std::array<int64_t, 256> counts{};
  for (uint8_t l : labels.voxels) ++counts[l];
  std::vector<int> present;
  for (int i = 1; i < 256; ++i)
    if (counts[static_cast<size_t>(i)]) present.push_back(i);
  return present;
}

InfoSection modelSection(const ModelInfo& info) {
  const ModelMetadata& m = info.metadata;
  InfoSection s{"Model", {}};
  s.rows = {
      {"Name", m.name},
      {"File", info.path},
      {"Framework", m.framework},
      {"Architecture", m.architecture},
      {"Category", m.category},
      {"Parameters", formatParameterCount(info.parameterCount) + " (" + std::to_string(info.parameterCount) + ")"},
      {"Classes", std::to_string(m.classes.size())},
      {"Patch (D,H,W)", std::to_string(m.patchSize[0]) + " x " + std::to_string(m.patchSize[1]) + " x " +
                            std::to_string(m.patchSize[2])},
      {"Target spacing", spacingText(m.targetSpacing, 6)},
      {"Orientation", m.orientation},
      {"Preprocessing", m.preprocessing.describe()},
      {"Quantizable ops", std::to_string(info.ops.size())}};
  if (!m.description.empty()) s.rows.push_back({"Description", m.description});
  return s;
}

InfoSection volumeSection(const ImageVolume& volume, const std::string& source,
                          const std::optional<IntensityRange>& range) {
  const ImageGeometry& g = volume.geometry;
  InfoSection s{"CT volume", {}};
  s.rows = {{"Source", source},
            {"Size", std::to_string(g.size[0]) + " x " + std::to_string(g.size[1]) + " x " + std::to_string(g.size[2])},
            {"Spacing", spacingText(g.spacing, 4)},
            {"Origin", fixed(g.origin[0], 1) + ", " + fixed(g.origin[1], 1) + ", " + fixed(g.origin[2], 1)},
            {"Orientation", orientationCode(g)},
            {"HU range", range ? fixed(range->low, 0) + " .. " + fixed(range->high, 0) : kComputingText}};
  return s;
}

InfoSection truthSection(const std::string& source, const std::string& labelMap,
                         const std::optional<std::vector<int>>& present) {
  InfoSection s{"Ground truth", {}};
  std::string ids;
  if (present) {
    for (int id : *present) ids += (ids.empty() ? "" : ", ") + std::to_string(id);
  } else {
    ids = kComputingText;
  }
  s.rows = {{"Source", source}, {"Label map", labelMap.empty() ? "identity" : labelMap}, {"Labels present", ids}};
  return s;
}

}  // namespace mqb::gui
