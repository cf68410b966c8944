#include "SliceOrientation.h"

#include <cmath>

namespace mqb {

std::array<int, 3> indexAxisSigns(const ImageGeometry& g) {
  std::array<int, 3> sign{1, 1, 1};
  for (int a = 0; a < 3; ++a) {
    int best = 0;
    for (int r = 1; r < 3; ++r)
      if (std::abs(g.direction[r * 3 + a]) > std::abs(g.direction[best * 3 + a])) best = r;
    sign[a] = g.direction[best * 3 + a] < 0 ? -1 : 1;
  }
  return sign;
}

ScreenAxes screenAxes(int normalAxis, const std::array<int, 3>& sign) {
  ScreenAxes p;
  switch (normalAxis) {
    case 0:  // sagittal: posterior (+y in LPS) to the right, superior (+z) up
      p = {0, 1, 2, sign[1], sign[2]};
      break;
    case 1:  // coronal: patient left (+x in LPS) to the right, superior up
      p = {1, 0, 2, sign[0], sign[2]};
      break;
    default:  // axial: patient left to the right, anterior (-y in LPS) up
      p = {2, 0, 1, sign[0], -sign[1]};
      break;
  }
  return p;
}

}  // namespace mqb
