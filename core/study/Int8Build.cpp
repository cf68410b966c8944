#include "study/Int8Build.h"

#include "quant/int8/Int8OutputRanges.h"

namespace mqb::quant {

std::unique_ptr<Int8Model> buildInt8Model(QuantizationStudy& study, const QuantConfig& config,
                                          const FeedbackStage& calibrationStage, Int8GraphOptions options) {
  Int8Model::checkConfig(config);
  const CalibrationKey key = config.calibrationKey();
  const auto inputs = study.calibration(key, calibrationStage);
  // The kernels requantize to the FP32 output ranges on the same calibration patches.
  calibrationStage.report(1.0, "INT8 output ranges");
  const Int8OutputRanges outputs = recordOutputRanges(study.graph(), study.calibrationPatches(key));
  return std::make_unique<Int8Model>(study.graph(), study.model().metadata(), config, *inputs, outputs, "", options);
}

std::unique_ptr<Int8Model> buildInt8Model(QuantizationStudy& study, const QuantConfig& config, Feedback* feedback,
                                          Int8GraphOptions options) {
  return buildInt8Model(study, config, FeedbackStage(feedback, 0, 1, "calibrating"), options);
}

}  // namespace mqb::quant
