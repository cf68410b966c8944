// The Inputs panel sections and their whole-volume scans (app/gui/model/InputsInfo).
#include <gtest/gtest.h>

#include "InputsInfo.h"

namespace mqb::gui {
namespace {

std::string valueOf(const InfoSection& s, const std::string& key) {
  for (const auto& r : s.rows)
    if (r.key == key) return r.value;
  return "<missing " + key + ">";
}

ImageVolume smallCt() {
  ImageVolume v;
  v.geometry.size = {4, 3, 2};
  v.geometry.spacing = {0.75, 0.75, 2.5};
  v.geometry.origin = {-10.25, 4, 100};
  v.voxels.assign(24, 40.0f);
  v.voxels[5] = -1000.4f;
  v.voxels[17] = 1200.0f;
  return v;
}

TEST(InputsInfo, TheScansFindTheHuRangeAndTheLabelsPresent) {
  const IntensityRange r = intensityRange(smallCt());
  EXPECT_FLOAT_EQ(r.low, -1000.4f);
  EXPECT_FLOAT_EQ(r.high, 1200.0f);
  LabelVolume labels;
  labels.geometry.size = {3, 1, 1};
  labels.voxels = {0, 13, 2};
  EXPECT_EQ(labelsPresent(labels), (std::vector<int>{2, 13}));
}

TEST(InputsInfo, TheCtSectionSaysComputingUntilTheScanIsDone) {
  const ImageVolume ct = smallCt();
  const InfoSection pending = volumeSection(ct, "/data/ct.nii.gz", std::nullopt);
  EXPECT_EQ(pending.title, "CT volume");
  EXPECT_EQ(valueOf(pending, "HU range"), kComputingText);
  EXPECT_EQ(valueOf(pending, "Size"), "4 x 3 x 2");
  EXPECT_EQ(valueOf(pending, "Spacing"), "0.75 x 0.75 x 2.5 mm");
  EXPECT_EQ(valueOf(pending, "Origin"), "-10.2, 4.0, 100.0");  // "%.1f" of -10.25 (binary rounding)
  EXPECT_EQ(valueOf(pending, "Source"), "/data/ct.nii.gz");
  const InfoSection done = volumeSection(ct, "/data/ct.nii.gz", intensityRange(ct));
  EXPECT_EQ(valueOf(done, "HU range"), "-1000 .. 1200");
}

TEST(InputsInfo, TheGroundTruthSectionListsIdsAndTheLabelMap) {
  EXPECT_EQ(valueOf(truthSection("gt.nii.gz", "", std::vector<int>{1, 6}), "Labels present"), "1, 6");
  EXPECT_EQ(valueOf(truthSection("gt.nii.gz", "", std::nullopt), "Labels present"), kComputingText);
  EXPECT_EQ(valueOf(truthSection("gt.nii.gz", "", std::nullopt), "Label map"), "identity");
  EXPECT_EQ(valueOf(truthSection("gt.nii.gz", "totalsegmentator-to-btcv", std::nullopt), "Label map"),
            "totalsegmentator-to-btcv");
}

TEST(InputsInfo, TheModelSectionShowsMetadataAndOps) {
  ModelInfo m;
  m.path = "/models/net.pt";
  m.metadata.name = "net";
  m.metadata.classes = {{1, "liver", {0, 0, 0}}, {2, "spleen", {0, 0, 0}}};
  m.metadata.patchSize = {96, 96, 96};
  m.parameterCount = 26900000;
  m.ops.resize(5);
  const InfoSection s = modelSection(m);
  EXPECT_EQ(s.title, "Model");
  EXPECT_EQ(valueOf(s, "Classes"), "2");
  EXPECT_EQ(valueOf(s, "Patch (D,H,W)"), "96 x 96 x 96");
  EXPECT_EQ(valueOf(s, "Quantizable ops"), "5");
  EXPECT_NE(valueOf(s, "Parameters").find("(26900000)"), std::string::npos) << valueOf(s, "Parameters");
  EXPECT_EQ(valueOf(s, "Description"), "<missing Description>");  // only when the model has one
}

}  // namespace
}  // namespace mqb::gui
