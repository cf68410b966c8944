#pragma once
// In-memory 3D volumes. Voxels are stored x-fastest (ITK buffer order), so a volume maps
// without copying onto a torch tensor of shape [D=z, H=y, W=x]. Geometry follows ITK:
// physical point = origin + direction * (index .* spacing), in LPS millimetres.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace mqb {

struct ImageGeometry {
  std::array<int64_t, 3> size{0, 0, 0};  // x, y, z voxel counts
  std::array<double, 3> spacing{1.0, 1.0, 1.0};
  std::array<double, 3> origin{0.0, 0.0, 0.0};
  std::array<double, 9> direction{1, 0, 0, 0, 1, 0, 0, 0, 1};  // row-major 3x3

  int64_t voxelCount() const { return size[0] * size[1] * size[2]; }
  // Same size, and spacing/origin/direction equal within a tolerance (relative to spacing).
  bool sameGrid(const ImageGeometry& other, double tolerance = 1e-3) const;
  std::string describe() const;  // "122x101x112 voxels, 3x3x3 mm"
  // Human-readable first difference with another grid ("origin (0,0,0) vs (1,0,0)"), or "".
  std::string gridDifference(const ImageGeometry& other, double tolerance = 1e-3) const;
};

template <typename T>
struct Volume {
  ImageGeometry geometry;
  std::vector<T> voxels;

  T& at(int64_t x, int64_t y, int64_t z) {
    return voxels[static_cast<size_t>((z * geometry.size[1] + y) * geometry.size[0] + x)];
  }
  const T& at(int64_t x, int64_t y, int64_t z) const {
    return voxels[static_cast<size_t>((z * geometry.size[1] + y) * geometry.size[0] + x)];
  }
};

using ImageVolume = Volume<float>;    // CT intensities (HU)
using LabelVolume = Volume<uint8_t>;  // label ids 0..255

// Refuses sizes that cannot be real volumes or would exhaust memory, before allocating.
// bytesPerVoxel covers everything that will be allocated per voxel by the caller.
void checkAllocatable(const ImageGeometry& geometry, double bytesPerVoxel, const std::string& what);

}  // namespace mqb
