// The quantization settings the application starts with (app/gui/model/StartupSettings).
#include <gtest/gtest.h>

#include "support/Error.h"
#include "StartupSettings.h"

namespace mqb::gui {
namespace {

quant::QuantConfig rememberedAdaptive() {
  quant::QuantConfig s;
  s.precision.weightBits = 6;
  s.precision.activationBits = 8;
  s.granularity = quant::Granularity::Adaptive;
  s.excludedOps = {"head.conv"};
  return s;
}

TEST(StartupSettings, RememberedSettingsSurviveARoundTripAndDamageFallsBackToDefaults) {
  const quant::QuantConfig s = rememberedAdaptive();
  EXPECT_EQ(rememberedSettings(s.toJson().dump()), s);
  EXPECT_EQ(rememberedSettings(""), quant::QuantConfig());
  EXPECT_EQ(rememberedSettings("{\"precision\": \"W"), quant::QuantConfig());                // truncated
  EXPECT_EQ(rememberedSettings("{\"granularity\": \"per-galaxy\"}"), quant::QuantConfig());  // outdated value
}

TEST(StartupSettings, WithoutOptionsTheRememberedSettingsStay) {
  EXPECT_EQ(startupSettings(rememberedAdaptive(), false, {}), rememberedAdaptive());
}

TEST(StartupSettings, TheDemoShowsW4A4PerTensor) {
  const quant::QuantConfig s = startupSettings(rememberedAdaptive(), true, {});
  EXPECT_EQ(s.precision.id(), "W4A4");
  EXPECT_EQ(s.granularity, quant::Granularity::PerTensor);
  EXPECT_TRUE(s.excludedOps.empty());
}

TEST(StartupSettings, CommandLineOptionsGoOnTopAndClearExclusions) {
  QuantOverrides o;
  o.precision = "W8A8";
  o.asymmetric = true;
  const quant::QuantConfig s = startupSettings(rememberedAdaptive(), false, o);
  EXPECT_EQ(s.precision.id(), "W8A8");
  EXPECT_EQ(s.granularity, quant::Granularity::Adaptive);  // not given: remembered
  EXPECT_FALSE(s.symmetric);
  EXPECT_TRUE(s.excludedOps.empty());
  QuantOverrides demoGranularity;
  demoGranularity.granularity = "per-channel";
  const quant::QuantConfig d = startupSettings(rememberedAdaptive(), true, demoGranularity);
  EXPECT_EQ(d.precision.id(), "W4A4");
  EXPECT_EQ(d.granularity, quant::Granularity::PerChannel);
}

TEST(StartupSettings, ABadOptionIsAnErrorNamingTheValue) {
  QuantOverrides o;
  o.granularity = "per-galaxy";
  try {
    startupSettings(quant::QuantConfig(), false, o);
    FAIL() << "per-galaxy accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("per-galaxy"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mqb::gui
