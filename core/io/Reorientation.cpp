#include "io/Reorientation.h"

#include <cmath>

#include "support/Error.h"

namespace mqb {
namespace {

// For each array axis j: the LPS axis it points along most, and the sign of that component.
void dominantAxes(const ImageGeometry& g, std::array<int, 3>& lpsAxis, std::array<int, 3>& sign) {
  std::array<bool, 3> used{false, false, false};
  for (int j = 0; j < 3; ++j) {
    int best = -1;
    double bestAbs = -1;
    for (int k = 0; k < 3; ++k) {
      const double v = std::abs(g.direction[k * 3 + j]);
      if (!used[k] && v > bestAbs) {
        bestAbs = v;
        best = k;
      }
    }
    used[best] = true;
    lpsAxis[j] = best;
    sign[j] = g.direction[best * 3 + j] >= 0 ? 1 : -1;
  }
}

void parseCode(const std::string& code, std::array<int, 3>& axis, std::array<int, 3>& sign) {
  if (code.size() != 3) throw Error("orientation code '" + code + "' must have 3 letters");
  for (int t = 0; t < 3; ++t) {
    switch (code[t]) {
      case 'L':
        axis[t] = 0;
        sign[t] = 1;
        break;
      case 'R':
        axis[t] = 0;
        sign[t] = -1;
        break;
      case 'P':
        axis[t] = 1;
        sign[t] = 1;
        break;
      case 'A':
        axis[t] = 1;
        sign[t] = -1;
        break;
      case 'S':
        axis[t] = 2;
        sign[t] = 1;
        break;
      case 'I':
        axis[t] = 2;
        sign[t] = -1;
        break;
      default: throw Error("orientation code '" + code + "' has an invalid letter");
    }
  }
}

// Calls f(targetIndex, sourceIndex) for every voxel; target sizes are the permuted source sizes.
template <typename F>
void forEachMapped(const ImageGeometry& src, const AxisReorientation& r, F&& f) {
  std::array<int64_t, 3> srcStride{1, src.size[0], src.size[0] * src.size[1]};
  std::array<int64_t, 3> tSize{src.size[r.sourceAxis[0]], src.size[r.sourceAxis[1]], src.size[r.sourceAxis[2]]};
  // Source offset of target index a: sum_t (flip_t ? n_t-1-a_t : a_t) * stride[sourceAxis[t]]
  std::array<int64_t, 3> step{}, base{};
  int64_t start = 0;
  for (int t = 0; t < 3; ++t) {
    const int64_t stride = srcStride[r.sourceAxis[t]];
    step[t] = r.flip[t] ? -stride : stride;
    base[t] = r.flip[t] ? (tSize[t] - 1) * stride : 0;
    start += base[t];
  }
  int64_t ti = 0;
  for (int64_t z = 0; z < tSize[2]; ++z) {
    for (int64_t y = 0; y < tSize[1]; ++y) {
      int64_t si = start + z * step[2] + y * step[1];
      for (int64_t x = 0; x < tSize[0]; ++x, ++ti, si += step[0]) f(ti, si);
    }
  }
}

}  // namespace

std::string orientationCode(const ImageGeometry& g) {
  std::array<int, 3> axis{}, sign{};
  dominantAxes(g, axis, sign);
  static const char pos[3] = {'L', 'P', 'S'}, neg[3] = {'R', 'A', 'I'};
  std::string code(3, '?');
  for (int j = 0; j < 3; ++j) code[j] = sign[j] > 0 ? pos[axis[j]] : neg[axis[j]];
  return code;
}

AxisReorientation reorientationTo(const ImageGeometry& g, const std::string& code) {
  std::array<int, 3> srcAxis{}, srcSign{}, tgtAxis{}, tgtSign{};
  dominantAxes(g, srcAxis, srcSign);
  parseCode(code, tgtAxis, tgtSign);
  AxisReorientation r;
  for (int t = 0; t < 3; ++t) {
    for (int j = 0; j < 3; ++j) {
      if (srcAxis[j] == tgtAxis[t]) {
        r.sourceAxis[t] = j;
        r.flip[t] = srcSign[j] != tgtSign[t];
      }
    }
  }
  return r;
}

template <typename T>
Volume<T> reorient(const Volume<T>& source, const AxisReorientation& r) {
  if (r.isIdentity()) return source;
  const ImageGeometry& s = source.geometry;
  Volume<T> out;
  ImageGeometry& g = out.geometry;
  std::array<int64_t, 3> firstSourceIndex{0, 0, 0};
  for (int t = 0; t < 3; ++t) {
    const int j = r.sourceAxis[t];
    g.size[t] = s.size[j];
    g.spacing[t] = s.spacing[j];
    for (int k = 0; k < 3; ++k) g.direction[k * 3 + t] = s.direction[k * 3 + j] * (r.flip[t] ? -1 : 1);
    if (r.flip[t]) firstSourceIndex[j] = s.size[j] - 1;
  }
  for (int k = 0; k < 3; ++k) {
    g.origin[k] = s.origin[k];
    for (int j = 0; j < 3; ++j) g.origin[k] += s.direction[k * 3 + j] * double(firstSourceIndex[j]) * s.spacing[j];
  }
  out.voxels.resize(source.voxels.size());
  forEachMapped(s, r, [&](int64_t ti, int64_t si) { out.voxels[ti] = source.voxels[si]; });
  return out;
}

template <typename T>
Volume<T> restoreOrientation(const Volume<T>& target, const AxisReorientation& r, const ImageGeometry& sourceGeometry) {
  if (r.isIdentity()) {
    Volume<T> out = target;
    out.geometry = sourceGeometry;
    return out;
  }
  if (static_cast<int64_t>(target.voxels.size()) != sourceGeometry.voxelCount())
    throw Error("restoreOrientation: volume size does not match the source grid");
  Volume<T> out;
  out.geometry = sourceGeometry;
  out.voxels.resize(target.voxels.size());
  forEachMapped(sourceGeometry, r, [&](int64_t ti, int64_t si) { out.voxels[si] = target.voxels[ti]; });
  return out;
}

template Volume<float> reorient(const Volume<float>&, const AxisReorientation&);
template Volume<uint8_t> reorient(const Volume<uint8_t>&, const AxisReorientation&);
template Volume<float> restoreOrientation(const Volume<float>&, const AxisReorientation&, const ImageGeometry&);
template Volume<uint8_t> restoreOrientation(const Volume<uint8_t>&, const AxisReorientation&, const ImageGeometry&);

}  // namespace mqb

namespace mqb {

LabelVolume alignToGrid(const LabelVolume& labels, const ImageGeometry& target, const std::string& what) {
  if (labels.geometry.sameGrid(target)) return labels;
  LabelVolume aligned = reorient(labels, reorientationTo(labels.geometry, orientationCode(target)));
  const std::string difference = aligned.geometry.gridDifference(target);
  if (!difference.empty()) throw Error(what + ": label map grid differs from the CT grid (" + difference + ")");
  aligned.geometry = target;
  return aligned;
}

}  // namespace mqb
