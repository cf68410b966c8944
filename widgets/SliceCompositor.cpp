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
  const QColor candidates[] = {QColor(128, 0, 255), QColor(0, 255, 127), QColor(255, 105, 180), QColor(255, 128, 0),
                               QColor(255, 255, 255)};
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

bool composeSlice(const ImageVolume& image, int normalAxis, int slice, const SliceStyle& s, std::vector<uint8_t>& rgba) {
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

  // Blending is "out = keep * in + add" per channel, with keep/add tabulated per label id
  // (invisible ids and background keep the CT: keep 1, add 0), so the per-pixel loop has no
  // branches and no libm calls: this runs for every linked view on every slice change.
  static const std::array<QRgb, 256> fallback = [] {
    std::array<QRgb, 256> f{};
    for (int id = 0; id < 256; ++id) f[static_cast<size_t>(id)] = fallbackLabelColor(id).rgb();
    return f;
  }();
  std::array<QRgb, 256> colors = fallback;
  for (const ClassInfo& c : s.classes)
    if (c.id >= 0 && c.id < 256) colors[static_cast<size_t>(c.id)] = qRgb(c.color[0], c.color[1], c.color[2]);
  const float la = static_cast<float>(std::clamp(s.labelOpacity, 0.0, 1.0));
  const float da = static_cast<float>(std::clamp(s.differenceOpacity, 0.0, 1.0));
  std::array<float, 256> keep{};
  std::array<std::array<float, 3>, 256> add{};
  for (int id = 0; id < 256; ++id) {
    const bool drawn = id != 0 && s.labelVisible[static_cast<size_t>(id)];
    const QRgb c = colors[static_cast<size_t>(id)];
    keep[static_cast<size_t>(id)] = drawn ? 1.0f - la : 1.0f;
    add[static_cast<size_t>(id)] = drawn ? std::array<float, 3>{la * qRed(c), la * qGreen(c), la * qBlue(c)}
                                         : std::array<float, 3>{0.f, 0.f, 0.f};
  }
  const QRgb dc = s.differenceColor.rgb();
  const float diffKeep[2] = {1.0f, 1.0f - da};
  const float diffAdd[2][3] = {{0.f, 0.f, 0.f}, {da * qRed(dc), da * qGreen(dc), da * qBlue(dc)}};

  const double window = std::max(1.0, s.window);
  const float lo = static_cast<float>(s.level - window / 2);
  const float scale = static_cast<float>(255.0 / window);

  rgba.resize(n * 4);
  uint8_t* out = rgba.data();
  for (int v = 0; v < nv; ++v) {
    const float* hu = image.voxels.data() + base + v * sv;
    const uint8_t* dif = diff ? diff->voxels.data() + base + v * sv : nullptr;
    const uint8_t* lrow = labels ? lab.data() + static_cast<size_t>(v) * nh : nullptr;
    for (int h = 0; h < nh; ++h, out += 4) {
      float t = (hu[h * sh] - lo) * scale;
      t = t > 0.f ? (t < 255.f ? t : 255.f) : 0.f;  // NaN (a corrupt voxel) shows black
      float r = t, gr = t, b = t;
      if (lrow) {
        const size_t id = lrow[h];
        const float k = keep[id];
        r = k * r + add[id][0];
        gr = k * gr + add[id][1];
        b = k * b + add[id][2];
      }
      if (dif) {
        const int d = dif[h * sh] != 0;
        r = diffKeep[d] * r + diffAdd[d][0];
        gr = diffKeep[d] * gr + diffAdd[d][1];
        b = diffKeep[d] * b + diffAdd[d][2];
      }
      // Values are in [0, 255]: adding one half and truncating rounds half up.
      out[0] = static_cast<uint8_t>(r + 0.5f);
      out[1] = static_cast<uint8_t>(gr + 0.5f);
      out[2] = static_cast<uint8_t>(b + 0.5f);
      out[3] = 255;
    }
  }
  return true;
}

}  // namespace mqb
