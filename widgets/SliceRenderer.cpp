#include "SliceRenderer.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace mqb {
namespace {

struct PlaneAxes {
  int horizontal, vertical;
  bool flipH;  // column 0 shows the highest index
  bool flipV;  // row 0 shows the lowest index unless flipV
};

// Same decisions as SliceView::axes(): axisSign from the direction matrix, then
// axial: right = +x*sign0, up = -y*sign1; coronal: right = +x*sign0, up = +z*sign2;
// sagittal: right = +y*sign1, up = +z*sign2.
PlaneAxes planeAxes(const ImageGeometry& g, int normal) {
  std::array<int, 3> sign{1, 1, 1};
  for (int a = 0; a < 3; ++a) {
    int best = 0;
    for (int r = 1; r < 3; ++r)
      if (std::abs(g.direction[r * 3 + a]) > std::abs(g.direction[best * 3 + a])) best = r;
    sign[a] = g.direction[best * 3 + a] < 0 ? -1 : 1;
  }
  PlaneAxes p{};
  int rightSign = 1, upSign = 1;
  switch (normal) {
    case 0:
      p.horizontal = 1;
      p.vertical = 2;
      rightSign = sign[1];
      upSign = sign[2];
      break;
    case 1:
      p.horizontal = 0;
      p.vertical = 2;
      rightSign = sign[0];
      upSign = sign[2];
      break;
    default:
      p.horizontal = 0;
      p.vertical = 1;
      rightSign = sign[0];
      upSign = -sign[1];
      break;
  }
  p.flipH = rightSign < 0;
  // "up" along +index means the top row holds the highest index.
  p.flipV = upSign > 0;
  return p;
}

QColor labelColor(const ClassList& classes, int id) {
  for (const auto& c : classes)
    if (c.id == id) return QColor(c.color[0], c.color[1], c.color[2]);
  return QColor::fromHsv((id * 137) % 360, 200, 240);  // SliceView::fallbackLabelColor
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

std::array<int, 3> voxelAtPixel(const ImageGeometry& g, int normalAxis, int slice, const QSize& size, int px,
                                int py) {
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
  if (image.voxels.empty() || size.isEmpty() || static_cast<int64_t>(image.voxels.size()) != g.voxelCount())
    return QImage();
  const int normal = std::clamp(o.normalAxis, 0, 2);
  const PlaneAxes p = planeAxes(g, normal);
  const int nh = static_cast<int>(g.size[p.horizontal]);
  const int nv = static_cast<int>(g.size[p.vertical]);
  const int sliceCount = static_cast<int>(g.size[normal]);
  const int slice = o.slice < 0 ? sliceCount / 2 : std::clamp(o.slice, 0, sliceCount - 1);
  const LabelVolume* labels =
      (o.labels && o.labels->geometry.size == g.size && o.labels->voxels.size() == image.voxels.size()) ? o.labels
                                                                                                          : nullptr;
  const LabelVolume* diff = (o.difference && o.difference->geometry.size == g.size &&
                             o.difference->voxels.size() == image.voxels.size())
                                ? o.difference
                                : nullptr;

  // Gather the slice at voxel resolution first (row r = screen row order, column c = screen column).
  std::vector<float> hu(static_cast<size_t>(nh) * nv);
  std::vector<uint8_t> lab(labels ? hu.size() : 0), dif(diff ? hu.size() : 0);
  int idx[3];
  idx[normal] = slice;
  for (int r = 0; r < nv; ++r) {
    idx[p.vertical] = p.flipV ? nv - 1 - r : r;
    for (int c = 0; c < nh; ++c) {
      idx[p.horizontal] = p.flipH ? nh - 1 - c : c;
      const size_t i = static_cast<size_t>(r) * nh + c;
      hu[i] = image.at(idx[0], idx[1], idx[2]);
      if (labels) lab[i] = labels->at(idx[0], idx[1], idx[2]);
      if (diff) dif[i] = diff->at(idx[0], idx[1], idx[2]);
    }
  }
  if (labels && o.outline) {
    std::vector<uint8_t> edge(lab.size(), 0);
    for (int r = 0; r < nv; ++r)
      for (int c = 0; c < nh; ++c) {
        const size_t i = static_cast<size_t>(r) * nh + c;
        const uint8_t v = lab[i];
        if (!v) continue;
        const bool e = c == 0 || r == 0 || c == nh - 1 || r == nv - 1 || lab[i - 1] != v || lab[i + 1] != v ||
                       lab[i - nh] != v || lab[i + nh] != v;
        edge[i] = e ? v : 0;
      }
    lab.swap(edge);
  }
  std::array<QRgb, 256> colors{};
  for (int id = 0; id < 256; ++id) colors[id] = labelColor(o.classes, id).rgb();
  const double window = std::max(1.0, o.window);
  const double lo = o.level - window / 2;
  const double labelAlpha = std::clamp(o.labelOpacity, 0.0, 1.0);
  const double diffAlpha = std::clamp(o.differenceOpacity, 0.0, 1.0);
  const QRgb diffColor = o.differenceColor.rgb();

  // Colour per voxel, then nearest-neighbour upsampling to the output size.
  std::vector<QRgb> voxelColor(hu.size());
  for (size_t i = 0; i < hu.size(); ++i) {
    const double t = std::clamp((hu[i] - lo) / window, 0.0, 1.0);
    double r = t * 255, gr = t * 255, b = t * 255;
    if (labels && lab[i] && o.labelVisible[lab[i]]) {
      const QRgb c = colors[lab[i]];
      r = (1 - labelAlpha) * r + labelAlpha * qRed(c);
      gr = (1 - labelAlpha) * gr + labelAlpha * qGreen(c);
      b = (1 - labelAlpha) * b + labelAlpha * qBlue(c);
    }
    if (diff && dif[i]) {
      r = (1 - diffAlpha) * r + diffAlpha * qRed(diffColor);
      gr = (1 - diffAlpha) * gr + diffAlpha * qGreen(diffColor);
      b = (1 - diffAlpha) * b + diffAlpha * qBlue(diffColor);
    }
    voxelColor[i] = qRgb(static_cast<int>(std::lround(r)), static_cast<int>(std::lround(gr)),
                         static_cast<int>(std::lround(b)));
  }
  QImage out(size, QImage::Format_RGB32);
  std::vector<int> column(static_cast<size_t>(size.width()));
  for (int x = 0; x < size.width(); ++x)
    column[static_cast<size_t>(x)] = std::min(nh - 1, static_cast<int>(int64_t(x) * nh / size.width()));
  for (int y = 0; y < size.height(); ++y) {
    const int r = std::min(nv - 1, static_cast<int>(int64_t(y) * nv / size.height()));
    QRgb* line = reinterpret_cast<QRgb*>(out.scanLine(y));
    const QRgb* src = voxelColor.data() + static_cast<size_t>(r) * nh;
    for (int x = 0; x < size.width(); ++x) line[x] = src[column[static_cast<size_t>(x)]];
  }
  return out;
}

}  // namespace mqb
