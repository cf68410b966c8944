#pragma once
// One model on one CT volume (with optional ground truth), studied under many
// quantization configurations: the one orchestrator behind the CLI's quantize / analyze /
// sweep / export-int8, the desktop application (app/gui/session/AnalysisSession, a thin
// adapter on its worker thread) and the benchmarks. It caches what configurations share:
//
//   prepared volume      model + volume (built by the constructor)
//   FP32 prediction      model + volume
//   calibration          + ground truth + CalibrationKey (patches, seed): NOT bits,
//                        granularity, calibrator or symmetry (one pass serves them all)
//   FP32 capture         + CalibrationKey (analysis patches, seed): the FP32 side of the
//                        layer analysis, recorded while calibrating (one kept at a time)
//   quantized result     + the whole QuantConfig (LRU of kResultCacheSize)
//   score table          + NSD tolerance (rescoring never runs an inference)
//
// Thread use: one thread at a time calls the computing methods; the const accessors
// (hasFp32, cachedQuantized, hasCalibration, counters) may be called from another thread.
// Results are handed out as shared_ptr<const ...> snapshots. Failures are mqb::Error,
// cancellation mqb::Canceled (caches keep only complete results).
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "metrics/ComparisonTable.h"
#include "metrics/SegmentationMetrics.h"
#include "model/SegmentationModel.h"
#include "inference/SlidingWindowInference.h"
#include "quant/CalibrationData.h"
#include "quant/LayerAnalysis.h"
#include "quant/QuantConfig.h"
#include "quant/QuantizableGraph.h"
#include "quant/QuantizedModel.h"
#include "quant/WeightMethods.h"
#include "quant/int8/RealInt8Measurement.h"

namespace mqb::quant {

struct StudyInputs {
  std::string modelPath;
  std::string volumePath;
  std::string dicomSeriesUid;  // the series to read when volumePath is a DICOM folder holding several
  std::string labelsPath;      // optional ground truth
  std::string labelMap;        // optional remap table name for the ground truth
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

// The windows covering one slice of the original grid: run first, so a user sees the
// effect of a configuration on the slice on screen before the whole volume is done.
struct PreviewWindows {
  InferenceOptions options;  // previewSchedule, restricted to the slice's model-space range
  double share = 0;          // preview windows / (preview + whole-volume windows)
};

// Expensive steps actually computed (cache hits do not count).
struct StudyCounters {
  int prepare = 0, fp32 = 0, calibrate = 0, quantized = 0, previews = 0, methods = 0;
};

class Int8Model;

class QuantizationStudy {
 public:
  static constexpr size_t kResultCacheSize = 3;
  // Analysis patches recorded while calibrating (the desktop application's analysis).
  static constexpr int kCapturedAnalysisPatches = 1;

  // Loads and validates everything (model, volume, labels on the CT grid), prepares the volume.
  QuantizationStudy(const StudyInputs& inputs, Feedback* feedback = nullptr);
  // The same with an already loaded model and volume.
  QuantizationStudy(std::shared_ptr<SegmentationModel> model, std::shared_ptr<const ImageVolume> volume,
                    std::shared_ptr<const LabelVolume> groundTruth, double toleranceMm, InferenceOptions inference,
                    Feedback* feedback = nullptr);
  // The desktop application's form: model and its graph already loaded, names for the tables.
  QuantizationStudy(std::shared_ptr<SegmentationModel> model, std::shared_ptr<const QuantizableGraph> graph,
                    std::shared_ptr<const ImageVolume> volume, std::string volumeName,
                    std::shared_ptr<const LabelVolume> groundTruth, const FeedbackStage& preparing);

  const SegmentationModel& model() const { return *model_; }
  const QuantizableGraph& graph() const { return *graph_; }
  std::shared_ptr<const QuantizableGraph> graphPtr() const { return graph_; }
  const ImageVolume& volume() const { return *volume_; }
  const LabelVolume* groundTruth() const { return truth_.get(); }
  const PreparedVolume& prepared() const { return prepared_; }
  double toleranceMm() const { return toleranceMm_; }
  // New ground truth on the CT grid (or none): drops calibrations, captures, quantized
  // results and scores (calibration centres patches on its foreground); keeps FP32.
  void setGroundTruth(std::shared_ptr<const LabelVolume> groundTruth);

  // ---- FP32 ----------------------------------------------------------------------------
  const InferenceResult& fp32(Feedback* feedback = nullptr);
  std::shared_ptr<const InferenceResult> fp32(const FeedbackStage& stage);
  std::shared_ptr<const LabelVolume> fp32Labels() const;  // null until computed
  bool hasFp32() const { return fp32Labels() != nullptr; }
  const std::optional<SegmentationScores>& fp32Scores(Feedback* feedback = nullptr);

  // ---- previews --------------------------------------------------------------------------
  // The windows covering original-grid slice `slice` normal to index axis `axis` (2 axial,
  // 1 coronal, 0 sagittal); nullopt when there is nothing to preview or a preview would
  // cost most of the whole volume anyway.
  std::optional<PreviewWindows> previewWindows(int axis, int slice) const;
  std::shared_ptr<const LabelVolume> fp32Preview(const PreviewWindows& preview, const FeedbackStage& stage);
  // Calibrates first when needed (calibrationStage).
  std::shared_ptr<const LabelVolume> quantizedPreview(const QuantConfig& config, const PreviewWindows& preview,
                                                      const FeedbackStage& calibrationStage,
                                                      const FeedbackStage& stage);

