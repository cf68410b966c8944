#include "metrics/SegmentationMetrics.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <memory>
#include <sstream>

#include "support/Error.h"
#include "support/Feedback.h"

namespace mqb {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr int kLabels = 256;

// Inclusive voxel index box; empty while lo > hi.
struct Box {
  std::array<int64_t, 3> lo{std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::max(),
                            std::numeric_limits<int64_t>::max()};
  std::array<int64_t, 3> hi{-1, -1, -1};

  bool empty() const { return lo[0] > hi[0] || lo[1] > hi[1] || lo[2] > hi[2]; }
  int64_t extent(int a) const { return hi[a] - lo[a] + 1; }
  void grow(int64_t x, int64_t y, int64_t z) {
    lo[0] = std::min(lo[0], x), hi[0] = std::max(hi[0], x);
    lo[1] = std::min(lo[1], y), hi[1] = std::max(hi[1], y);
    lo[2] = std::min(lo[2], z), hi[2] = std::max(hi[2], z);
  }
};

Box intersect(const Box& a, const Box& b) {
  Box r;
  for (int i = 0; i < 3; ++i) {
    r.lo[i] = std::max(a.lo[i], b.lo[i]);
    r.hi[i] = std::min(a.hi[i], b.hi[i]);
  }
  return r;
}

Box expand(const Box& b, const std::array<int64_t, 3>& pad, const ImageGeometry& g) {
  Box r;
  for (int i = 0; i < 3; ++i) {
    r.lo[i] = std::max<int64_t>(0, b.lo[i] - pad[i]);
    r.hi[i] = std::min<int64_t>(g.size[i] - 1, b.hi[i] + pad[i]);
  }
  return r;
}

// Everything the per-organ scores need from the full volumes, gathered in one scan.
struct LabelStats {
  std::array<int64_t, kLabels> predicted{};
  std::array<int64_t, kLabels> reference{};
  std::array<int64_t, kLabels> overlap{};
  std::array<Box, kLabels> predictedBox;
  std::array<Box, kLabels> referenceBox;
};

void checkInputs(const LabelVolume& pred, const LabelVolume& ref) {
  const ImageGeometry& g = ref.geometry;
  if (!pred.geometry.sameGrid(g)) {
    throw Error("segmentation metrics: the prediction (" + pred.geometry.describe() + ") and the reference (" +
                g.describe() + ") are not on the same voxel grid; resample one onto the other first");
  }
  for (const LabelVolume* v : {&pred, &ref}) {
    if (v->voxels.size() != static_cast<size_t>(std::max<int64_t>(0, v->geometry.voxelCount()))) {
      std::ostringstream s;
      s << "segmentation metrics: a label map holds " << v->voxels.size() << " voxels but its grid ("
        << v->geometry.describe() << ") needs " << v->geometry.voxelCount();
      throw Error(s.str());
    }
  }
  for (int a = 0; a < 3; ++a) {
    if (!(g.spacing[a] > 0) || !std::isfinite(g.spacing[a]))
      throw Error("segmentation metrics: invalid voxel spacing (" + g.describe() + ")");
  }
}

void checkTolerance(double toleranceMm) {
  if (!std::isfinite(toleranceMm) || toleranceMm < 0) {
    std::ostringstream s;
    s << "segmentation metrics: the surface Dice tolerance must be a finite distance >= 0 mm, got " << toleranceMm;
    throw Error(s.str());
  }
}

// Every pass over voxels looks at the Feedback once per slice (at most a few milliseconds
// of work), so a cancel stops even one large organ's distance transform at once.
void checkCanceled(const Feedback* feedback) {
  if (feedback) feedback->throwIfCanceled();
}

LabelStats scanLabels(const LabelVolume& pred, const LabelVolume& ref, const Feedback* feedback) {
  LabelStats st;
  const auto& size = ref.geometry.size;
  const uint8_t* p = pred.voxels.data();
  const uint8_t* r = ref.voxels.data();
  size_t i = 0;
  for (int64_t z = 0; z < size[2]; ++z) {
    checkCanceled(feedback);
    for (int64_t y = 0; y < size[1]; ++y) {
      for (int64_t x = 0; x < size[0]; ++x, ++i) {
        const uint8_t a = p[i], b = r[i];
        ++st.predicted[a];
        ++st.reference[b];
        if (a == b) ++st.overlap[a];
        // Background boxes are never needed and would cost most of the scan.
        if (a) st.predictedBox[a].grow(x, y, z);
        if (b) st.referenceBox[b].grow(x, y, z);
      }
    }
  }
  return st;
}

LabelStats scanOneLabel(const LabelVolume& pred, const LabelVolume& ref, int label) {
  LabelStats st;
  if (label < 0 || label >= kLabels) return st;  // cannot occur in an 8-bit label map
  const auto& size = ref.geometry.size;
  const uint8_t l = static_cast<uint8_t>(label);
  size_t i = 0;
  for (int64_t z = 0; z < size[2]; ++z) {
    for (int64_t y = 0; y < size[1]; ++y) {
      for (int64_t x = 0; x < size[0]; ++x, ++i) {
        const bool a = pred.voxels[i] == l, b = ref.voxels[i] == l;
        if (a) ++st.predicted[l], st.predictedBox[l].grow(x, y, z);
        if (b) ++st.reference[l], st.referenceBox[l].grow(x, y, z);
        if (a && b) ++st.overlap[l];
      }
    }
  }
  return st;
}

double diceFromCounts(int64_t predicted, int64_t reference, int64_t overlap) {
  if (predicted == 0 && reference == 0) return kNaN;
  return 2.0 * double(overlap) / double(predicted + reference);
}

// Squared distance transform along one line, Felzenszwalb & Huttenlocher (2012): the lower
// envelope of the parabolas (w*(q-p))^2 + f(p) rooted at the finite samples. Exact, O(n).
// f is read with stride; out, v and z are scratch of length n (z: n+1).
void edt1d(double* f, int64_t n, int64_t stride, double w, double* out, int64_t* v, double* z) {
  const double w2 = w * w;
  int64_t k = -1;
  for (int64_t q = 0; q < n; ++q) {
    const double fq = f[q * stride];
    if (fq == kInf) continue;  // not a site, and no finite distance yet along earlier axes
    if (k < 0) {
      k = 0, v[0] = q, z[0] = -kInf, z[1] = kInf;
      continue;
    }
    double s;
    for (;;) {
      const int64_t p = v[k];
      s = ((fq + w2 * double(q) * double(q)) - (f[p * stride] + w2 * double(p) * double(p))) /
          (2.0 * w2 * double(q - p));
      if (s > z[k]) break;
      --k;  // z[0] = -inf, so the first parabola is never removed
    }
    ++k;
    v[k] = q, z[k] = s, z[k + 1] = kInf;
  }
  if (k < 0) return;  // no site on this line: it stays at infinity
  int64_t j = 0;
  for (int64_t q = 0; q < n; ++q) {
    while (z[j + 1] < double(q)) ++j;
    const double d = w * double(q - v[j]);
    out[q] = d * d + f[v[j] * stride];
  }
  for (int64_t q = 0; q < n; ++q) f[q * stride] = out[q];
}

// In-place squared Euclidean distance (mm^2) to the nearest zero of `field` (others +inf),
// separable over x, y, z with the physical spacing as per-axis weight.
void squaredEdt(std::vector<double>& field, const std::array<int64_t, 3>& n, const std::array<double, 3>& spacing,
                const Feedback* feedback) {
  const int64_t longest = std::max({n[0], n[1], n[2]});
  std::vector<double> out(longest), z(longest + 1);
  std::vector<int64_t> v(longest);
  const std::array<int64_t, 3> stride{1, n[0], n[0] * n[1]};
  for (int axis = 0; axis < 3; ++axis) {
    const int a1 = axis == 0 ? 1 : 0, a2 = axis == 2 ? 1 : 2;  // the two other axes
    for (int64_t j = 0; j < n[a2]; ++j) {
      checkCanceled(feedback);
      for (int64_t i = 0; i < n[a1]; ++i)
        edt1d(field.data() + i * stride[a1] + j * stride[a2], n[axis], stride[axis], spacing[axis], out.data(),
              v.data(), z.data());
    }
  }
}

bool isSurface(const uint8_t* vox, const std::array<int64_t, 3>& size, int64_t x, int64_t y, int64_t z, size_t i,
               uint8_t label) {
  if (x == 0 || y == 0 || z == 0 || x == size[0] - 1 || y == size[1] - 1 || z == size[2] - 1) return true;
  const size_t sy = size_t(size[0]), sz = size_t(size[0] * size[1]);
  return vox[i - 1] != label || vox[i + 1] != label || vox[i - sy] != label || vox[i + sy] != label ||
         vox[i - sz] != label || vox[i + sz] != label;
}

// Counts the surface voxels of `label` inside `box` (the mask's bounding box, so the whole
// surface), and flags those lying inside `region` with `bit` in regionFlags.
int64_t markSurface(const LabelVolume& vol, uint8_t label, const Box& box, const Box& region, uint8_t bit,
                    std::vector<uint8_t>& regionFlags, const Feedback* feedback) {
  const auto& size = vol.geometry.size;
  const uint8_t* vox = vol.voxels.data();
  const bool haveRegion = !region.empty();
  const int64_t rx = region.extent(0), ry = region.extent(1);
  int64_t count = 0;
  for (int64_t z = box.lo[2]; z <= box.hi[2]; ++z) {
    checkCanceled(feedback);
    for (int64_t y = box.lo[1]; y <= box.hi[1]; ++y) {
      size_t i = size_t((z * size[1] + y) * size[0] + box.lo[0]);
      for (int64_t x = box.lo[0]; x <= box.hi[0]; ++x, ++i) {
        if (vox[i] != label || !isSurface(vox, size, x, y, z, i, label)) continue;
        ++count;
        if (haveRegion && x >= region.lo[0] && x <= region.hi[0] && y >= region.lo[1] && y <= region.hi[1] &&
            z >= region.lo[2] && z <= region.hi[2]) {
          regionFlags[size_t(((z - region.lo[2]) * ry + (y - region.lo[1])) * rx + (x - region.lo[0]))] |= bit;
        }
      }
    }
  }
  return count;
}

// Number of voxels flagged `queryBit` within `tau2` (mm^2) of a voxel flagged `siteBit`.
int64_t countWithin(const std::vector<uint8_t>& flags, uint8_t siteBit, uint8_t queryBit,
                    const std::array<int64_t, 3>& n, const std::array<double, 3>& spacing, double tau2,
                    std::vector<double>& field, const Feedback* feedback) {
  for (size_t i = 0; i < flags.size(); ++i) field[i] = (flags[i] & siteBit) ? 0.0 : kInf;
  squaredEdt(field, n, spacing, feedback);
  int64_t within = 0;
  for (size_t i = 0; i < flags.size(); ++i)
    if ((flags[i] & queryBit) && field[i] <= tau2) ++within;
  return within;
}

double surfaceDiceForLabel(const LabelVolume& pred, const LabelVolume& ref, uint8_t label, const Box& predBox,
                           const Box& refBox, double toleranceMm, const Feedback* feedback = nullptr) {
  if (predBox.empty() && refBox.empty()) return kNaN;
  if (predBox.empty() || refBox.empty()) return 0.0;
  const ImageGeometry& g = ref.geometry;

  // A surface voxel farther than tau from the other mask's bounding box cannot be within
  // tau of its surface, so the transform only needs the overlap of both boxes, each grown
  // by tau. Inside that region it is exact: every site a query within tau could reach is
  // in it, and queries outside it are counted as "farther than tau".
  std::array<int64_t, 3> pad{};
  for (int a = 0; a < 3; ++a) {
    const double voxels = std::ceil(toleranceMm / g.spacing[a]) + 1.0;
    pad[a] = int64_t(std::min(voxels, double(g.size[a])));
  }
  const Box region = intersect(expand(predBox, pad, g), expand(refBox, pad, g));
  std::array<int64_t, 3> n{0, 0, 0};
  std::vector<uint8_t> flags;
  if (!region.empty()) {
    n = {region.extent(0), region.extent(1), region.extent(2)};
    flags.assign(size_t(n[0] * n[1] * n[2]), 0);
  }
  constexpr uint8_t kPred = 1, kRef = 2;
  const int64_t predSurface = markSurface(pred, label, predBox, region, kPred, flags, feedback);
  const int64_t refSurface = markSurface(ref, label, refBox, region, kRef, flags, feedback);
  if (region.empty()) return 0.0;

  // Distances equal to tau up to rounding (e.g. 3 x 0.7 mm against 2.1 mm) count as within.
  const double tau2 = toleranceMm * toleranceMm * (1.0 + 1e-9);
  std::vector<double> field(flags.size());
  const int64_t predWithin = countWithin(flags, kRef, kPred, n, g.spacing, tau2, field, feedback);
  const int64_t refWithin = countWithin(flags, kPred, kRef, n, g.spacing, tau2, field, feedback);
  return double(predWithin + refWithin) / double(predSurface + refSurface);
}

double meanOfScored(const std::vector<OrganScore>& organs, double OrganScore::*member) {
  double sum = 0;
  int count = 0;
  for (const OrganScore& o : organs) {
    if (std::isnan(o.*member)) continue;
    sum += o.*member;
    ++count;
  }
  return count ? sum / count : kNaN;
}

}  // namespace

