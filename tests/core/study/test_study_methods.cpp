// QuantizationStudy with a quantization method (SPEC section 10): the method's weights are
// computed once per configuration, shared by the preview, the whole volume and the layer
// analysis, and the study's result equals a QuantizedModel built from them directly.
#include <gtest/gtest.h>

#include "BandCase.h"
#include "inference/SlidingWindowInference.h"
#include "quant/int8/Int8Support.h"
#include "study/QuantizationStudy.h"
#include "support/Error.h"

using namespace mqb;
using namespace mqb::quant;

TEST(StudyMethods, WeightsAreComputedOnceAndTheResultEqualsTheMethodModelRunDirectly) {
  const test::BandCase band = test::makeBandCase();
  StudyInputs in;
  in.modelPath = band.model;
  in.volumePath = band.ct;
  in.labelsPath = band.truth;
  QuantizationStudy study(in);
  QuantConfig config;
  config.precision = Precision::integer(4, 8);
  config.granularity = Granularity::PerChannel;
  config.calibrationPatches = 4;
  config.method = QuantMethod::parse("gptq,bias-correction");
  const FeedbackStage none(nullptr, 0, 1, "");
  const auto viaStudy = study.quantized(config, none, none);
  EXPECT_EQ(study.counters().methods, 1);
  const auto adjusted = study.cachedMethodWeights(config);
  ASSERT_TRUE(adjusted);
  EXPECT_EQ(adjusted->skippedCount(), 0) << adjusted->summary();
  EXPECT_FALSE(adjusted->weights.empty());

  QuantizedModel direct(study.graphPtr(), study.model().metadata(), config,
                        study.cachedCalibration(config.calibrationKey()).get(), true, adjusted.get());
  const InferenceResult expected = runSlidingWindow(direct, study.prepared(), InferenceOptions{}, none);
  EXPECT_EQ(viaStudy->labels.voxels, expected.labels.voxels);

  // The analysis reuses the weights; round-to-nearest computes none.
  study.analyze(config, 1, none);
  EXPECT_EQ(study.counters().methods, 1);
  QuantConfig rtn = config;
  rtn.method = QuantMethod{};
  EXPECT_EQ(study.methodWeights(rtn, none), nullptr);
  study.quantized(rtn, none, none);
  EXPECT_EQ(study.counters().methods, 1);

  // The integer kernels pack round-to-nearest weights: a method is refused there, by name.
  QuantConfig int8 = config;
  int8.precision = Precision::integer(8, 8);
  int8.execution = Execution::RealInt8;
  EXPECT_NE(realInt8Problem(int8).find("gptq"), std::string::npos) << realInt8Problem(int8);
}
