#pragma once
// The INT8 model of a study's model under a config: the study's calibration statistics
// (inputs) plus the output ranges recorded on the same calibration patches.
#include <memory>

#include "support/Feedback.h"
#include "quant/int8/Int8Model.h"
#include "study/QuantizationStudy.h"

namespace mqb::quant {

// Checks the config first (W4A4 or per-voxel fails before any calibration).
std::unique_ptr<Int8Model> buildInt8Model(QuantizationStudy& study, const QuantConfig& config,
                                          const FeedbackStage& calibrationStage,
                                          Int8GraphOptions options = Int8GraphOptions::fromEnvironment());
std::unique_ptr<Int8Model> buildInt8Model(QuantizationStudy& study, const QuantConfig& config, Feedback* feedback,
                                          Int8GraphOptions options = Int8GraphOptions::fromEnvironment());

}  // namespace mqb::quant
