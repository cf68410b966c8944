#include "demo/Phantom.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <sstream>
#include <tuple>
#include <vector>

#include "support/Error.h"

namespace mqb {

namespace {

constexpr double kPi = 3.14159265358979323846;
using Vec3 = std::array<double, 3>;

// The anatomy below is laid out in millimetres for this field of view (the default
// 128x112x96 grid at 3 mm) and stretched per axis onto whatever grid is requested, so
// every grid shows the whole abdomen.
constexpr Vec3 kCanonicalExtentMm{384.0, 336.0, 288.0};

// Draws built directly on mt19937's fully specified output sequence: std distributions
// are implementation-defined, and a seed must give the same phantom everywhere.
class Random {
 public:
  explicit Random(uint32_t seed) : engine_(seed) {}

  double uniform() {  // [0, 1) with 53 random bits
    const uint64_t hi = engine_() >> 5, lo = engine_() >> 6;
    return (double(hi) * 67108864.0 + double(lo)) / 9007199254740992.0;
  }
  double uniform(double a, double b) { return a + (b - a) * uniform(); }
  double normal() {  // Box-Muller; the second value of each pair serves the next call
    if (haveSpare_) {
      haveSpare_ = false;
      return spare_;
    }
    double u1;
    do u1 = uniform();
    while (u1 <= 0.0);
    const double u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(2 * kPi * u2);
    haveSpare_ = true;
    return r * std::cos(2 * kPi * u2);
  }

 private:
  std::mt19937 engine_;
  bool haveSpare_ = false;
  double spare_ = 0.0;
};

// What a voxel is before organs are painted; organs may only occupy the abdominal cavity.
enum Tissue : uint8_t { kAir, kSubcutaneousFat, kWall, kCavity, kSkeletal };

struct IndexBox {
  std::array<int64_t, 3> lo{0, 0, 0}, hi{-1, -1, -1};
  bool empty() const { return lo[0] > hi[0] || lo[1] > hi[1] || lo[2] > hi[2]; }
};

struct Canvas {
  std::array<int64_t, 3> n{};
  std::array<std::vector<double>, 3> mm;  // canonical millimetres of the voxel centres, per axis
  std::vector<float> hu;
  std::vector<uint8_t> label;
  std::vector<uint8_t> tissue;

  explicit Canvas(const std::array<int64_t, 3>& size) : n(size) {
    for (int a = 0; a < 3; ++a) {
      const double step = kCanonicalExtentMm[a] / double(n[a]);
      mm[a].resize(size_t(n[a]));
      for (int64_t i = 0; i < n[a]; ++i) mm[a][size_t(i)] = (double(i) - 0.5 * double(n[a] - 1)) * step;
    }
    const size_t count = size_t(n[0] * n[1] * n[2]);
    hu.assign(count, -1000.0f);
    label.assign(count, 0);
    tissue.assign(count, kAir);
  }
  size_t index(int64_t i, int64_t j, int64_t k) const { return size_t((k * n[1] + j) * n[0] + i); }

  // Voxels whose centres lie in the canonical box [lo, hi].
  IndexBox indexBox(const Vec3& lo, const Vec3& hi) const {
    IndexBox b;
    for (int a = 0; a < 3; ++a) {
      const double step = kCanonicalExtentMm[a] / double(n[a]), centre = 0.5 * double(n[a] - 1);
      b.lo[a] = std::max<int64_t>(0, int64_t(std::ceil(lo[a] / step + centre)));
      b.hi[a] = std::min<int64_t>(n[a] - 1, int64_t(std::floor(hi[a] / step + centre)));
    }
    return b;
  }
};

// A random low-frequency field bounded by [-1, 1]: plane waves sin(f.p + phase) with
// random directions and wavelengths. sin(A + B + C) expands into four products of
// per-axis sines and cosines, so a box of voxels needs only per-axis tables.
struct SmoothField {
  struct Wave {
    Vec3 frequency;  // radians per mm along x, y, z
    double phase;
  };
  std::vector<Wave> waves;

