#include "quant/QuantizationStudy.h"

#include "Error.h"
#include "Reorientation.h"
#include "VolumeIO.h"
#include "quant/QuantizedModel.h"

namespace mqb::quant {

QuantizationStudy::QuantizationStudy(const StudyInputs& in, Feedback* feedback)
    : toleranceMm_(in.toleranceMm), inference_(in.inference) {
  FeedbackStage stage(feedback, 0.0, 1.0, "loading");
  model_ = std::make_shared<SegmentationModel>(SegmentationModel::load(in.modelPath, in.device));
  volume_ = std::make_shared<const ImageVolume>(readImage(in.volumePath, feedback));
  if (!in.labelsPath.empty()) {
    LabelVolume t = readLabelMap(in.labelsPath, in.labelMap.empty() ? LabelRemap::identity() : LabelRemap::load(in.labelMap));
    truth_ = std::make_shared<const LabelVolume>(alignToGrid(t, volume_->geometry, in.labelsPath));
  }
  graph_ = std::make_shared<const QuantizableGraph>(model_->module(), in.modelPath);
  initialise(feedback);
}

QuantizationStudy::QuantizationStudy(std::shared_ptr<SegmentationModel> model, std::shared_ptr<const ImageVolume> volume,
                                     std::shared_ptr<const LabelVolume> groundTruth, double toleranceMm,
                                     InferenceOptions inference, Feedback* feedback)
    : model_(std::move(model)),
      volume_(std::move(volume)),
      truth_(std::move(groundTruth)),
      toleranceMm_(toleranceMm),
      inference_(inference) {
  if (truth_ && !truth_->geometry.sameGrid(volume_->geometry))
    throw Error("ground truth is not on the CT grid (" + truth_->geometry.gridDifference(volume_->geometry) + ")");
  graph_ = std::make_shared<const QuantizableGraph>(model_->module(), model_->path());
  initialise(feedback);
}

void QuantizationStudy::initialise(Feedback* feedback) {
  if (!(toleranceMm_ >= 0)) throw Error("NSD tolerance must be >= 0 mm");
  prepared_ = prepareVolume(*volume_, model_->metadata(), FeedbackStage(feedback, 0.0, 1.0, "preparing"));
  if (truth_) modelSpaceTruth_ = prepared_.toModelSpace(*truth_);
}

const InferenceResult& QuantizationStudy::fp32(Feedback* feedback) {
  if (!fp32_) fp32_ = runSlidingWindow(*model_, prepared_, inference_, FeedbackStage(feedback, 0, 1, "FP32 inference"));
  return *fp32_;
}

const std::optional<SegmentationScores>& QuantizationStudy::fp32Scores(Feedback* feedback) {
  if (!fp32Scores_) {
    std::optional<SegmentationScores> s;
    if (truth_) s = scoreSegmentation(fp32(feedback).labels, *truth_, model_->metadata().classes, toleranceMm_, feedback);
    fp32Scores_ = s;
  }
  return *fp32Scores_;
}

std::vector<torch::Tensor> QuantizationStudy::calibrationPatches(int count, uint32_t seed) const {
  return sampleCalibrationPatches(prepared_, modelSpaceTruth_, model_->metadata().patchSize, count, seed);
}

const CalibrationData& QuantizationStudy::calibration(int patches, uint32_t seed, Feedback* feedback) {
  if (patches < 1) throw Error("the number of calibration patches must be >= 1");
  auto key = std::make_pair(patches, seed);
  auto it = calibrations_.find(key);
  if (it == calibrations_.end()) {
    auto data = std::make_unique<CalibrationData>(
        calibrate(*graph_, calibrationPatches(patches, seed), seed, FeedbackStage(feedback, 0, 1, "calibration")));
    it = calibrations_.emplace(key, std::move(data)).first;
  }
  return *it->second;
}

void QuantizationStudy::setCalibration(int patches, uint32_t seed, CalibrationData data) {
  calibrations_[{patches, seed}] = std::make_unique<CalibrationData>(std::move(data));
}

QuantizedRun QuantizationStudy::runQuantized(const QuantConfig& config, Feedback* feedback) {
  FeedbackStage all(feedback, 0, 1, "");
  QuantizedRun run;
  run.config = config;
  const InferenceResult& reference = fp32(feedback);
  const CalibrationData* cal = nullptr;
  if (QuantizedModel::needsCalibration(*graph_, config))
    cal = &calibration(config.calibrationPatches, config.calibrationSeed, feedback);
  QuantizedModel q(graph_, model_->metadata(), config, cal);
  run.inference = runSlidingWindow(q, prepared_, inference_, all.sub(0.0, 0.95, config.precision.id() + " inference"));
  const ClassList& classes = model_->metadata().classes;
  if (truth_) run.scores = scoreSegmentation(run.inference.labels, *truth_, classes, toleranceMm_, nullptr);
  run.agreement = scoreSegmentation(run.inference.labels, reference.labels, classes, toleranceMm_, nullptr);
  all.report(1.0, "done");
  return run;
}

LayerAnalysis QuantizationStudy::analyze(const QuantConfig& config, int analysisPatches, Feedback* feedback) {
  // The analysis patches are the first calibration patches (foreground-centred first).
  const int count = std::max(1, analysisPatches);
  auto& capture = captures_[{count, config.calibrationSeed}];
  if (!capture) capture = std::make_unique<Fp32Capture>();
  const auto key = std::make_pair(config.calibrationPatches, config.calibrationSeed);
  if (config.calibrationPatches >= 1 && !calibrations_.count(key) && !capture->complete()) {
    // The calibration runs the FP32 model on the analysis patches anyway: their FP32 side
    // is recorded on the way, and the analysis below skips its own FP32 run.
    calibrations_[key] = std::make_unique<CalibrationData>(calibrateWithCapture(
        *graph_, calibrationPatches(config.calibrationPatches, config.calibrationSeed), config.calibrationSeed,
        FeedbackStage(feedback, 0, 1, "calibration"), *capture, static_cast<size_t>(count)));
  }
  const CalibrationData& cal = calibration(config.calibrationPatches, config.calibrationSeed, feedback);
  auto patches = calibrationPatches(count, config.calibrationSeed);
  return analyzeLayers(*graph_, model_->metadata(), config, cal, patches, FeedbackStage(feedback, 0, 1, "layer analysis"),
                       capture.get());
}

}  // namespace mqb::quant
