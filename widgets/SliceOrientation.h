#pragma once
// The radiological display orientation of a slice, shared by the interactive SliceView and
// the CPU SliceRenderer (figures): which index axes run to the right and up on screen and
// in which direction. Patient left is on the screen's right; axial: anterior up, coronal:
// superior up, sagittal: posterior to the right, superior up. Qt-free.
#include <array>

#include "io/Volume.h"

namespace mqb {

// normal: 0 sagittal (x), 1 coronal (y), 2 axial (z).
struct ScreenAxes {
  int normal = 2;
  int horizontal = 0, vertical = 1;  // index axes along the screen's x and y
  int rightSign = 1;                 // +1: the horizontal index grows to the right
  int upSign = 1;                    // +1: the vertical index grows upwards
};

// Sign of each index axis's dominant physical (LPS) component in the direction matrix.
std::array<int, 3> indexAxisSigns(const ImageGeometry& geometry);
ScreenAxes screenAxes(int normalAxis, const std::array<int, 3>& axisSigns);
inline ScreenAxes screenAxes(const ImageGeometry& geometry, int normalAxis) {
  return screenAxes(normalAxis, indexAxisSigns(geometry));
}

}  // namespace mqb