  static SmoothField random(Random& rng, int count, double shortestWavelengthMm, double longestWavelengthMm) {
    SmoothField f;
    for (int w = 0; w < count; ++w) {
      // Uniform direction on the sphere.
      const double cosPolar = rng.uniform(-1.0, 1.0), azimuth = rng.uniform(0, 2 * kPi);
      const double sinPolar = std::sqrt(1.0 - cosPolar * cosPolar);
      const double k = 2 * kPi / rng.uniform(shortestWavelengthMm, longestWavelengthMm);
      f.waves.push_back({{k * sinPolar * std::cos(azimuth), k * sinPolar * std::sin(azimuth), k * cosPolar},
                         rng.uniform(0, 2 * kPi)});
    }
    return f;
  }
};

// A SmoothField sampled on the voxels of one box.
class FieldTable {
 public:
  FieldTable(const SmoothField& field, const Canvas& canvas, const IndexBox& box) : box_(box) {
    const double weight = field.waves.empty() ? 0.0 : 1.0 / double(field.waves.size());
    for (const SmoothField::Wave& w : field.waves) {
      Tables t;
      for (int a = 0; a < 3; ++a) {
        for (int64_t i = box.lo[a]; i <= box.hi[a]; ++i) {
          // The phase rides on x; the weight too, to save a multiplication per voxel.
          const double angle = w.frequency[a] * canvas.mm[a][size_t(i)] + (a == 0 ? w.phase : 0.0);
          t.sin[a].push_back(std::sin(angle) * (a == 0 ? weight : 1.0));
          t.cos[a].push_back(std::cos(angle) * (a == 0 ? weight : 1.0));
        }
      }
      tables_.push_back(std::move(t));
    }
  }
  double at(int64_t i, int64_t j, int64_t k) const {
    const size_t x = size_t(i - box_.lo[0]), y = size_t(j - box_.lo[1]), z = size_t(k - box_.lo[2]);
    double sum = 0;
    for (const Tables& t : tables_) {
      const double sx = t.sin[0][x], cx = t.cos[0][x], sy = t.sin[1][y], cy = t.cos[1][y];
      const double sz = t.sin[2][z], cz = t.cos[2][z];
      sum += (sx * cy + cx * sy) * cz + (cx * cy - sx * sy) * sz;  // sin(X + Y + Z)
    }
    return sum;
  }

 private:
  struct Tables {
    std::array<std::vector<double>, 3> sin, cos;
  };
  IndexBox box_;
  std::vector<Tables> tables_;
};

// An ellipsoid turned by `yaw` about the z axis; `taper` narrows its y and z semi-axes
// linearly along its own x axis, to a wedge (a liver's thin left lobe).
struct Ellipsoid {
  Vec3 centre, semiAxes;
  double yaw = 0, taper = 0;

  Vec3 local(double x, double y, double z) const {
    const double dx = x - centre[0], dy = y - centre[1], c = std::cos(yaw), s = std::sin(yaw);
    return {c * dx + s * dy, -s * dx + c * dy, z - centre[2]};
  }
  double level(double x, double y, double z) const {
    const Vec3 p = local(x, y, z);
    const double u = p[0] / semiAxes[0];
    const double narrowing = 1.0 - taper * 0.5 * (1.0 + std::clamp(u, -1.0, 1.0));
    const double v = p[1] / (semiAxes[1] * narrowing), w = p[2] / (semiAxes[2] * narrowing);
    return std::sqrt(u * u + v * v + w * w);
  }
  void bounds(double grow, Vec3& lo, Vec3& hi) const {
    const double r = std::max(semiAxes[0], semiAxes[1]) * grow;
    lo = {centre[0] - r, centre[1] - r, centre[2] - semiAxes[2] * grow};
    hi = {centre[0] + r, centre[1] + r, centre[2] + semiAxes[2] * grow};
  }
};

// A smooth tube along a polyline (corner-cut control points), its radius varying linearly
// from the first to the last point. level = distance / local radius.
struct Tube {
  std::vector<Vec3> points;
  std::vector<double> arc;  // cumulative length at each point
  double firstRadius = 1, lastRadius = 1;