double diceCoefficient(const LabelVolume& pred, const LabelVolume& ref, int label) {
  checkInputs(pred, ref);
  if (label < 0 || label >= kLabels) return kNaN;
  const LabelStats st = scanOneLabel(pred, ref, label);
  return diceFromCounts(st.predicted[label], st.reference[label], st.overlap[label]);
}

double normalizedSurfaceDice(const LabelVolume& pred, const LabelVolume& ref, int label, double toleranceMm) {
  checkInputs(pred, ref);
  checkTolerance(toleranceMm);
  if (label < 0 || label >= kLabels) return kNaN;
  const LabelStats st = scanOneLabel(pred, ref, label);
  return surfaceDiceForLabel(pred, ref, uint8_t(label), st.predictedBox[label], st.referenceBox[label], toleranceMm);
}

SegmentationScores scoreSegmentation(const LabelVolume& pred, const LabelVolume& ref, const ClassList& classes,
                                     double toleranceMm, Feedback* feedback) {
  checkInputs(pred, ref);
  checkTolerance(toleranceMm);
  for (const ClassInfo& c : classes) {
    if (c.id < 0 || c.id >= kLabels)
      throw Error("segmentation metrics: class '" + c.name + "' has id " + std::to_string(c.id) +
                  ", which cannot occur in a label map (ids are 0..255)");
  }

  if (feedback) {
    feedback->throwIfCanceled();
    feedback->report(0.0, "metrics: counting voxels");
  }
  const auto stats = std::make_unique<LabelStats>(scanLabels(pred, ref, feedback));

  std::vector<const ClassInfo*> organs;
  for (const ClassInfo& c : classes)
    if (c.id != 0) organs.push_back(&c);

  SegmentationScores scores;
  scores.toleranceMm = toleranceMm;
  // The counting scan is cheap next to the distance transforms, so it gets a small slice.
  constexpr double kScanShare = 0.1;
  for (size_t k = 0; k < organs.size(); ++k) {
    const ClassInfo& c = *organs[k];
    if (feedback) {
      feedback->throwIfCanceled();
      feedback->report(kScanShare + (1 - kScanShare) * double(k) / double(organs.size()),
                       "metrics: " + c.name + " " + std::to_string(k + 1) + "/" + std::to_string(organs.size()));
    }
    OrganScore o;
    o.id = c.id;
    o.name = c.name;
    o.predictedVoxels = stats->predicted[c.id];
    o.referenceVoxels = stats->reference[c.id];
    o.dsc = diceFromCounts(o.predictedVoxels, o.referenceVoxels, stats->overlap[c.id]);
    o.nsd = surfaceDiceForLabel(pred, ref, uint8_t(c.id), stats->predictedBox[c.id], stats->referenceBox[c.id],
                                toleranceMm, feedback);
    scores.organs.push_back(std::move(o));
  }
  scores.meanDsc = meanOfScored(scores.organs, &OrganScore::dsc);
  scores.meanNsd = meanOfScored(scores.organs, &OrganScore::nsd);
  if (feedback) feedback->report(1.0, "metrics: done");
  return scores;
}

}  // namespace mqb
