// QuantConfig: the one definition of a quantization configuration that the CLI, the
// desktop application and the benchmarks share (ids, display names, JSON, equality as the
// key of cached results, what calibration depends on).
#include "quant/QuantConfig.h"

#include <gtest/gtest.h>

#include <unordered_set>

#include "support/Error.h"

using namespace mqb;
using namespace mqb::quant;

namespace {

QuantConfig w4a4(Granularity g = Granularity::PerChannel) {
  QuantConfig c;
  c.precision = Precision::integer(4, 4);
  c.granularity = g;
  c.calibrationPatches = 4;
  return c;
}

}  // namespace

TEST(QuantConfigTest, JsonRoundTripAndValidation) {
  QuantConfig s = w4a4(Granularity::Adaptive);
  s.symmetric = false;
  s.calibrator = CalibrationMethod::parse("percentile:99.9");
  s.excludedOps = {"a.b", "c"};
  EXPECT_EQ(s.precision.id(), "W4A4");
  EXPECT_EQ(s.precision.title(), "INT W4A4");
  EXPECT_EQ(QuantConfig::fromJson(s.toJson()), s);
  EXPECT_NE(s.describe().find("W4A4 adaptive"), std::string::npos) << s.describe();
  QuantConfig fp;
  fp.precision = Precision::fp32();
  EXPECT_EQ(fp.precision.id(), "FP32");
  EXPECT_TRUE(QuantConfig::fromJson(fp.toJson()).precision.floatingPoint);
  // Bits outside 2..16 and unknown granularities are rejected with clear messages.
  nlohmann::json bad = s.toJson();
  bad["precision"] = "W1A8";
  EXPECT_THROW(QuantConfig::fromJson(bad), Error);
  bad = s.toJson();
  bad["granularity"] = "per-pixel";
  EXPECT_THROW(QuantConfig::fromJson(bad), Error);
  // Aliases are normalised.
  bad = s.toJson();
  bad["granularity"] = "adaptive-stratification";
  EXPECT_EQ(QuantConfig::fromJson(bad).granularity, Granularity::Adaptive);
}

TEST(QuantConfigTest, EqualityAndHashKeyCachedResults) {
  std::unordered_set<QuantConfig, QuantConfigHash> seen;
  seen.insert(w4a4());
  EXPECT_EQ(seen.count(w4a4()), 1u);
  // Every field that changes a result makes another key.
  std::vector<QuantConfig> others(9, w4a4());
  others[0].granularity = Granularity::PerTensor;
  others[1].precision = Precision::integer(8, 4);
  others[2].symmetric = false;
  others[3].calibrator = CalibrationMethod::parse("mse");
  others[4].calibrationPatches = 5;
  others[5].calibrationSeed = 1;
  others[6].excludedOps = {"enc.conv"};
  others[7].quantizeActivationMatmul = false;
  others[8].calibrator = CalibrationMethod::parse("percentile:99.9");
  QuantConfig p2 = others[8];
  p2.calibrator.percentile = 99.99;
  for (const auto& o : others) {
    EXPECT_NE(o, w4a4()) << o.describe();
    EXPECT_EQ(seen.count(o), 0u) << o.describe();
  }
  EXPECT_NE(p2, others[8]);
  // An FP32 configuration ignores the bits it was edited with.
  QuantConfig fpA = w4a4(), fpB = w4a4();
  fpA.precision.floatingPoint = fpB.precision.floatingPoint = true;
  fpB.precision.weightBits = 8;
  EXPECT_EQ(fpA, fpB);
  EXPECT_EQ(QuantConfigHash()(fpA), QuantConfigHash()(fpB));
}

TEST(QuantConfigTest, CalibrationKeyIsPatchesAndSeedOnly) {
  QuantConfig other = w4a4(Granularity::PerTensor);
  other.precision = Precision::integer(8, 4);
  other.calibrator = CalibrationMethod::parse("mse");
  other.symmetric = false;
  EXPECT_EQ(other.calibrationKey(), w4a4().calibrationKey());
  other.calibrationPatches = 5;
  EXPECT_NE(other.calibrationKey(), w4a4().calibrationKey());
  other.calibrationPatches = 4;
  other.calibrationSeed = 3;
  EXPECT_NE(other.calibrationKey(), w4a4().calibrationKey());
}

TEST(QuantConfigTest, EnumListsRoundTripTheirIds) {
  ASSERT_EQ(allGranularities().size(), 4u);
  for (Granularity g : allGranularities()) {
    EXPECT_EQ(parseGranularity(granularityId(g)), g);
    EXPECT_FALSE(granularityTitle(g).empty());
  }
  ASSERT_EQ(allCalibrationKinds().size(), 4u);
  for (CalibrationKind k : allCalibrationKinds()) {
    CalibrationMethod m;
    m.kind = k;
    EXPECT_EQ(CalibrationMethod::parse(m.toString()), m);
  }
}
