// The quantization settings the application starts with (app/gui/model/StartupSettings).
#include <gtest/gtest.h>

#include "Error.h"
#include "StartupSettings.h"

namespace mqb::gui {
namespace {

QuantSettings rememberedAdaptive() {
  QuantSettings s;
  s.weightBits = 6;
  s.activationBits = 8;
  s.granularity = "adaptive";
  s.excludedOps = {"head.conv"};
  return s;
}

TEST(StartupSettings, RememberedSettingsSurviveARoundTripAndDamageFallsBackToDefaults) {
  const QuantSettings s = rememberedAdaptive();
  EXPECT_EQ(rememberedSettings(s.toJson().dump()), s);
  EXPECT_EQ(rememberedSettings(""), QuantSettings());
  EXPECT_EQ(rememberedSettings("{\"precision\": \"W"), QuantSettings());        // truncated
  EXPECT_EQ(rememberedSettings("{\"granularity\": \"per-galaxy\"}"), QuantSettings());  // outdated value
}

TEST(StartupSettings, WithoutOptionsTheRememberedSettingsStay) {
  EXPECT_EQ(startupSettings(rememberedAdaptive(), false, {}), rememberedAdaptive());
}

TEST(StartupSettings, TheDemoShowsW4A4PerTensor) {
  const QuantSettings s = startupSettings(rememberedAdaptive(), true, {});
  EXPECT_EQ(s.precisionId(), "W4A4");
  EXPECT_EQ(s.granularity, "per-tensor");
  EXPECT_TRUE(s.excludedOps.empty());
}

TEST(StartupSettings, CommandLineOptionsGoOnTopAndClearExclusions) {
  QuantOverrides o;
  o.precision = "W8A8";
  o.asymmetric = true;
  const QuantSettings s = startupSettings(rememberedAdaptive(), false, o);
  EXPECT_EQ(s.precisionId(), "W8A8");
  EXPECT_EQ(s.granularity, "adaptive");  // not given: remembered
  EXPECT_FALSE(s.symmetric);
  EXPECT_TRUE(s.excludedOps.empty());
  QuantOverrides demoGranularity;
  demoGranularity.granularity = "per-channel";
  const QuantSettings d = startupSettings(rememberedAdaptive(), true, demoGranularity);
  EXPECT_EQ(d.precisionId(), "W4A4");
  EXPECT_EQ(d.granularity, "per-channel");
}

TEST(StartupSettings, ABadOptionIsAnErrorNamingTheValue) {
  QuantOverrides o;
  o.granularity = "per-galaxy";
  try {
    startupSettings(QuantSettings(), false, o);
    FAIL() << "per-galaxy accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("per-galaxy"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mqb::gui
