#pragma once
// The Inputs panel: model metadata, CT geometry and ground-truth facts as titled sections of
// key / value rows. The two whole-volume scans (HU range, labels present) are separate
// functions so the panel runs them off the UI thread and shows "computing..." until then.
#include <optional>
#include <string>
#include <vector>

#include "SessionTypes.h"
#include "io/Volume.h"

namespace mqb::gui {

struct InfoRow {
  std::string key, value;
};

struct InfoSection {
  std::string title;
  std::vector<InfoRow> rows;
};

// Shown in place of a value whose whole-volume scan has not finished.
extern const char* const kComputingText;

struct IntensityRange {
  float low = 0, high = 0;
};

// Whole-volume scans (hundreds of ms on a 512x512x300 CT): not on the UI thread.
IntensityRange intensityRange(const ImageVolume& volume);
std::vector<int> labelsPresent(const LabelVolume& labels);  // ids > 0, ascending

InfoSection modelSection(const ModelInfo& model);
InfoSection volumeSection(const ImageVolume& volume, const std::string& source,
                          const std::optional<IntensityRange>& range);
InfoSection truthSection(const std::string& source, const std::string& labelMap,
                         const std::optional<std::vector<int>>& present);

}  // namespace mqb::gui
