// QuantizationStudy running a real-INT8 configuration (QuantConfig::execution == RealInt8):
// the desktop application's path to the integer kernels.
#include <gtest/gtest.h>

#include <algorithm>

#include "BandCase.h"
#include "support/Error.h"
#include "inference/SlidingWindowInference.h"
#include "study/Int8Build.h"
#include "study/QuantizationStudy.h"

using namespace mqb;
using namespace mqb::quant;

namespace {

QuantConfig realInt8(Granularity g) {
  QuantConfig c;
  c.precision = Precision::integer(8, 8);
  c.granularity = g;
  c.calibrationPatches = 4;
  c.execution = Execution::RealInt8;
  return c;
}

StudyInputs bandInputs(const test::BandCase& band) {
  StudyInputs in;
  in.modelPath = band.model;
  in.volumePath = band.ct;
  in.labelsPath = band.truth;
  return in;
}

}  // namespace

TEST(StudyRealInt8, LabelsEqualTheInt8ModelRunDirectlyAndTheRunIsMeasured) {
  const test::BandCase band = test::makeBandCase();
  for (Granularity g : {Granularity::PerTensor, Granularity::PerChannel}) {
    SCOPED_TRACE(granularityId(g));
    QuantizationStudy study(bandInputs(band));
    const QuantConfig config = realInt8(g);
    const FeedbackStage none(nullptr, 0, 1, "");
    study.fp32(none);
    const auto viaStudy = study.quantized(config, none, none);

    std::unique_ptr<Int8Model> direct = buildInt8Model(study, config, nullptr);
    const InferenceResult expected = runSlidingWindow(*direct, study.prepared(), InferenceOptions{}, none);
    ASSERT_EQ(viaStudy->labels.voxels, expected.labels.voxels);
    // The band model separates the bands far from the grid steps: INT8 gives the FP32 labels.
    EXPECT_EQ(viaStudy->labels.voxels, study.fp32().labels.voxels);

    const auto measured = study.realInt8Measurement(config);
    ASSERT_TRUE(measured.has_value());
    EXPECT_EQ(measured->engine, direct->engine());
    EXPECT_EQ(measured->integerOps, direct->coverage().integerOps());
    EXPECT_EQ(measured->windows, viaStudy->windows);
    EXPECT_EQ(measured->fp32Windows, study.fp32().windows);
    EXPECT_GT(measured->speedup(), 0.0);
    EXPECT_GT(measured->modelBytes, 0);
    EXPECT_GT(measured->fp32ModelBytes, 0);

    // Simulated and real INT8 are distinct results of the cache; the simulated one has no
    // INT8 measurement.
    QuantConfig simulated = config;
    simulated.execution = Execution::Simulated;
    EXPECT_EQ(study.cachedQuantized(simulated), nullptr);
    study.quantized(simulated, none, none);
    EXPECT_FALSE(study.realInt8Measurement(simulated).has_value());
    EXPECT_EQ(study.counters().quantized, 2);
  }
}

TEST(StudyRealInt8, PreviewRunsTheSameInt8ModelAsTheVolume) {
  const test::BandCase band = test::makeBandCase();
  QuantizationStudy study(bandInputs(band));
  const QuantConfig config = realInt8(Granularity::PerTensor);
  const FeedbackStage none(nullptr, 0, 1, "");
  const int axial = static_cast<int>(study.volume().geometry.size[2] / 2);
  const auto preview = study.previewWindows(2, axial);
  if (!preview) GTEST_SKIP() << "the band phantom is too small for a preview";
  const auto previewLabels = study.quantizedPreview(config, *preview, none, none);
  const auto volume = study.quantized(config, none, none);
  EXPECT_EQ(study.counters().calibrate, 1);
  const auto& size = study.volume().geometry.size;
  const size_t sliceVoxels = static_cast<size_t>(size[0] * size[1]), first = sliceVoxels * static_cast<size_t>(axial);
  ASSERT_EQ(previewLabels->voxels.size(), volume->labels.voxels.size());
  EXPECT_TRUE(std::equal(previewLabels->voxels.begin() + first, previewLabels->voxels.begin() + first + sliceVoxels,
                         volume->labels.voxels.begin() + first));
}

TEST(StudyRealInt8, ConfigurationsTheKernelsCannotRunAreErrorsNamingW8A8) {
  const test::BandCase band = test::makeBandCase();
  QuantizationStudy study(bandInputs(band));
  const FeedbackStage none(nullptr, 0, 1, "");
  QuantConfig w4a4 = realInt8(Granularity::PerTensor);
  w4a4.precision = Precision::integer(4, 4);
  for (const QuantConfig& config : {w4a4, realInt8(Granularity::PerVoxel)}) {
    SCOPED_TRACE(config.describe());
    try {
      study.quantized(config, none, none);
      FAIL() << "expected mqb::Error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("W8A8"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(study.counters().calibrate, 0);  // rejected before calibrating
}
