#pragma once
// One line saying how a quantized result was executed, for the status bar and the result
// views: "W8A8 per-tensor, real INT8 (onednn): 12.3 s, FP32 24.1 s, 1.96x" (time per volume
// of both; the speed-up is per sliding window) or "W4A4 per-channel, simulated". Qt-free.
#include <string>

#include "quant/QuantConfig.h"
#include "quant/int8/RealInt8Measurement.h"

namespace mqb::gui {

// `measured`: the study's measurement of a real-INT8 run (null for simulated runs, or
// while the whole volume has not run: then only the configuration and execution are named).
std::string describeExecution(const quant::QuantConfig& config, const quant::RealInt8Measurement* measured);

}  // namespace mqb::gui
