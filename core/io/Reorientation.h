#pragma once
// Axis permutation and flips that bring an image array into a model's orientation
// (e.g. "LPS": array x increases toward patient Left, y toward Posterior, z toward
// Superior), decided from the image direction matrix. Oblique directions are snapped to
// the closest axes, which is what CT inference pipelines do (no oblique resampling).
#include <array>
#include <string>

#include "io/Volume.h"

namespace mqb {

struct AxisReorientation {
  std::array<int, 3> sourceAxis{0, 1, 2};  // target axis t reads source axis sourceAxis[t]
  std::array<bool, 3> flip{false, false, false};
  bool isIdentity() const { return sourceAxis == std::array<int, 3>{0, 1, 2} && !flip[0] && !flip[1] && !flip[2]; }
};

AxisReorientation reorientationTo(const ImageGeometry& geometry, const std::string& orientationCode);
// Three-letter code of the geometry's closest orientation, e.g. "LPS" for identity direction.
std::string orientationCode(const ImageGeometry& geometry);

// The array permuted/flipped into the target orientation (geometry updated to match).
template <typename T>
Volume<T> reorient(const Volume<T>& source, const AxisReorientation& r);
// Inverse: a volume in target orientation written back onto the source grid.
template <typename T>
Volume<T> restoreOrientation(const Volume<T>& target, const AxisReorientation& r, const ImageGeometry& sourceGeometry);

}  // namespace mqb

namespace mqb {

// A label map stored with other axis order/flips than the CT (common for NIfTI written by
// other tools from DICOM) is brought losslessly onto the CT grid when both describe the
// same voxel centres; any other difference is an mqb::Error naming `what` and the difference.
LabelVolume alignToGrid(const LabelVolume& labels, const ImageGeometry& target, const std::string& what);

}  // namespace mqb
