#pragma once
// Colours of one slice of a CT with its overlays, composed on the CPU at voxel resolution:
// the CT under a window/level, the label overlay (filled or outlined, per-label visibility,
// opacity) and the difference overlay, blended into one opaque RGBA image.
//
// Why one composed image instead of one VTK image layer per overlay: on the software
// rasterizer these views run on (Mesa llvmpipe), a vtkImageStack of three layers draws
// every layer in several passes, and that fill cost was most of a slice change (a 600x600
// view went from ~20 ms with the CT alone to ~85 ms with labels + difference). Composing a
// 512x512 slice here costs ~1-2 ms and leaves the GPU a single opaque textured quad.
// SliceView (screen) and SliceRenderer (figure export) both use it, so exported figures
// have exactly the on-screen colours.
#include <QColor>

#include <array>
#include <cstdint>
#include <vector>

#include "io/ClassInfo.h"
#include "io/Volume.h"

namespace mqb {

// What a slice shows besides its position (window/level and overlays).
struct SliceStyle {
  double window = 350.0, level = 40.0;
  const LabelVolume* labels = nullptr;
  ClassList classes;  // label colours; ids without a class get fallbackLabelColor(id)
  double labelOpacity = 0.5;
  bool outline = false;
  std::array<bool, 256> labelVisible = allVisible();
  const LabelVolume* difference = nullptr;
  QColor differenceColor{255, 0, 255};
  double differenceOpacity = 0.8;

  static std::array<bool, 256> allVisible() {
    std::array<bool, 256> a{};
    a.fill(true);
    return a;
  }
};

// Colour of a label id without a class: golden-angle hue steps give distinct neighbours.
QColor fallbackLabelColor(int labelId);

// Colour of the difference overlay for a class list: magenta unless an organ has a
// colour close to it (BTCV's liver is magenta), then the candidate farthest from every
// class colour, so "FP32 != quantized" never reads as an organ.
QColor differenceColorFor(const ClassList& classes);

// In-plane axes of a slice normal to index axis `normalAxis` (0, 1, 2): the horizontal one
// is always the lower-numbered axis, so the composed image is in VTK point order.
struct SlicePlane {
  int normal = 2, horizontal = 0, vertical = 1;
  int width = 0, height = 0;  // voxels along horizontal / vertical
};
SlicePlane slicePlane(const ImageGeometry& geometry, int normalAxis);

// Composes slice `slice` (clamped) into `rgba` (resized to width*height*4, alpha 255),
// pixel (h, v) at (v * width + h) * 4 with h, v the index along the in-plane axes (no
// screen flips: the caller maps index space to the screen). Overlays whose size differs
// from the image's are ignored. Returns false for an empty or inconsistent image.
bool composeSlice(const ImageVolume& image, int normalAxis, int slice, const SliceStyle& style,
                  std::vector<uint8_t>& rgba);

}  // namespace mqb