  // ---- calibration (the one cache of calibration statistics) ------------------------------
  bool needsCalibration(const QuantConfig& config) const;
  bool hasCalibration(const CalibrationKey& key) const;
  std::shared_ptr<const CalibrationData> cachedCalibration(const CalibrationKey& key) const;  // or null
  std::shared_ptr<const CalibrationData> calibration(const CalibrationKey& key, const FeedbackStage& stage);
  const CalibrationData& calibration(int patches, uint32_t seed, Feedback* feedback = nullptr);
  // Replaces the cached calibration for the key with loaded data.
  void setCalibration(int patches, uint32_t seed, CalibrationData data);
  // The patches calibration `key` runs on (half foreground-centred with ground truth).
  std::vector<torch::Tensor> calibrationPatches(const CalibrationKey& key) const;

  // ---- quantization methods (SPEC section 10) -------------------------------------------------
  // The weights the configuration's method chose, computed on its calibration patches when
  // not cached (the last two are kept); null for round-to-nearest.
  std::shared_ptr<const AdjustedWeights> methodWeights(const QuantConfig& config, const FeedbackStage& stage);
  std::shared_ptr<const AdjustedWeights> cachedMethodWeights(const QuantConfig& config) const;

  // ---- quantized results ------------------------------------------------------------------
  // The configuration's whole-volume result (an FP32 configuration is the FP32 result);
  // computed when not in the LRU. Needs FP32 first only for scoring, not here.
  std::shared_ptr<const InferenceResult> quantized(const QuantConfig& config, const FeedbackStage& calibrationStage,
                                                   const FeedbackStage& stage);
  // The cached result (marks it most recently used), or null.
  std::shared_ptr<const LabelVolume> cachedQuantized(const QuantConfig& config) const;
  // What the whole-volume run of a cached real-INT8 configuration measured, with the FP32
  // side filled from the cached FP32 result (zero while FP32 has not run); nullopt for a
  // simulated configuration or one not (or no longer) cached.
  std::optional<RealInt8Measurement> realInt8Measurement(const QuantConfig& config) const;
  // CLI form: quantized() plus scores vs ground truth and agreement with FP32.
  QuantizedRun runQuantized(const QuantConfig& config, Feedback* feedback = nullptr);

  // ---- scores -----------------------------------------------------------------------------
  // The per-organ table of FP32 and the configuration vs ground truth and vs each other at
  // `toleranceMm`; mqb::Error unless FP32 and the configuration's result are cached, so a
  // new tolerance rescoring never runs an inference.
  std::shared_ptr<const ComparisonTable> compare(const QuantConfig& config, double toleranceMm,
                                                 const FeedbackStage& stage);

  // ---- layer analysis ---------------------------------------------------------------------
  // On the first `analysisPatches` calibration patches; reuses the calibration and the
  // FP32 capture when cached.
  LayerAnalysis analyze(const QuantConfig& config, int analysisPatches = 1, Feedback* feedback = nullptr);
  LayerAnalysis analyze(const QuantConfig& config, int analysisPatches, const FeedbackStage& stage);

  StudyCounters counters() const;

 private:
  void initialise(const FeedbackStage& preparing);
  Fp32Capture& captureFor(const CalibrationKey& key);
  // The simulated (fake-quant) or the real-INT8 model of the configuration; the last one
  // built is kept, so a preview and the whole volume share it.
  std::shared_ptr<PatchPredictor> quantizedModel(const QuantConfig& config, const FeedbackStage& calibrationStage);
  std::shared_ptr<Int8Model> buildInt8(const QuantConfig& config, const FeedbackStage& calibrationStage);
  void storeQuantized(const QuantConfig& config, std::shared_ptr<const InferenceResult> result);

  std::shared_ptr<SegmentationModel> model_;
  std::shared_ptr<const QuantizableGraph> graph_;
  std::shared_ptr<const ImageVolume> volume_;
  std::string volumeName_;
  std::shared_ptr<const LabelVolume> truth_;
  double toleranceMm_ = 2.0;
  InferenceOptions inference_;
  PreparedVolume prepared_;
  torch::Tensor modelSpaceTruth_;

  // Guards the caches below against the const readers (held by pointer: studies move).
  std::unique_ptr<std::mutex> mutex_ = std::make_unique<std::mutex>();
  std::shared_ptr<const InferenceResult> fp32_;
  std::optional<std::optional<SegmentationScores>> fp32Scores_;
  std::optional<SegmentationScores> fp32VsTruth_;  // at fp32VsTruth_->toleranceMm
  std::map<CalibrationKey, std::shared_ptr<const CalibrationData>> calibrations_;
  // The FP32 side of the layer analysis for (analysis patches, seed); at most one is kept,
  // so one memory budget (Fp32Capture::defaultBudget) is held however many seeds are tried.
  std::map<CalibrationKey, std::unique_ptr<Fp32Capture>> captures_;
  mutable std::list<std::pair<QuantConfig, std::shared_ptr<const InferenceResult>>> results_;  // front = newest
  std::list<std::pair<std::pair<QuantConfig, double>, std::shared_ptr<const ComparisonTable>>> tables_;
  // Method weights by configuration, newest first (kMethodCacheSize).
  std::list<std::pair<QuantConfig, std::shared_ptr<const AdjustedWeights>>> methodWeights_;
  static constexpr size_t kMethodCacheSize = 2;
  std::optional<QuantConfig> modelConfig_;  // of model_ below: preview and whole volume share it
  std::shared_ptr<PatchPredictor> quantizedModel_;
  // Real-INT8 measurements of the configurations in results_ (FP32 side filled on reading).
  std::list<std::pair<QuantConfig, RealInt8Measurement>> int8Measurements_;
  StudyCounters counters_;
};

}  // namespace mqb::quant
