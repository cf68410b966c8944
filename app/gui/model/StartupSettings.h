#pragma once
// The quantization settings the application starts with: the defaults, replaced by the
// settings remembered from the last run, replaced by the bundled demo's configuration
// (--demo), with the command line's --precision / --granularity / --calibrator /
// --asymmetric on top. A session file (--session) replaces all of this when it loads.
#include <string>

#include "SessionTypes.h"

namespace mqb::gui {

struct QuantOverrides {  // command-line values; empty = not given
  std::string precision, granularity, calibrator;
  bool asymmetric = false;
  bool any() const { return !precision.empty() || !granularity.empty() || !calibrator.empty() || asymmetric; }
};

// The remembered settings (QuantConfig JSON); the defaults when `json` is empty, outdated
// or damaged: a stale preference never stops the application from starting.
quant::QuantConfig rememberedSettings(const std::string& json);
// FP32 beside W4A4 per-tensor: the case where quantization visibly changes the segmentation
// (W8A8 looks identical to FP32), which the demo is there to show.
quant::QuantConfig demoSettings();
// Throws mqb::Error naming the bad value (through quant::QuantConfig::fromJson). Overrides clear
// the op exclusions: they were chosen for another configuration.
quant::QuantConfig startupSettings(const quant::QuantConfig& remembered, bool demo, const QuantOverrides& overrides);

}  // namespace mqb::gui
