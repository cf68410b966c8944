#include "io/Volume.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "support/Error.h"

namespace mqb {

bool ImageGeometry::sameGrid(const ImageGeometry& o, double tolerance) const {
  return gridDifference(o, tolerance).empty();
}

static std::string triple(const std::array<double, 3>& v) {
  std::ostringstream s;
  s << "(" << v[0] << ", " << v[1] << ", " << v[2] << ")";
  return s.str();
}

std::string ImageGeometry::gridDifference(const ImageGeometry& o, double tolerance) const {
  if (size != o.size)
    return "size " + std::to_string(size[0]) + "x" + std::to_string(size[1]) + "x" + std::to_string(size[2]) +
           " vs " + std::to_string(o.size[0]) + "x" + std::to_string(o.size[1]) + "x" + std::to_string(o.size[2]);
  for (int i = 0; i < 3; ++i)
    if (std::abs(spacing[i] - o.spacing[i]) > tolerance * spacing[i])
      return "spacing " + triple(spacing) + " vs " + triple(o.spacing) + " mm";
  // Origins may differ by float rounding of the writing tool: tolerate a small fraction of a voxel.
  for (int i = 0; i < 3; ++i)
    if (std::abs(origin[i] - o.origin[i]) > 0.01 * std::min({spacing[0], spacing[1], spacing[2]}) + 1e-4)
      return "origin " + triple(origin) + " vs " + triple(o.origin) + " mm";
  for (int i = 0; i < 9; ++i)
    if (std::abs(direction[i] - o.direction[i]) > tolerance) {
      std::ostringstream s;
      s << "direction matrix differs (element " << i << ": " << direction[i] << " vs " << o.direction[i] << ")";
      return s.str();
    }
  return {};
}

std::string ImageGeometry::describe() const {
  std::ostringstream s;
  s << size[0] << "x" << size[1] << "x" << size[2] << " voxels, " << spacing[0] << "x" << spacing[1] << "x"
    << spacing[2] << " mm";
  return s.str();
}

static double availableMemoryBytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  double kb = 0;
  while (meminfo >> key >> kb) {
    if (key == "MemAvailable:") return kb * 1024.0;
    meminfo.ignore(256, '\n');
  }
  return 64.0 * 1024 * 1024 * 1024;  // unknown platform: assume a large workstation
}

void checkAllocatable(const ImageGeometry& g, double bytesPerVoxel, const std::string& what) {
  for (int i = 0; i < 3; ++i) {
    if (g.size[i] <= 0) throw Error(what + ": invalid size " + g.describe() + " (every dimension must be positive)");
    if (!(g.spacing[i] > 0) || !std::isfinite(g.spacing[i]))
      throw Error(what + ": invalid voxel spacing " + g.describe());
  }
  const double voxels = double(g.size[0]) * double(g.size[1]) * double(g.size[2]);
  const double needed = voxels * bytesPerVoxel;
  const double available = availableMemoryBytes();
  if (voxels > 4.0e9 || needed > 0.8 * available) {
    std::ostringstream s;
    s << what << ": " << g.describe() << " would need " << needed / (1024.0 * 1024 * 1024) << " GiB, more than the "
      << available / (1024.0 * 1024 * 1024) << " GiB of memory available; refusing to allocate";
    throw Error(s.str());
  }
}

}  // namespace mqb
