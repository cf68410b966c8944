#pragma once
// One model on one CT volume (with optional ground truth), studied under many
// quantization configurations. Caches what configurations share: the prepared volume,
// the FP32 prediction and its scores, the calibration statistics (which depend only on
// the patches, not on bits, granularity or calibrator). The CLI's quantize / analyze /
// sweep and the desktop application all run through it.
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "SegmentationMetrics.h"
#include "SegmentationModel.h"
#include "SlidingWindowInference.h"
#include "quant/CalibrationData.h"
#include "quant/LayerAnalysis.h"
#include "quant/QuantConfig.h"
#include "quant/QuantizableGraph.h"

namespace mqb::quant {

struct StudyInputs {
  std::string modelPath;
  std::string volumePath;
  std::string labelsPath;  // optional ground truth
  std::string labelMap;    // optional remap table name for the ground truth
  std::string device = "cpu";
  double toleranceMm = 2.0;
  InferenceOptions inference;
};

struct QuantizedRun {
  QuantConfig config;
  InferenceResult inference;
  std::optional<SegmentationScores> scores;  // vs ground truth
  SegmentationScores agreement;              // vs the FP32 prediction
};

class QuantizationStudy {
 public:
  // Loads and validates everything (model, volume, labels on the CT grid), prepares the volume.
  QuantizationStudy(const StudyInputs& inputs, Feedback* feedback = nullptr);
  // The same with an already loaded model and volume (the GUI keeps these itself).
  QuantizationStudy(std::shared_ptr<SegmentationModel> model, std::shared_ptr<const ImageVolume> volume,
                    std::shared_ptr<const LabelVolume> groundTruth, double toleranceMm,
                    InferenceOptions inference, Feedback* feedback = nullptr);

  const SegmentationModel& model() const { return *model_; }
  const QuantizableGraph& graph() const { return *graph_; }
  const ImageVolume& volume() const { return *volume_; }
  const LabelVolume* groundTruth() const { return truth_.get(); }
  const PreparedVolume& prepared() const { return prepared_; }
  double toleranceMm() const { return toleranceMm_; }

  const InferenceResult& fp32(Feedback* feedback = nullptr);
  const std::optional<SegmentationScores>& fp32Scores(Feedback* feedback = nullptr);
  const CalibrationData& calibration(int patches, uint32_t seed, Feedback* feedback = nullptr);
  // Replaces the cached calibration for (patches, seed) with loaded data.
  void setCalibration(int patches, uint32_t seed, CalibrationData data);

  QuantizedRun runQuantized(const QuantConfig& config, Feedback* feedback = nullptr);
  LayerAnalysis analyze(const QuantConfig& config, int analysisPatches = 1, Feedback* feedback = nullptr);

 private:
  void initialise(Feedback* feedback);
  std::vector<torch::Tensor> calibrationPatches(int count, uint32_t seed) const;

  std::shared_ptr<SegmentationModel> model_;
  std::shared_ptr<const QuantizableGraph> graph_;
  std::shared_ptr<const ImageVolume> volume_;
  std::shared_ptr<const LabelVolume> truth_;
  double toleranceMm_ = 2.0;
  InferenceOptions inference_;
  PreparedVolume prepared_;
  torch::Tensor modelSpaceTruth_;
  std::optional<InferenceResult> fp32_;
  std::optional<std::optional<SegmentationScores>> fp32Scores_;
  std::map<std::pair<int, uint32_t>, std::unique_ptr<CalibrationData>> calibrations_;
  // The FP32 side of the layer analysis per (analysis patches, seed): any further config
  // on the same patches skips the FP32 run.
  std::map<std::pair<int, uint32_t>, std::unique_ptr<Fp32Capture>> captures_;
};

}  // namespace mqb::quant
