#pragma once
// The Qt-free core of the desktop application (ITK-SNAP style: logic without widgets).
// Holds the loaded model, CT and ground truth and runs the engine's orchestrator,
// quant::QuantizationStudy, which caches everything a configuration change does not
// invalidate:
//
//   prepared volume      model + volume
//   FP32 prediction      model + volume
//   quantizable graph    model
//   calibration          model + volume + calibration patches + seed (NOT bits, granularity,
//                        calibrator or symmetry: the statistics serve every calibrator)
//   quantized result     all of the above + the whole quant::QuantConfig (small LRU)
//   scores vs truth      the two label maps
//
// Thread use: one thread at a time calls the mutating methods (the GUI's worker thread);
// results are handed out as shared_ptr<const ...> snapshots that stay valid whatever the
// session does next. Every failure is an mqb::Error, cancellation an mqb::Canceled.
// The header is free of torch and Qt headers (pimpl).
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "support/Feedback.h"
#include "SessionTypes.h"
#include "io/Volume.h"
#include "quant/int8/RealInt8Measurement.h"

namespace mqb::quant {
class QuantizationStudy;
}

namespace mqb::gui {

struct RunRequest {
  quant::QuantConfig settings;
  // Slice shown on screen, as an original-grid index along previewAxis (the index axis
  // normal to the slice: 2 axial, 1 coronal, 0 sagittal): first compute only the windows
  // covering it ("preview"), then the whole volume. -1: no preview.
  int previewSlice = -1;
  int previewAxis = 2;
  double toleranceMm = kDefaultNsdToleranceMm;
  bool computeScores = true;
  bool computeFp32 = true;  // false: only what the quantized side needs
  // Rescoring (e.g. a new NSD tolerance): do nothing at all unless the FP32 result and this
  // configuration's quantized result are cached, so it never starts an inference.
  bool onlyIfCached = false;
};

// One step of a run, delivered as soon as it is ready.
struct RunUpdate {
  enum class Kind { Fp32Preview, Fp32, QuantPreview, Quant, Scores };
  Kind kind = Kind::Fp32;
  bool preview = false;
  int previewSlice = -1;  // for previews: the slice that is complete
  int previewAxis = 2;    // and the index axis it is normal to
  std::shared_ptr<const LabelVolume> fp32;
  std::shared_ptr<const LabelVolume> quantized;
  std::shared_ptr<const LabelVolume> difference;  // 1 where fp32 != quantized
  std::shared_ptr<const ComparisonTable> table;   // Kind::Scores
  quant::QuantConfig settings;
  // Kind::Quant of a real-INT8 configuration: its time per window next to FP32's and the
  // INT8 model's size (quant::QuantizationStudy::realInt8Measurement).
  std::optional<quant::RealInt8Measurement> realInt8;
  double seconds = 0;      // time of this step
  bool fromCache = false;  // result reused, nothing computed
  int64_t differingVoxels = 0;
};

class AnalysisSession {
 public:
  using UpdateListener = std::function<void(const RunUpdate&)>;

  AnalysisSession();
  ~AnalysisSession();
  AnalysisSession(const AnalysisSession&) = delete;
  AnalysisSession& operator=(const AnalysisSession&) = delete;

  // ---- inputs ----------------------------------------------------------------------------
  // Loads a TorchScript model with MedQuanBench metadata and discovers its quantizable ops.
  void loadModel(const std::string& path, Feedback* feedback = nullptr);
  // A CT file or DICOM folder. Drops ground truth on another grid, and every result.
  void loadVolume(const std::string& path, Feedback* feedback = nullptr);
  void setVolume(std::shared_ptr<const ImageVolume> volume, const std::string& name);
  // Ground truth, remapped (labelMap: "" = identity, or e.g. "totalsegmentator-to-btcv")
  // and aligned onto the CT grid (mqb::Error when it cannot be).
  void loadGroundTruth(const std::string& path, const std::string& labelMap = {});
  void setGroundTruth(std::shared_ptr<const LabelVolume> labels, const std::string& name);
  void clearGroundTruth();

  bool hasModel() const;
  bool hasVolume() const;
  bool hasGroundTruth() const;
  std::shared_ptr<const ModelInfo> modelInfo() const;  // null without model
  std::shared_ptr<const ImageVolume> volume() const;
  std::shared_ptr<const LabelVolume> groundTruth() const;
  const std::string& modelPath() const;
  const std::string& volumePath() const;  // the file / folder, or the name given to setVolume
  const std::string& truthPath() const;
  const std::string& truthLabelMap() const;

  // ---- runs --------------------------------------------------------------------------------
  // FP32 (cached) and quantized inference, difference and scores. Calls `listener` after
  // each step (on the calling thread). Throws mqb::Canceled when cancelled: caches keep
  // only complete results.
  void run(const RunRequest& request, Feedback* feedback, const UpdateListener& listener);

  // Last complete results (null when not computed for the current inputs).
  std::shared_ptr<const LabelVolume> fp32Result() const;
  std::shared_ptr<const LabelVolume> quantizedResult(const quant::QuantConfig& settings) const;

  // What the cached real-INT8 run of these settings measured (nullopt for simulated
  // settings or before the whole volume ran).
  std::optional<quant::RealInt8Measurement> realInt8Measurement(const quant::QuantConfig& settings) const;

  // Whether the calibration for these settings is cached (for tests and the status bar).
  bool calibrationCached(const quant::QuantConfig& settings) const;
  bool needsCalibration(const quant::QuantConfig& settings) const;
  // Counters of expensive steps actually computed (cache hits do not count).
  struct Counters {
    int prepare = 0, fp32 = 0, calibrate = 0, quantized = 0, previews = 0;
  };
  Counters counters() const;

  // ---- layer analysis (core/quant/LayerAnalysis.h) ----------------------------------------
  static bool layerAnalysisAvailable();
  // quant::analyzeLayers on the first calibration patch (as the CLI's `analyze` does):
  // isolated / cumulative SQNR, MSE, cosine per op, input histograms with clip range and
  // levels, distribution shift, sensitivity ranking. Reuses the cached calibration.
  std::shared_ptr<const quant::LayerAnalysisRows> analyzeLayers(const quant::QuantConfig& settings, Feedback* feedback);
  // `settings` with the k most sensitive quantized ops (of the last analysis) kept in FP32
  // (quant::keepMostSensitiveInFp32). mqb::Error without an analysis.
  quant::QuantConfig keepMostSensitiveInFp32(const quant::QuantConfig& settings, int k) const;

  // The engine's orchestrator behind this session (null before the first run or analysis
  // for the current model + volume): for tests that compare the desktop and CLI paths.
  std::shared_ptr<const quant::QuantizationStudy> study() const;

  // LibTorch intra-op threads used by inference (process-wide).
  static int engineThreads();
  static void setEngineThreads(int threads);

  // Writes a label map (NIfTI/NRRD/MHA by extension), atomically.
  static void writeLabels(const LabelVolume& labels, const std::string& path);

 private:
  struct Impl;
  std::unique_ptr<Impl> d;
};

// Label map that is 1 where a and b differ (0 elsewhere); with restrictToSlice >= 0 only
// that slice (normal to index axis sliceAxis: 2 = z) is compared. Throws mqb::Error when
// the grids differ.
std::shared_ptr<LabelVolume> differenceVolume(const LabelVolume& a, const LabelVolume& b, int restrictToSlice = -1,
                                              int64_t* count = nullptr, int sliceAxis = 2);

}  // namespace mqb::gui
