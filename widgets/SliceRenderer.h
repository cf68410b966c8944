#pragma once
// CPU rendering of one slice (CT under a window/level, label overlay filled or outlined,
// difference overlay; colours from SliceCompositor, as on screen) into a QImage, with the same on-screen conventions as SliceView
// (radiological: patient right on the left; anterior / superior up; aspect from the voxel
// spacing). Needs no OpenGL context, so figures can be exported headless and tested
// without a display; nearest-neighbour sampling keeps voxels crisp at any scale.
#include <QColor>
#include <QImage>
#include <QSize>

#include <array>

#include "io/ClassInfo.h"
#include "SliceCompositor.h"
#include "io/Volume.h"

namespace mqb {

// Position of the slice plus its style (window/level, overlays: SliceCompositor.h).
struct SliceRenderOptions : SliceStyle {
  int normalAxis = 2;  // index axis normal to the slice: 2 axial, 1 coronal, 0 sagittal
  int slice = -1;      // -1: middle
};

// Physical extent of the slice plane in mm (width, height on screen).
QSizeF slicePlaneExtentMm(const ImageGeometry& geometry, int normalAxis);
// The largest size with the slice's physical aspect ratio that fits in `box`.
QSize fitSliceSize(const ImageGeometry& geometry, int normalAxis, const QSize& box);

// Renders the slice into an opaque RGB32 image of exactly `size` pixels (the slice is
// stretched to it; use fitSliceSize for the correct aspect). Null image when the volume
// is empty. Overlays of another size than the image are ignored.
QImage renderSlice(const ImageVolume& image, const SliceRenderOptions& options, const QSize& size);

// Index of the voxel column/row of a given screen pixel, as renderSlice maps it; exposed
// for tests: returns the voxel (x, y, z) drawn at pixel (px, py) of an image of `size`.
std::array<int, 3> voxelAtPixel(const ImageGeometry& geometry, int normalAxis, int slice, const QSize& size, int px,
                                int py);

}  // namespace mqb
