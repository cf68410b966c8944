// The status-bar read-out under the cursor (app/gui/model/VoxelReadout).
#include <gtest/gtest.h>

#include "VoxelReadout.h"

namespace mqb::gui {
namespace {

std::shared_ptr<LabelVolume> labels(std::array<int64_t, 3> size, uint8_t value) {
  auto l = std::make_shared<LabelVolume>();
  l->geometry.size = size;
  l->voxels.assign(static_cast<size_t>(size[0] * size[1] * size[2]), value);
  return l;
}

VoxelLayers layers() {
  VoxelLayers v;
  auto ct = std::make_shared<ImageVolume>();
  ct->geometry.size = {2, 2, 2};
  ct->voxels.assign(8, -80.0f);
  ct->at(1, 0, 1) = 400.4f;
  v.ct = ct;
  v.fp32 = labels({2, 2, 2}, 1);
  v.quantized = labels({2, 2, 2}, 1);
  v.truth = labels({2, 2, 2}, 0);
  v.quantizedName = "W4A4";
  v.classes = {{1, "liver", {0, 0, 0}}, {2, "spleen", {0, 0, 0}}};
  return v;
}

TEST(VoxelReadout, NamesEveryLayerAtTheVoxel) {
  EXPECT_EQ(describeVoxel(layers(), 1, 0, 1), "voxel (1, 0, 1)   HU 400   FP32: liver   W4A4: liver   GT: background");
}

TEST(VoxelReadout, MarksDisagreementAndUnknownIds) {
  VoxelLayers v = layers();
  v.quantized = labels({2, 2, 2}, 7);
  EXPECT_EQ(describeVoxel(v, 0, 0, 0),
            "voxel (0, 0, 0)   HU -80   FP32: liver   W4A4: label 7   GT: background   (differ)");
}

TEST(VoxelReadout, SkipsLabelMapsOnAnotherGridAndOutsidePositions) {
  VoxelLayers v = layers();
  v.truth = labels({3, 2, 2}, 2);
  v.fp32 = nullptr;
  EXPECT_EQ(describeVoxel(v, 0, 1, 0), "voxel (0, 1, 0)   HU -80   W4A4: liver");
  EXPECT_EQ(describeVoxel(v, 2, 0, 0), "");
  EXPECT_EQ(describeVoxel(v, -1, 0, 0), "");
  v.ct = nullptr;
  EXPECT_EQ(describeVoxel(v, 0, 0, 0), "");
}

}  // namespace
}  // namespace mqb::gui
