#pragma once
// Qt binding of the Qt-free AnalysisSession: runs every engine job (loading, inference,
// calibration, scoring) on one worker thread, one job at a time, and hands the results to
// the GUI thread as signals. Progress comes from mqb::Feedback (throttled), Cancel calls
// Feedback::cancel(). A new run supersedes a queued or running one (the running one is
// cancelled), so changing the configuration quickly never piles up work.
//
// All public methods and signals are GUI-thread only. The result accessors return the
// latest state delivered to the GUI thread (snapshots: shared_ptr<const ...>).
#include <QElapsedTimer>
#include <QObject>
#include <QString>
#include <QThread>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include "AnalysisSession.h"

namespace mqb::gui {

class SessionController : public QObject {
  Q_OBJECT
 public:
  explicit SessionController(QObject* parent = nullptr);
  ~SessionController() override;

  // ---- inputs (asynchronous) ---------------------------------------------------------------
  void openModel(const QString& path);
  void openVolume(const QString& path);  // file or DICOM folder
  void openGroundTruth(const QString& path, const QString& labelMap = {});
  void setVolumeData(std::shared_ptr<const ImageVolume> volume, const QString& name);
  void setGroundTruthData(std::shared_ptr<const LabelVolume> labels, const QString& name);
  void clearGroundTruth();
  // A generated abdominal phantom (core/Phantom.h) as CT, its labels as ground truth.
  void usePhantom();

  // ---- runs ---------------------------------------------------------------------------------
  // FP32 + quantized inference and scores; previewSlice = the slice on screen (index along
  // previewAxis: 2 axial, 1 coronal, 0 sagittal) or -1 for no preview. Settings the
  // engine cannot run (real INT8 other than W8A8 per-tensor / per-channel) start nothing:
  // progress() names the reason.
  void run(const quant::QuantConfig& settings, int previewSlice = -1, int previewAxis = 2);
  void cancel();      // the running job, whatever it is (and queued runs)
  void cancelRuns();  // the running inference (and queued runs); loads continue
  bool isBusy() const { return pending_ > 0; }
  // Runs `fn` on the worker thread after the queued jobs (tests, layer analysis).
  void runJob(const QString& title, std::function<void(AnalysisSession&, Feedback&)> fn,
              std::function<void()> onSuccess = {});

  // ---- state (GUI thread) --------------------------------------------------------------------
  const AnalysisSession& session() const { return session_; }
  std::shared_ptr<const ModelInfo> modelInfo() const { return modelInfo_; }
  std::shared_ptr<const ImageVolume> volume() const { return volume_; }
  std::shared_ptr<const LabelVolume> groundTruth() const { return truth_; }
  QString modelPath() const { return modelPath_; }
  QString volumePath() const { return volumePath_; }
  QString truthPath() const { return truthPath_; }
  QString truthLabelMap() const { return truthLabelMap_; }

  std::shared_ptr<const LabelVolume> fp32() const { return fp32_; }
  std::shared_ptr<const LabelVolume> quantized() const { return quantized_; }
  std::shared_ptr<const LabelVolume> difference() const { return difference_; }
  std::shared_ptr<const ComparisonTable> table() const { return table_; }
  std::shared_ptr<const quant::LayerAnalysisRows> layerAnalysis() const { return layers_; }
  bool fp32IsPreview() const { return fp32Preview_; }
  bool quantizedIsPreview() const { return quantPreview_; }
  int64_t differingVoxels() const { return differing_; }
  // Settings of the quantized result on display (valid once quantized() is set).
  const quant::QuantConfig& resultSettings() const { return resultSettings_; }
  bool hasResults() const { return quantized_ && !quantPreview_; }
  // The real-INT8 measurement of the result on display (time per volume / window next to
  // FP32, model size), nullopt for a simulated result or a preview.
  const std::optional<quant::RealInt8Measurement>& realInt8Measurement() const { return realInt8_; }
  // How the result on display was executed: "W8A8 per-tensor, real INT8 (onednn): 12.3 s,
  // FP32 24.1 s, 1.96x" or "W4A4 per-channel, simulated" (ExecutionSummary.h); "" without one.
  QString executionSummary() const;
  double toleranceMm() const { return toleranceMm_; }
  // NSD tolerance tau for the next runs. With results on display (or a run queued), the
  // scores are recomputed at the new tolerance from the cached label maps: no inference.
  void setToleranceMm(double mm);
  // The execution of the last finished run and the time of its steps
  // ("W4A4 per-channel, simulated; FP32 1.2 s, W4A4 2.0 s ...").
  QString lastRunSummary() const { return lastRunSummary_; }

  // Layer analysis (when the engine has it): computed on demand for the current settings.
  void analyzeLayers(const quant::QuantConfig& settings);

  // LibTorch threads for inference, set on the worker thread (OpenMP settings are per thread).
  void setEngineThreads(int threads);
  int engineThreads() const { return engineThreads_; }

  // Blocks (processing events) until no job is pending or `timeoutMs` passed; true if idle.
  bool waitUntilIdle(int timeoutMs);

 signals:
  void busyChanged(bool busy);
  void progress(double fraction, const QString& stage);
  void modelChanged();
  void volumeChanged();
  void groundTruthChanged();
  void resultsChanged();  // fp32 / quantized / difference (preview or final)
  void tableChanged();
  void layerAnalysisChanged();
  void runFinished(bool completed);  // false: cancelled or failed
  void jobFailed(const QString& title, const QString& message);
  void idle();

 private:
  struct Job;
  void enqueue(const QString& title, std::function<void(Feedback&)> work, std::function<void()> done, bool isRun,
               uint64_t generation);
  void execute(const std::shared_ptr<Job>& job);
  void finishJob(const std::shared_ptr<Job>& job, bool ok, bool canceled, const QString& error);
  void applyUpdate(const RunUpdate& update);
  void resetResults();

  AnalysisSession session_;
  QThread thread_;
  QObject* worker_ = nullptr;  // lives in thread_
  int pending_ = 0;
  std::mutex currentMutex_;
  std::shared_ptr<Feedback> currentFeedback_;
  bool currentIsRun_ = false;
  std::atomic<uint64_t> runGeneration_{0};
  QElapsedTimer progressTimer_;
  std::atomic<int64_t> lastProgressMs_{-1000};

  std::shared_ptr<const ModelInfo> modelInfo_;
  std::shared_ptr<const ImageVolume> volume_;
  std::shared_ptr<const LabelVolume> truth_;
  QString modelPath_, volumePath_, truthPath_, truthLabelMap_;
  std::shared_ptr<const LabelVolume> fp32_, quantized_, difference_;
  std::shared_ptr<const ComparisonTable> table_;
  std::shared_ptr<const quant::LayerAnalysisRows> layers_;
  bool fp32Preview_ = false, quantPreview_ = false;
  int64_t differing_ = 0;
  quant::QuantConfig resultSettings_;
  std::optional<quant::RealInt8Measurement> realInt8_;
  double toleranceMm_ = kDefaultNsdToleranceMm;
  QString lastRunSummary_;
  bool haveRunSettings_ = false;
  quant::QuantConfig lastRunSettings_;  // of the last run() requested
  std::atomic<int> engineThreads_{0};
  QStringList stepTimes_;
};

}  // namespace mqb::gui
