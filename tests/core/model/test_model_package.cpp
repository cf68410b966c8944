#include <gtest/gtest.h>

#include <fstream>

#include "support/Error.h"
#include "model/SegmentationModel.h"
#include "inference/VolumePreparation.h"
#include "TestModels.h"
#include "TestSupport.h"

using namespace mqb;

namespace {
std::string loadError(const std::string& path) {
  try {
    SegmentationModel::load(path);
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected mqb::Error loading " << path;
  return {};
}
}  // namespace

TEST(ModelPackage, LoadsEmbeddedMetadata) {
  const std::string path = test::tempDir() + "/band.pt";
  test::writeBandModel(path, test::bandModelMetadata(16, 2.0));
  SegmentationModel m = SegmentationModel::load(path);
  EXPECT_EQ(m.metadata().name, "band-test-model");
  EXPECT_EQ(m.metadata().classes.size(), 3u);
  EXPECT_EQ(m.metadata().classes[2].name, "high");
  EXPECT_EQ(m.metadata().patchSize, (std::array<int64_t, 3>{16, 16, 16}));
  EXPECT_EQ(m.metadata().preprocessing.kind, IntensityPreprocessing::Kind::ClipScale);
  EXPECT_EQ(m.parameterCount(), 2 + 2 + 6 + 3);
  torch::Tensor out = m.predict(torch::full({2, 1, 16, 16, 16}, 0.9f));
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{2, 3, 16, 16, 16}));
  EXPECT_EQ(out.argmax(1).min().item<int64_t>(), 2);
}

TEST(ModelPackage, LoadsSidecarMetadata) {
  const std::string path = test::tempDir() + "/side.pt";
  test::writeBandModel(path, test::bandModelMetadata(), /*sidecar=*/true);
  EXPECT_EQ(SegmentationModel::load(path).metadata().name, "band-test-model");
}

TEST(ModelPackage, MissingMetadataNamesTheFile) {
  const std::string dir = test::tempDir();
  test::writeBandModel(dir + "/side.pt", test::bandModelMetadata(), true);
  std::remove((dir + "/side.json").c_str());
  const std::string msg = loadError(dir + "/side.pt");
  EXPECT_NE(msg.find("side.pt"), std::string::npos);
  EXPECT_NE(msg.find("no metadata"), std::string::npos) << msg;
}

TEST(ModelPackage, InvalidMetadataField) {
  auto md = test::bandModelMetadata();
  md["patch_size"] = {16, 16};
  const std::string path = test::tempDir() + "/bad.pt";
  test::writeBandModel(path, md);
  const std::string msg = loadError(path);
  EXPECT_NE(msg.find("patch_size"), std::string::npos) << msg;
  md = test::bandModelMetadata();
  md["category"] = "Diffusion";
  test::writeBandModel(path, md);
  EXPECT_NE(loadError(path).find("category"), std::string::npos);
}

TEST(ModelPackage, NotAModelFile) {
  const std::string path = test::tempDir() + "/notes.pt";
  std::ofstream(path) << "certainly not a zip archive";
  const std::string msg = loadError(path);
  EXPECT_NE(msg.find("not a TorchScript model"), std::string::npos) << msg;
  EXPECT_NE(msg.find("notes.pt"), std::string::npos) << msg;
}

TEST(ModelPackage, OutputChannelsMustMatchClassList) {
  const std::string path = test::tempDir() + "/five.pt";
  test::writeBandModel(path, test::bandModelMetadata(), false, /*outputChannels=*/5);
  const std::string msg = loadError(path);
  EXPECT_NE(msg.find("output shape [1,5,16,16,16]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("3 classes"), std::string::npos) << msg;
}

TEST(ModelPackage, WrongInputChannels) {
  auto md = test::bandModelMetadata();
  md["input_channels"] = 2;
  const std::string path = test::tempDir() + "/twoch.pt";
  test::writeBandModel(path, md);
  const std::string msg = loadError(path);
  EXPECT_NE(msg.find("input_channels=2"), std::string::npos) << msg;
}

TEST(ModelPackage, NonFiniteOutputs) {
  const std::string path = test::tempDir() + "/nan.pt";
  test::writeNaNModel(path, test::bandModelMetadata());
  EXPECT_NE(loadError(path).find("NaN"), std::string::npos);
}

TEST(ModelPackage, UnavailableDevice) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "CUDA is available on this machine";
  const std::string path = test::tempDir() + "/band.pt";
  test::writeBandModel(path, test::bandModelMetadata());
  try {
    SegmentationModel::load(path, "cuda");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("CUDA"), std::string::npos);
  }
}

TEST(ModelPackage, ZScoreWithClipIsApplied) {
  auto md = test::bandModelMetadata();
  md["preprocessing"] = {{"type", "zscore"}, {"clip", {-100, 300}}, {"mean", 100.0}, {"std", 50.0}};
  ModelMetadata m = ModelMetadata::fromJson(md, "zscore.json");
  torch::Tensor x = torch::tensor({-1000.0f, 100.0f, 1000.0f});
  applyIntensityPreprocessing(x, m.preprocessing);
  EXPECT_TRUE(torch::allclose(x, torch::tensor({-4.0f, 0.0f, 4.0f})));
  EXPECT_NE(m.preprocessing.describe().find("clip HU to [-100, 300]"), std::string::npos);
}
