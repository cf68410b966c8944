// The one radiological slice orientation (widgets/SliceOrientation.h) and the CPU renderer
// that uses it for figures (SliceRenderer voxelAtPixel): which voxel lands top-left.
#include <gtest/gtest.h>

#include "SliceOrientation.h"
#include "SliceRenderer.h"

namespace mqb {
namespace {

ImageGeometry grid(std::array<double, 9> direction) {
  ImageGeometry g;
  g.size = {8, 6, 4};
  g.direction = direction;
  return g;
}

const std::array<double, 9> kLps{1, 0, 0, 0, 1, 0, 0, 0, 1};
const std::array<double, 9> kRas{-1, 0, 0, 0, -1, 0, 0, 0, 1};  // a NIfTI stored as RAS

void expectPlane(const ScreenAxes& p, int horizontal, int vertical, int rightSign, int upSign) {
  EXPECT_EQ(p.horizontal, horizontal);
  EXPECT_EQ(p.vertical, vertical);
  EXPECT_EQ(p.rightSign, rightSign);
  EXPECT_EQ(p.upSign, upSign);
}

TEST(SliceOrientation, AxisMappingForLpsVolumes) {
  const ImageGeometry g = grid(kLps);
  EXPECT_EQ(indexAxisSigns(g), (std::array<int, 3>{1, 1, 1}));
  // Axial: patient left (+x) to the right, anterior (-y) up.
  expectPlane(screenAxes(g, 2), 0, 1, 1, -1);
  // Coronal: patient left to the right, superior (+z) up.
  expectPlane(screenAxes(g, 1), 0, 2, 1, 1);
  // Sagittal: posterior (+y) to the right, superior up.
  expectPlane(screenAxes(g, 0), 1, 2, 1, 1);
}

TEST(SliceOrientation, FlippedAndPermutedDirectionsKeepTheAnatomyInPlace) {
  const ImageGeometry ras = grid(kRas);
  EXPECT_EQ(indexAxisSigns(ras), (std::array<int, 3>{-1, -1, 1}));
  expectPlane(screenAxes(ras, 2), 0, 1, -1, 1);
  expectPlane(screenAxes(ras, 0), 1, 2, -1, 1);
  // Index x along physical -y, index y along physical +x: the dominant component decides.
  const ImageGeometry permuted = grid({0, 0.9, 0, -0.95, 0.1, 0, 0, 0, 1});
  EXPECT_EQ(indexAxisSigns(permuted), (std::array<int, 3>{-1, 1, 1}));
}

TEST(SliceOrientation, FiguresPutTheSameVoxelTopLeftAsTheViews) {
  const QSize size(80, 60);
  // LPS axial: the top-left pixel is the patient's right (x = 0) and anterior (y = 0).
  EXPECT_EQ(voxelAtPixel(grid(kLps), 2, 3, size, 0, 0), (std::array<int, 3>{0, 0, 3}));
  // RAS storage: the same anatomy is at the highest indices.
  EXPECT_EQ(voxelAtPixel(grid(kRas), 2, 3, size, 0, 0), (std::array<int, 3>{7, 5, 3}));
  // Coronal LPS: superior (highest z) on the top row.
  EXPECT_EQ(voxelAtPixel(grid(kLps), 1, 2, QSize(80, 40), 0, 0), (std::array<int, 3>{0, 2, 3}));
}

}  // namespace
}  // namespace mqb
