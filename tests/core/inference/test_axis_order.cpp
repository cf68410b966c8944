// axis_order in the model package: a model trained on nibabel / MONAI arrays sees its
// tensor axes as [x, y, z], one from nnU-Net / SimpleITK as [z, y, x]. The preparation
// feeds each its own layout and the label map comes back onto the original grid.
#include <gtest/gtest.h>

#include <torch/script.h>

#include "support/Error.h"
#include "model/ModelMetadata.h"
#include "model/SegmentationModel.h"
#include "inference/SlidingWindowInference.h"
#include "TestSupport.h"

using namespace mqb;

namespace {

constexpr float kRampStepHu = 20.0f;  // 0.047 per voxel after clip_scale [-175, 250] -> [0, 1]

// Class 1 where the intensity increases along the model tensor's LAST axis (central
// difference), class 0 elsewhere: a model that is not symmetric in its axes.
std::string writeLastAxisGradientModel(const std::string& axisOrder, std::array<double, 3> spacing) {
  torch::jit::Module m("LastAxisGradient");
  torch::Tensor w = torch::zeros({2, 1, 1, 1, 3});
  w[1][0][0][0][0] = -0.5f;
  w[1][0][0][0][2] = 0.5f;
  m.register_parameter("w", w, false);
  m.register_parameter("b", torch::tensor({0.01f, 0.0f}), false);
  m.define(R"JIT(
    def forward(self, x):
        return torch.conv3d(x, self.w, self.b, [1, 1, 1], [0, 0, 1])
  )JIT");
  const nlohmann::json md = {{"format_version", 1},
                             {"name", "gradient-" + axisOrder},
                             {"framework", "test"},
                             {"architecture", "gradient"},
                             {"category", "CNN"},
                             {"classes",
                              {{{"id", 0}, {"name", "background"}, {"color", {0, 0, 0}}},
                               {{"id", 1}, {"name", "increasing"}, {"color", {255, 0, 0}}}}},
                             {"input_channels", 1},
                             {"patch_size", {8, 8, 8}},
                             {"target_spacing", spacing},
                             {"orientation", "LPS"},
                             {"axis_order", axisOrder},
                             {"preprocessing", {{"type", "clip_scale"}, {"clip", {-175, 250}}, {"range", {0, 1}}}},
                             {"output", {{"type", "logits"}, {"channels", 2}}}};
  const std::string path = test::tempDir() + "/gradient-" + axisOrder + ".pt";
  torch::jit::ExtraFilesMap extra{{"medquanbench.json", md.dump()}};
  m.save(path, extra);
  return path;
}

// 20 x 12 x 16 voxels (x, y, z) of 2 x 3 x 4 mm, LPS, intensity rising along x or along z.
ImageVolume rampVolume(bool alongX) {
  ImageVolume v;
  v.geometry.size = {20, 12, 16};
  v.geometry.spacing = {2, 3, 4};
  v.voxels.resize(static_cast<size_t>(v.geometry.voxelCount()));
  for (int64_t z = 0; z < 16; ++z)
    for (int64_t y = 0; y < 12; ++y)
      for (int64_t x = 0; x < 20; ++x) v.at(x, y, z) = -175.0f + kRampStepHu * static_cast<float>(alongX ? x : z);
  return v;
}

// Counts of labels 0 and 1 over the voxels away from the border of every axis (where the
// conv's zero padding sees a step).
std::array<int64_t, 2> interiorCounts(const LabelVolume& l) {
  std::array<int64_t, 2> n{0, 0};
  const auto& s = l.geometry.size;
  for (int64_t z = 1; z + 1 < s[2]; ++z)
    for (int64_t y = 1; y + 1 < s[1]; ++y)
      for (int64_t x = 1; x + 1 < s[0]; ++x) n[l.at(x, y, z) == 1 ? 1 : 0]++;
  return n;
}

}  // namespace

TEST(AxisOrder, MetadataDefaultsToZyxAndRejectsOtherValues) {
  SegmentationModel zyx = SegmentationModel::load(writeLastAxisGradientModel("zyx", {4, 3, 2}));
  EXPECT_EQ(zyx.metadata().axisOrder, "zyx");
  nlohmann::json j = zyx.metadata().toJson();
  j.erase("axis_order");
  EXPECT_EQ(ModelMetadata::fromJson(j, "m.json").axisOrder, "zyx");
  j["axis_order"] = "yxz";
  try {
    ModelMetadata::fromJson(j, "m.json");
    FAIL() << "axis_order yxz accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("m.json: \"axis_order\" 'yxz'"), std::string::npos) << e.what();
  }
}

TEST(AxisOrder, EachModelSeesItsOwnLayoutAndLabelsReturnToTheOriginalGrid) {
  // Spacing in the model's axis order: no resampling for either model.
  SegmentationModel zyx = SegmentationModel::load(writeLastAxisGradientModel("zyx", {4, 3, 2}));
  SegmentationModel xyz = SegmentationModel::load(writeLastAxisGradientModel("xyz", {2, 3, 4}));
  const int64_t interior = 18 * 10 * 14;
  for (bool alongX : {true, false}) {
    const ImageVolume v = rampVolume(alongX);
    const InferenceResult a = segmentVolume(zyx, v);  // last axis = x
    const InferenceResult b = segmentVolume(xyz, v);  // last axis = z
    ASSERT_TRUE(a.labels.geometry.sameGrid(v.geometry));
    ASSERT_TRUE(b.labels.geometry.sameGrid(v.geometry));
    const auto na = interiorCounts(a.labels), nb = interiorCounts(b.labels);
    EXPECT_EQ(na[1], alongX ? interior : 0) << "zyx model, ramp along " << (alongX ? "x" : "z");
    EXPECT_EQ(nb[1], alongX ? 0 : interior) << "xyz model, ramp along " << (alongX ? "x" : "z");
  }
}

TEST(AxisOrder, ModelSpaceLabelsFollowTheModelLayout) {
  SegmentationModel xyz = SegmentationModel::load(writeLastAxisGradientModel("xyz", {2, 3, 4}));
  const ImageVolume v = rampVolume(true);
  const PreparedVolume pv = prepareVolume(v, xyz.metadata(), FeedbackStage(nullptr, 0, 1, ""));
  EXPECT_EQ(pv.resampledSize, (std::array<int64_t, 3>{20, 12, 16}));  // x, y, z
  EXPECT_EQ(pv.input.sizes().vec(), (std::vector<int64_t>{1, 1, 20, 12, 16}));
  // The input rises along its first axis (x).
  EXPECT_GT(pv.input[0][0][5][3][3].item<float>(), pv.input[0][0][4][3][3].item<float>());
  EXPECT_EQ(pv.input[0][0][4][3][3].item<float>(), pv.input[0][0][4][3][9].item<float>());
  // Labels to model space and back are the identity on the same grid.
  LabelVolume l;
  l.geometry = v.geometry;
  l.voxels.resize(v.voxels.size());
  for (size_t i = 0; i < l.voxels.size(); ++i) l.voxels[i] = static_cast<uint8_t>(i % 7);
  const torch::Tensor model = pv.toModelSpace(l);
  EXPECT_EQ(model.sizes().vec(), (std::vector<int64_t>{20, 12, 16}));
  EXPECT_EQ(model[3][2][5].item<uint8_t>(), l.at(3, 2, 5));
  EXPECT_EQ(pv.toOriginalGrid(model).voxels, l.voxels);
  EXPECT_EQ(pv.orientedAxisOf(0), 0);
  EXPECT_EQ(pv.modelAxisOf(2), 2);
}
