#include "SliceRenderer.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "SliceOrientation.h"

namespace mqb {
namespace {

struct PlaneAxes {
  int horizontal, vertical;
  bool flipH;  // column 0 shows the highest index
  bool flipV;  // row 0 shows the lowest index unless flipV
};

// The image rows / columns of SliceView's orientation (SliceOrientation.h).
PlaneAxes planeAxes(const ImageGeometry& g, int normal) {
  const ScreenAxes plane = screenAxes(g, normal);
  // "up" along +index means the top row holds the highest index.
  return PlaneAxes{plane.horizontal, plane.vertical, plane.rightSign<0, plane.upSign> 0};
}

}  // namespace

QSizeF slicePlaneExtentMm(const ImageGeometry& g, int normalAxis) {
  const PlaneAxes p = planeAxes(g, normalAxis);
  return QSizeF(g.size[p.horizontal] * g.spacing[p.horizontal], g.size[p.vertical] * g.spacing[p.vertical]);
}

QSize fitSliceSize(const ImageGeometry& g, int normalAxis, const QSize& box) {
  const QSizeF mm = slicePlaneExtentMm(g, normalAxis);
  if (mm.isEmpty() || box.isEmpty()) return QSize();
  const double s = std::min(box.width() / mm.width(), box.height() / mm.height());
  return QSize(std::max(1, static_cast<int>(std::lround(mm.width() * s))),
               std::max(1, static_cast<int>(std::lround(mm.height() * s))));
}

std::array<int, 3> voxelAtPixel(const ImageGeometry& g, int normalAxis, int slice, const QSize& size, int px, int py) {
  const PlaneAxes p = planeAxes(g, normalAxis);
  const int nh = static_cast<int>(g.size[p.horizontal]);
  const int nv = static_cast<int>(g.size[p.vertical]);
  int c = std::clamp(static_cast<int>(int64_t(px) * nh / std::max(1, size.width())), 0, nh - 1);
  int r = std::clamp(static_cast<int>(int64_t(py) * nv / std::max(1, size.height())), 0, nv - 1);
  if (p.flipH) c = nh - 1 - c;
  if (p.flipV) r = nv - 1 - r;
  std::array<int, 3> v{0, 0, 0};
  v[normalAxis] = slice;
  v[p.horizontal] = c;
  v[p.vertical] = r;
  return v;
}

QImage renderSlice(const ImageVolume& image, const SliceRenderOptions& o, const QSize& size) {
  const ImageGeometry& g = image.geometry;
  if (size.isEmpty()) return QImage();
  const int normal = std::clamp(o.normalAxis, 0, 2);
  const int sliceCount = static_cast<int>(g.size[normal]);
  const int slice = o.slice < 0 ? sliceCount / 2 : std::clamp(o.slice, 0, sliceCount - 1);
  std::vector<uint8_t> rgba;
  if (!composeSlice(image, normal, slice, o, rgba)) return QImage();
  // The composed slice is in index order; screen order flips rows / columns as SliceView does.
  const PlaneAxes p = planeAxes(g, normal);
  const int nh = static_cast<int>(g.size[p.horizontal]);
  const int nv = static_cast<int>(g.size[p.vertical]);
  QImage out(size, QImage::Format_RGB32);
  std::vector<int> column(static_cast<size_t>(size.width()));
  for (int x = 0; x < size.width(); ++x) {
    const int c = std::min(nh - 1, static_cast<int>(int64_t(x) * nh / size.width()));
    column[static_cast<size_t>(x)] = p.flipH ? nh - 1 - c : c;
  }
  for (int y = 0; y < size.height(); ++y) {
    int r = std::min(nv - 1, static_cast<int>(int64_t(y) * nv / size.height()));
    if (p.flipV) r = nv - 1 - r;
    QRgb* line = reinterpret_cast<QRgb*>(out.scanLine(y));
    const uint8_t* src = rgba.data() + static_cast<size_t>(r) * nh * 4;
    for (int x = 0; x < size.width(); ++x) {
      const uint8_t* px = src + static_cast<size_t>(column[static_cast<size_t>(x)]) * 4;
      line[x] = qRgb(px[0], px[1], px[2]);
    }
  }
  return out;
}

}  // namespace mqb
