#include "SliceCompositor.h"

#include <algorithm>
#include <cmath>

namespace mqb {
namespace {

bool sameVoxels(const LabelVolume* v, const ImageVolume& image) {
  return v && v->geometry.size == image.geometry.size && v->voxels.size() == image.voxels.size();
}

}  // namespace

QColor fallbackLabelColor(int labelId) { return QColor::fromHsv((labelId * 137) % 360, 200, 240); }

QColor differenceColorFor(const ClassList& classes) {
  auto minDistance = [&](const QColor& c) {
    double best = 1e9;
    for (const ClassInfo& k : classes) {
      if (k.id == 0) continue;  // background is never drawn
      const double dr = c.red() - k.color[0], dg = c.green() - k.color[1], db = c.blue() - k.color[2];
      best = std::min(best, std::sqrt(dr * dr + dg * dg + db * db));
    }
    return best;
  };
  const QColor magenta(255, 0, 255);
  constexpr double kDistinct = 90.0;  // RGB distance that reads as another colour on grey CT
  if (minDistance(magenta) >= kDistinct) return magenta;
  const QColor candidates[] = {QColor(128, 0, 255), QColor(0, 255, 127), QColor(255, 105, 180),
                               QColor(255, 128, 0), QColor(255, 255, 255)};
  QColor best = magenta;
  double bestDistance = minDistance(magenta);
  for (const QColor& c : candidates) {
    const double d = minDistance(c);
    if (d > bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

SlicePlane slicePlane(const ImageGeometry& g, int normalAxis) {
  SlicePlane p;
  p.normal = std::clamp(normalAxis, 0, 2);
  p.horizontal = p.normal == 0 ? 1 : 0;
  p.vertical = p.normal == 2 ? 1 : 2;
  p.width = static_cast<int>(g.size[p.horizontal]);
  p.height = static_cast<int>(g.size[p.vertical]);
  return p;
}

bool composeSlice(const ImageVolume& image, int normalAxis, int slice, const SliceStyle& s,
                  std::vector<uint8_t>& rgba) {
  const ImageGeometry& g = image.geometry;
  if (image.voxels.empty() || g.size[0] <= 0 || g.size[1] <= 0 || g.size[2] <= 0 ||
      static_cast<int64_t>(image.voxels.size()) != g.voxelCount()) {
    rgba.clear();
    return false;
  }
  const SlicePlane p = slicePlane(g, normalAxis);
  slice = std::clamp(slice, 0, static_cast<int>(g.size[p.normal]) - 1);
  const int nh = p.width, nv = p.height;
  const size_t n = static_cast<size_t>(nh) * nv;
  // Linear voxel offsets: x-fastest storage, so the stride of axis a is the product of the
  // sizes below it.
  const std::array<int64_t, 3> stride{1, g.size[0], g.size[0] * g.size[1]};
  const int64_t base = slice * stride[p.normal];
  const int64_t sh = stride[p.horizontal], sv = stride[p.vertical];

  const LabelVolume* labels = sameVoxels(s.labels, image) ? s.labels : nullptr;
  const LabelVolume* diff = sameVoxels(s.difference, image) ? s.difference : nullptr;

  // Gather the label slice first: the outline needs each voxel's in-plane neighbours.
  std::vector<uint8_t> lab;
  if (labels) {
    lab.resize(n);
    for (int v = 0; v < nv; ++v) {
      const uint8_t* src = labels->voxels.data() + base + v * sv;
      uint8_t* dst = lab.data() + static_cast<size_t>(v) * nh;
      for (int h = 0; h < nh; ++h) dst[h] = src[h * sh];
    }
    if (s.outline) {
      std::vector<uint8_t> edge(n, 0);
      for (int v = 0; v < nv; ++v)
        for (int h = 0; h < nh; ++h) {
          const size_t i = static_cast<size_t>(v) * nh + h;
          const uint8_t id = lab[i];
          if (!id) continue;
          const bool e = h == 0 || v == 0 || h == nh - 1 || v == nv - 1 || lab[i - 1] != id || lab[i + 1] != id ||
                         lab[i - nh] != id || lab[i + nh] != id;
          edge[i] = e ? id : 0;
        }
      lab.swap(edge);
    }
  }

  std::array<QRgb, 256> colors{};
  for (int id = 0; id < 256; ++id) colors[static_cast<size_t>(id)] = fallbackLabelColor(id).rgb();
  for (const ClassInfo& c : s.classes)
    if (c.id >= 0 && c.id < 256) colors[static_cast<size_t>(c.id)] = qRgb(c.color[0], c.color[1], c.color[2]);
  const double window = std::max(1.0, s.window);
  const double lo = s.level - window / 2;
  const double la = std::clamp(s.labelOpacity, 0.0, 1.0);
  const double da = std::clamp(s.differenceOpacity, 0.0, 1.0);
  const QRgb dc = s.differenceColor.rgb();

  rgba.resize(n * 4);
  uint8_t* out = rgba.data();
  for (int v = 0; v < nv; ++v) {
    const float* hu = image.voxels.data() + base + v * sv;
    const uint8_t* dif = diff ? diff->voxels.data() + base + v * sv : nullptr;
    const uint8_t* lrow = labels ? lab.data() + static_cast<size_t>(v) * nh : nullptr;
    for (int h = 0; h < nh; ++h, out += 4) {
      const double t = std::clamp((hu[h * sh] - lo) / window, 0.0, 1.0) * 255.0;
      double r = t, gr = t, b = t;
      if (lrow) {
        const uint8_t id = lrow[h];
        if (id && s.labelVisible[id]) {
          const QRgb c = colors[id];
          r = (1 - la) * r + la * qRed(c);
          gr = (1 - la) * gr + la * qGreen(c);
          b = (1 - la) * b + la * qBlue(c);
        }
      }
      if (dif && dif[h * sh]) {
        r = (1 - da) * r + da * qRed(dc);
        gr = (1 - da) * gr + da * qGreen(dc);
        b = (1 - da) * b + da * qBlue(dc);
      }
      out[0] = static_cast<uint8_t>(std::lround(r));
      out[1] = static_cast<uint8_t>(std::lround(gr));
      out[2] = static_cast<uint8_t>(std::lround(b));
      out[3] = 255;
    }
  }
  return true;
}

}  // namespace mqb