  Tube(std::vector<Vec3> control, double r0, double r1) : firstRadius(r0), lastRadius(r1) {
    // Chaikin corner cutting keeps the end points and rounds every bend.
    for (int pass = 0; pass < 3 && control.size() > 2; ++pass) {
      std::vector<Vec3> next{control.front()};
      for (size_t i = 0; i + 1 < control.size(); ++i) {
        Vec3 a, b;
        for (int k = 0; k < 3; ++k) {
          a[k] = 0.75 * control[i][k] + 0.25 * control[i + 1][k];
          b[k] = 0.25 * control[i][k] + 0.75 * control[i + 1][k];
        }
        if (i > 0) next.push_back(a);
        if (i + 2 < control.size()) next.push_back(b);
      }
      next.push_back(control.back());
      control = std::move(next);
    }
    points = std::move(control);
    arc.assign(points.size(), 0.0);
    for (size_t i = 1; i < points.size(); ++i) {
      double d2 = 0;
      for (int k = 0; k < 3; ++k) d2 += (points[i][k] - points[i - 1][k]) * (points[i][k] - points[i - 1][k]);
      arc[i] = arc[i - 1] + std::sqrt(d2);
    }
  }
  double level(double x, double y, double z) const {
    const Vec3 p{x, y, z};
    double best = std::numeric_limits<double>::infinity();
    for (size_t i = 0; i + 1 < points.size(); ++i) {
      const Vec3 &a = points[i], &b = points[i + 1];
      double ab2 = 0, t = 0;
      for (int k = 0; k < 3; ++k) {
        ab2 += (b[k] - a[k]) * (b[k] - a[k]);
        t += (p[k] - a[k]) * (b[k] - a[k]);
      }
      t = ab2 > 0 ? std::clamp(t / ab2, 0.0, 1.0) : 0.0;
      double d2 = 0;
      for (int k = 0; k < 3; ++k) {
        const double d = p[k] - (a[k] + t * (b[k] - a[k]));
        d2 += d * d;
      }
      const double along = (arc[i] + t * (arc[i + 1] - arc[i])) / std::max(arc.back(), 1e-9);
      best = std::min(best, std::sqrt(d2) / (firstRadius + along * (lastRadius - firstRadius)));
    }
    return best;
  }
  void bounds(double grow, Vec3& lo, Vec3& hi) const {
    const double r = std::max(firstRadius, lastRadius) * grow;
    lo = hi = points.front();
    for (const Vec3& q : points)
      for (int k = 0; k < 3; ++k) lo[k] = std::min(lo[k], q[k]), hi[k] = std::max(hi[k], q[k]);
    for (int k = 0; k < 3; ++k) lo[k] -= r, hi[k] += r;
  }
};

// One organ: a shape whose surface is pushed in and out by a smooth field (`wobble` is
// the relative amplitude), and its attenuation, which may vary inside it.
struct Organ {
  uint8_t label = 0;
  std::function<double(double, double, double)> level;  // < 1 inside the undeformed shape
  // HU at a canonical position, given the deformed normalised level in [0, 1).
  std::function<float(double, double, double, double)> hu;
  Vec3 lo, hi;  // canonical bounds of the deformed shape
  double wobble = 0.1;
  SmoothField field;
};

template <typename Shape>
Organ makeOrgan(uint8_t label, const Shape& shape, double wobble, Random& rng, float hu) {
  Organ o;
  o.label = label;
  o.level = [shape](double x, double y, double z) { return shape.level(x, y, z); };
  o.hu = [hu](double, double, double, double) { return hu; };
  o.wobble = wobble;
  shape.bounds(1.0 + wobble + 0.05, o.lo, o.hi);
  o.field = SmoothField::random(rng, 4, 60.0, 160.0);
  return o;
}

// Later organs overwrite earlier ones where they meet, so the paint order decides which
// organ keeps a contested voxel; none may leave the cavity or cover the skeleton.
void paint(Canvas& canvas, const Organ& organ) {
  const IndexBox box = canvas.indexBox(organ.lo, organ.hi);
  if (box.empty()) return;
  const FieldTable field(organ.field, canvas, box);
  for (int64_t k = box.lo[2]; k <= box.hi[2]; ++k) {
    const double z = canvas.mm[2][size_t(k)];
    for (int64_t j = box.lo[1]; j <= box.hi[1]; ++j) {
      const double y = canvas.mm[1][size_t(j)];
      for (int64_t i = box.lo[0]; i <= box.hi[0]; ++i) {
        const size_t idx = canvas.index(i, j, k);
        if (canvas.tissue[idx] != kCavity) continue;
        const double x = canvas.mm[0][size_t(i)];
        const double level = organ.level(x, y, z);
        if (level >= 1.0 + organ.wobble) continue;  // outside whatever the field does
        const double limit = 1.0 + organ.wobble * field.at(i, j, k);
        if (level >= limit) continue;
        canvas.label[idx] = organ.label;
        canvas.hu[idx] = organ.hu(x, y, z, level / limit);
      }
    }
  }
}

Vec3 jitter(Random& rng, const Vec3& v, double mm) {
  return {v[0] + rng.uniform(-mm, mm), v[1] + rng.uniform(-mm, mm), v[2] + rng.uniform(-mm, mm)};
}

Ellipsoid jitteredEllipsoid(Random& rng, const Vec3& centre, const Vec3& semiAxes, double yaw, double taper = 0.0) {
  Ellipsoid e;
  e.centre = jitter(rng, centre, 6.0);
  const double scale = rng.uniform(0.9, 1.1);
  for (int a = 0; a < 3; ++a) e.semiAxes[a] = semiAxes[a] * scale * rng.uniform(0.95, 1.05);
  e.yaw = yaw + rng.uniform(-0.12, 0.12);
  e.taper = taper;
  return e;
}

Tube jitteredTube(Random& rng, const std::vector<Vec3>& control, double r0, double r1, double mm = 4.0) {
  std::vector<Vec3> moved;
  for (const Vec3& p : control) moved.push_back(jitter(rng, p, mm));
  const double scale = rng.uniform(0.9, 1.1);
  return Tube(std::move(moved), r0 * scale, r1 * scale);
}

// Skin to cavity: air, a subcutaneous fat layer, a muscle wall with ribs in its upper
// part, and a cavity of mesenteric fat with bowel loops.
void paintBody(Canvas& c, Random& rng) {
  const double ax = 165.0 * rng.uniform(0.95, 1.03), ayAnterior = 125.0 * rng.uniform(0.95, 1.03);
  const double ayPosterior = ayAnterior * 0.94;  // flatter back, the patient lies on it
  const double fat = rng.uniform(14.0, 24.0), wall = rng.uniform(9.0, 13.0);
  const double girthPhase = rng.uniform(0, 2 * kPi);
  const double ribPeriod = 26.0, ribPhase = rng.uniform(0, ribPeriod), ribLowest = rng.uniform(-30.0, -10.0);
  // Bowel loops where two independent random fields are both high: blobs, not the
  // stripes one field's level set would give.
  const IndexBox all = c.indexBox({-1e9, -1e9, -1e9}, {1e9, 1e9, 1e9});
  const FieldTable bowelA(SmoothField::random(rng, 6, 30.0, 70.0), c, all);
  const FieldTable bowelB(SmoothField::random(rng, 6, 30.0, 70.0), c, all);

  for (int64_t k = 0; k < c.n[2]; ++k) {
    const double z = c.mm[2][size_t(k)];
    const double girth = 1.0 + 0.03 * std::sin(2 * kPi * z / 250.0 + girthPhase);
    for (int64_t j = 0; j < c.n[1]; ++j) {
      const double y = c.mm[1][size_t(j)];
      const double ay = (y < 0 ? ayAnterior : ayPosterior) * girth, a = ax * girth;
      auto inside = [&](double x, double inset) {
        const double u = x / (a - inset), v = y / (ay - inset);
        return u * u + v * v <= 1.0;
      };
      for (int64_t i = 0; i < c.n[0]; ++i) {
        const double x = c.mm[0][size_t(i)];
        const size_t idx = c.index(i, j, k);
        if (!inside(x, 0)) continue;
        if (!inside(x, fat)) {
          c.tissue[idx] = kSubcutaneousFat, c.hu[idx] = -100.0f;
        } else if (!inside(x, fat + wall)) {
          // Ribs slope down from the spine to the front, so an axial slice cuts them into
          // arcs; they cover the sides and back of the upper abdomen, not the front midline.
          const double ribZ = z + 20.0 * (1.0 - y / std::max(std::hypot(x, y), 1e-9));
          const bool rib = ribZ > ribLowest && z > ribLowest - 20.0 &&
                           std::fmod(ribZ - ribPhase + 1000.0 * ribPeriod, ribPeriod) < 7.0;
          if (rib && !(y < -40 && std::abs(x) < 50))
            c.tissue[idx] = kSkeletal, c.hu[idx] = 600.0f;
          else
            c.tissue[idx] = kWall, c.hu[idx] = 50.0f;
        } else {
          c.tissue[idx] = kCavity;
          c.hu[idx] = bowelA.at(i, j, k) > 0.0 && bowelB.at(i, j, k) > 0.0 ? 25.0f : -95.0f;
        }
      }
    }
  }
}

bool inEllipse(double x, double y, double cx, double cy, double ax, double ay) {
  const double u = (x - cx) / ax, v = (y - cy) / ay;
  return u * u + v * v <= 1.0;
}

// Lumbar spine with discs, spinal canal, posterior elements, and the paraspinal and psoas
// muscles: label 0, but locked so no organ is painted over it.
void paintSpine(Canvas& c, Random& rng) {
  const double bodyY = rng.uniform(52.0, 58.0), bodyRadius = rng.uniform(18.0, 22.0);
  const double canalY = bodyY + bodyRadius + 9.0;
  const double discPeriod = rng.uniform(30.0, 36.0), discPhase = rng.uniform(0, discPeriod);
  for (int64_t k = 0; k < c.n[2]; ++k) {
    const double z = c.mm[2][size_t(k)];
    const bool disc = std::fmod(z - discPhase + 1000.0 * discPeriod, discPeriod) < 7.0;
    const double psoasGrowth = std::max(0.0, 0.08 * (10.0 - z));  // psoas thickens caudally
    for (int64_t j = 0; j < c.n[1]; ++j) {
      const double y = c.mm[1][size_t(j)];
      for (int64_t i = 0; i < c.n[0]; ++i) {
        const size_t idx = c.index(i, j, k);
        if (c.tissue[idx] == kAir || c.tissue[idx] == kSubcutaneousFat) continue;
        const double x = c.mm[0][size_t(i)];
        float hu;
        const double r = std::hypot(x, y - bodyY), rc = std::hypot(x, y - canalY);
        if (r <= bodyRadius) {
          hu = disc ? 90.0f : (r > bodyRadius - 3.0 ? 700.0f : 400.0f);
        } else if (rc <= 8.0) {
          hu = 15.0f;  // spinal canal
        } else if (rc <= 13.0 || inEllipse(x, y, 0, canalY + 19.0, 5.0, 11.0) ||
                   inEllipse(std::abs(x), y, 24.0, canalY - 2.0, 14.0, 5.0)) {
          hu = 600.0f;  // arch, spinous and transverse processes
        } else if (inEllipse(std::abs(x), y, 36.0, canalY + 10.0, 22.0, 16.0) ||
                   (z < 10.0 && inEllipse(std::abs(x), y, bodyRadius + 14.0 + 0.5 * psoasGrowth, bodyY - 2.0,
                                          9.0 + psoasGrowth, 11.0 + 0.5 * psoasGrowth))) {
          hu = 50.0f;  // erector spinae, psoas
        } else {
          continue;
        }
        c.tissue[idx] = kSkeletal, c.hu[idx] = hu;
      }
    }
  }
}

void paintOrgans(Canvas& c, Random& rng) {
  // Canonical positions: x patient left, y posterior, z superior, origin mid-abdomen.
  const Ellipsoid liver = jitteredEllipsoid(rng, {-62, -6, 60}, {80, 88, 72}, 0.15, 0.5);
  paint(c, makeOrgan(6, liver, 0.3, rng, 60.0f));

  paint(c, makeOrgan(4, jitteredEllipsoid(rng, {-46, -52, 6}, {13, 15, 28}, 0.3), 0.2, rng, 10.0f));

  // The stomach holds air in its anterior, non-dependent part (the patient lies supine).
  const Ellipsoid stomachShape = jitteredEllipsoid(rng, {48, -38, 58}, {42, 34, 50}, -0.5);
  Organ stomach = makeOrgan(7, stomachShape, 0.3, rng, 20.0f);
  stomach.hu = [s = stomachShape](double, double y, double z, double) {
    const bool air = (y - s.centre[1]) / s.semiAxes[1] < -0.55 && (z - s.centre[2]) / s.semiAxes[2] > -0.2;
    return air ? -950.0f : 20.0f;
  };
  paint(c, stomach);

  // The spleen's long axis follows the posterolateral ribs.
  paint(c, makeOrgan(1, jitteredEllipsoid(rng, {88, 42, 66}, {24, 50, 44}, 0.9), 0.25, rng, 50.0f));

  // Kidneys: cortex around a lower-attenuation medulla and sinus. Patient right = low x.
  for (const auto& [label, side, z] : {std::tuple<uint8_t, double, double>{2, -1.0, -18.0}, {3, 1.0, -6.0}}) {
    Organ kidney =
        makeOrgan(label, jitteredEllipsoid(rng, {68 * side, 52, z}, {22, 30, 50}, -0.5 * side), 0.15, rng, 35.0f);
    kidney.hu = [](double, double, double, double level) { return level < 0.55 ? 25.0f : 35.0f; };
    paint(c, kidney);
  }

  paint(c, makeOrgan(12, jitteredEllipsoid(rng, {-40, 40, 40}, {6, 13, 18}, 0.5), 0.25, rng, 30.0f));
  paint(c, makeOrgan(13, jitteredEllipsoid(rng, {40, 40, 44}, {6, 13, 18}, -0.5), 0.25, rng, 30.0f));

  paint(c, makeOrgan(11, jitteredTube(rng, {{-30, -2, 14}, {-2, -8, 22}, {30, -2, 28}, {74, 26, 38}}, 15, 9), 0.35,
                     rng, 45.0f));
  paint(c, makeOrgan(10, jitteredTube(rng, {{70, 38, 42}, {36, 12, 32}, {0, 8, 28}, {-28, 2, 42}, {-52, -2, 56}}, 5, 7),
                     0.15, rng, 160.0f));
  paint(c, makeOrgan(9, jitteredTube(rng, {{-20, 22, -144}, {-22, 20, 0}, {-26, 14, 80}, {-30, 12, 130}}, 11, 12, 2.0),
                     0.15, rng, 150.0f));
  paint(c, makeOrgan(8, jitteredTube(rng, {{14, 22, -120}, {16, 20, 0}, {15, 21, 80}, {12, 24, 150}}, 10, 12, 2.0),
                     0.08, rng, 200.0f));
  paint(c, makeOrgan(5, jitteredTube(rng, {{-3, 6, 150}, {2, 2, 118}, {22, -14, 100}, {36, -26, 92}}, 8, 8, 2.0), 0.2,
                     rng, 35.0f));
}

// Binomial [1 2 1]/4 along each axis: the partial-volume blur of a real reconstruction.
void smooth(std::vector<float>& v, const std::array<int64_t, 3>& n) {
  const std::array<int64_t, 3> stride{1, n[0], n[0] * n[1]};
  std::vector<float> line;
  for (int axis = 0; axis < 3; ++axis) {
    const int64_t len = n[axis];
    if (len < 2) continue;
    line.resize(size_t(len));
    const int a1 = axis == 0 ? 1 : 0, a2 = axis == 2 ? 1 : 2;
    for (int64_t q = 0; q < n[a2]; ++q) {
      for (int64_t p = 0; p < n[a1]; ++p) {
        float* base = v.data() + p * stride[a1] + q * stride[a2];
        const int64_t s = stride[axis];
        for (int64_t i = 0; i < len; ++i) line[size_t(i)] = base[i * s];
        for (int64_t i = 0; i < len; ++i) {
          const float left = line[size_t(std::max<int64_t>(i - 1, 0))];
          const float right = line[size_t(std::min<int64_t>(i + 1, len - 1))];
          base[i * s] = 0.25f * left + 0.5f * line[size_t(i)] + 0.25f * right;
        }
      }
    }
  }
}

}  // namespace

ClassList phantomClasses() {
  return {
      {0, "background", {0, 0, 0}},
      {1, "spleen", {255, 0, 0}},
      {2, "right kidney", {0, 255, 0}},
      {3, "left kidney", {0, 0, 255}},
      {4, "gallbladder", {255, 255, 0}},
      {5, "esophagus", {0, 255, 255}},
      {6, "liver", {255, 0, 255}},
      {7, "stomach", {255, 239, 213}},
      {8, "aorta", {0, 0, 205}},
      {9, "inferior vena cava", {205, 133, 63}},
      {10, "portal & splenic vein", {210, 180, 140}},
      {11, "pancreas", {102, 205, 170}},
      {12, "right adrenal gland", {0, 0, 128}},
      {13, "left adrenal gland", {0, 139, 139}},
  };
}

Phantom generateAbdominalPhantom(const PhantomOptions& options) {
  if (!std::isfinite(options.noiseSigmaHu) || options.noiseSigmaHu < 0) {
    std::ostringstream s;
    s << "phantom: the noise standard deviation must be a finite value >= 0 HU, got " << options.noiseSigmaHu;
    throw Error(s.str());
  }
  ImageGeometry g;
  g.size = options.size;
  g.spacing = options.spacing;
  // float image, label map and the tissue scratch map
  checkAllocatable(g, sizeof(float) + 2.0, "phantom");
  for (int a = 0; a < 3; ++a) g.origin[a] = -0.5 * double(g.size[a] - 1) * g.spacing[a];

  Canvas canvas(g.size);
  Random anatomy(options.seed);
  paintBody(canvas, anatomy);
  paintSpine(canvas, anatomy);
  paintOrgans(canvas, anatomy);
  canvas.tissue = {};
  smooth(canvas.hu, g.size);

  // The noise has its own stream, so changing sigma leaves the anatomy unchanged.
  if (options.noiseSigmaHu > 0) {
    Random noise(options.seed ^ 0x9E3779B9u);
    const float sigma = float(options.noiseSigmaHu);
    for (float& v : canvas.hu) v += sigma * float(noise.normal());
  }

  Phantom p;
  p.ct.geometry = g;
  p.ct.voxels = std::move(canvas.hu);
  p.labels.geometry = g;
  p.labels.voxels = std::move(canvas.label);
  return p;
}

}  // namespace mqb
