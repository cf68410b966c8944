#include "quant/Int8Build.h"

#include "quant/Int8OutputRanges.h"

namespace mqb::quant {

std::unique_ptr<Int8Model> buildInt8Model(QuantizationStudy& study, const QuantConfig& config, Feedback* feedback,
                                          Int8GraphOptions options) {
  Int8Model::checkConfig(config);
  const CalibrationData& inputs = study.calibration(config.calibrationPatches, config.calibrationSeed, feedback);
  // The patches QuantizationStudy::calibration sampled: same volume, labels, count and seed.
  const torch::Tensor truth =
      study.groundTruth() ? study.prepared().toModelSpace(*study.groundTruth()) : torch::Tensor();
  const auto patches = sampleCalibrationPatches(study.prepared(), truth, study.model().metadata().patchSize,
                                                config.calibrationPatches, config.calibrationSeed);
  FeedbackStage stage(feedback, 0, 1, "INT8 output ranges");
  const Int8OutputRanges outputs = recordOutputRanges(study.graph(), patches);
  stage.report(1.0, "");
  return std::make_unique<Int8Model>(study.graph(), study.model().metadata(), config, inputs, outputs, "", options);
}

}  // namespace mqb::quant
