#include "study/QuantizationStudy.h"

#include "study/Int8Build.h"

#include <filesystem>

#include "support/Error.h"
#include "support/MultiStepFeedback.h"
#include "io/Reorientation.h"
#include "io/VolumeIO.h"
#include "quant/int8/Int8Model.h"

namespace mqb::quant {

namespace {

// Whether any op of the graph runs quantized under the configuration (an FP32 default with
// per-op precisions quantizes those ops).
bool quantizesSomeOp(const QuantizableGraph& graph, const QuantConfig& config) {
  for (const QuantOp& op : graph.ops())
    if (!precisionOf(config, op).floatingPoint) return true;
  return false;
}

// In-plane window overlap of the preview schedule: 12 windows instead of 20 for the
// example CT's axial slice, while tile borders still blend.
constexpr double kPreviewOverlap = 0.25;

// A Feedback for engine calls that take Feedback* (metrics): forwards progress into a stage
// and follows the stage's cancellation.
class ChildFeedback {
 public:
  explicit ChildFeedback(const FeedbackStage& stage) : stage_(stage) {
    feedback_.setProgressCallback([this](double f, const std::string& label) {
      if (stage_.parent() && stage_.parent()->isCanceled()) feedback_.cancel();
      stage_.report(f, label);
    });
  }
  Feedback* get() {
    if (stage_.parent() && stage_.parent()->isCanceled()) feedback_.cancel();
    return &feedback_;
  }

 private:
  FeedbackStage stage_;
  Feedback feedback_;
};

}  // namespace

QuantizationStudy::QuantizationStudy(const StudyInputs& in, Feedback* feedback)
    : volumeName_(in.volumePath), toleranceMm_(in.toleranceMm), inference_(in.inference) {
  FeedbackStage stage(feedback, 0.0, 1.0, "loading");
  model_ = std::make_shared<SegmentationModel>(SegmentationModel::load(in.modelPath, in.device));
  volume_ = std::make_shared<const ImageVolume>(readImage(in.volumePath, feedback, in.dicomSeriesUid));
  if (!in.labelsPath.empty()) {
    LabelVolume t =
        readLabelMap(in.labelsPath, in.labelMap.empty() ? LabelRemap::identity() : LabelRemap::load(in.labelMap));
    truth_ = std::make_shared<const LabelVolume>(alignToGrid(t, volume_->geometry, in.labelsPath));
  }
  graph_ = std::make_shared<const QuantizableGraph>(model_->module(), in.modelPath);
  initialise(FeedbackStage(feedback, 0.0, 1.0, "preparing"));
}

QuantizationStudy::QuantizationStudy(std::shared_ptr<SegmentationModel> model,
                                     std::shared_ptr<const ImageVolume> volume,
                                     std::shared_ptr<const LabelVolume> groundTruth, double toleranceMm,
                                     InferenceOptions inference, Feedback* feedback)
    : model_(std::move(model)),
      volume_(std::move(volume)),
      truth_(std::move(groundTruth)),
      toleranceMm_(toleranceMm),
      inference_(inference) {
  graph_ = std::make_shared<const QuantizableGraph>(model_->module(), model_->path());
  initialise(FeedbackStage(feedback, 0.0, 1.0, "preparing"));
}

QuantizationStudy::QuantizationStudy(std::shared_ptr<SegmentationModel> model,
                                     std::shared_ptr<const QuantizableGraph> graph,
                                     std::shared_ptr<const ImageVolume> volume, std::string volumeName,
                                     std::shared_ptr<const LabelVolume> groundTruth, const FeedbackStage& preparing)
    : model_(std::move(model)),
      graph_(std::move(graph)),
      volume_(std::move(volume)),
      volumeName_(std::move(volumeName)),
      truth_(std::move(groundTruth)) {
  initialise(preparing);
}

void QuantizationStudy::initialise(const FeedbackStage& preparing) {
  if (!(toleranceMm_ >= 0)) throw Error("NSD tolerance must be >= 0 mm");
  if (truth_ && !truth_->geometry.sameGrid(volume_->geometry))
    throw Error("ground truth is not on the CT grid (" + truth_->geometry.gridDifference(volume_->geometry) + ")");
  prepared_ = prepareVolume(*volume_, model_->metadata(), preparing);
  if (truth_) modelSpaceTruth_ = prepared_.toModelSpace(*truth_);
  counters_.prepare = 1;
}

void QuantizationStudy::setGroundTruth(std::shared_ptr<const LabelVolume> groundTruth) {
  if (groundTruth && !groundTruth->geometry.sameGrid(volume_->geometry))
    throw Error("ground truth is not on the CT grid (" + groundTruth->geometry.gridDifference(volume_->geometry) + ")");
  torch::Tensor modelSpace = groundTruth ? prepared_.toModelSpace(*groundTruth) : torch::Tensor();
  std::lock_guard<std::mutex> lock(*mutex_);
  truth_ = std::move(groundTruth);
  modelSpaceTruth_ = modelSpace;
  fp32Scores_.reset();
  fp32VsTruth_.reset();
  calibrations_.clear();
  captures_.clear();       // recorded on the old patches
  methodWeights_.clear();  // computed on the old patches
  results_.clear();
  int8Measurements_.clear();
  tables_.clear();
  modelConfig_.reset();
  quantizedModel_.reset();
}

// ---- FP32 ----------------------------------------------------------------------------------

std::shared_ptr<const InferenceResult> QuantizationStudy::fp32(const FeedbackStage& stage) {
  {
    std::lock_guard<std::mutex> lock(*mutex_);
    if (fp32_) return fp32_;
  }
  auto r = std::make_shared<const InferenceResult>(runSlidingWindow(*model_, prepared_, inference_, stage));
  std::lock_guard<std::mutex> lock(*mutex_);
  fp32_ = r;
  ++counters_.fp32;
  return r;
}

const InferenceResult& QuantizationStudy::fp32(Feedback* feedback) {
  return *fp32(FeedbackStage(feedback, 0, 1, "FP32 inference"));
}

std::shared_ptr<const LabelVolume> QuantizationStudy::fp32Labels() const {
  std::lock_guard<std::mutex> lock(*mutex_);
  return fp32_ ? std::shared_ptr<const LabelVolume>(fp32_, &fp32_->labels) : nullptr;
}

const std::optional<SegmentationScores>& QuantizationStudy::fp32Scores(Feedback* feedback) {
  if (!fp32Scores_) {
    std::optional<SegmentationScores> s;
    if (truth_)
      s = scoreSegmentation(fp32(feedback).labels, *truth_, model_->metadata().classes, toleranceMm_, feedback);
    fp32Scores_ = s;
  }
  return *fp32Scores_;
}

// ---- previews ------------------------------------------------------------------------------

std::optional<PreviewWindows> QuantizationStudy::previewWindows(int axis, int slice) const {
  if (slice < 0 || axis < 0 || axis > 2) return std::nullopt;
  const PreparedVolume& pv = prepared_;
  const AxisReorientation& r = pv.reorientation;
  int oriented = -1;  // oriented (x, y, z) axis that reads original axis `axis`
  for (int t = 0; t < 3; ++t)
    if (r.sourceAxis[static_cast<size_t>(t)] == axis) oriented = t;
  if (oriented < 0) return std::nullopt;
  const int64_t n = pv.originalGeometry.size[static_cast<size_t>(axis)];
  if (slice >= n) return std::nullopt;
  const int64_t index = r.flip[static_cast<size_t>(oriented)] ? n - 1 - slice : slice;
  PreviewWindows p;
  p.options.rangeAxis = pv.modelAxisOf(oriented);  // model D, H, W = oriented z, y, x (or x, y, z)
  p.options.depthRange = pv.modelRangeForOrientedSlices(p.options.rangeAxis, index, index);
  p.options.previewSchedule = true;
  p.options.overlap = kPreviewOverlap;
  // Skip the preview when it would cost most of the whole volume anyway.
  const std::array<int64_t, 3> size{pv.input.size(2), pv.input.size(3), pv.input.size(4)};
  const auto& patch = model_->metadata().patchSize;
  const size_t whole = planWindows(size, patch, inference_.overlap).starts.size();
  const size_t previewWindows = planInference(pv, patch, p.options).starts.size();
  if (previewWindows * 4 >= whole * 3) return std::nullopt;
  p.share = double(previewWindows) / double(previewWindows + whole);
  return p;
}

std::shared_ptr<const LabelVolume> QuantizationStudy::fp32Preview(const PreviewWindows& preview,
                                                                  const FeedbackStage& stage) {
  InferenceResult r = runSlidingWindow(*model_, prepared_, preview.options, stage);
  std::lock_guard<std::mutex> lock(*mutex_);
  ++counters_.previews;
  return std::make_shared<const LabelVolume>(std::move(r.labels));
}

std::shared_ptr<const LabelVolume> QuantizationStudy::quantizedPreview(const QuantConfig& config,
                                                                       const PreviewWindows& preview,
                                                                       const FeedbackStage& calibrationStage,
                                                                       const FeedbackStage& stage) {
  auto model = quantizedModel(config, calibrationStage);
  InferenceResult r = runSlidingWindow(*model, prepared_, preview.options, stage);
  std::lock_guard<std::mutex> lock(*mutex_);
  ++counters_.previews;
  return std::make_shared<const LabelVolume>(std::move(r.labels));
}

// ---- calibration ---------------------------------------------------------------------------

std::vector<torch::Tensor> QuantizationStudy::calibrationPatches(const CalibrationKey& key) const {
  return sampleCalibrationPatches(prepared_, modelSpaceTruth_, model_->metadata().patchSize, key.patches, key.seed);
}

bool QuantizationStudy::needsCalibration(const QuantConfig& config) const {
  if (config.execution == Execution::RealInt8) return true;  // static activation grids
  return !config.precision.floatingPoint && QuantizedModel::needsCalibration(*graph_, config);
}

bool QuantizationStudy::hasCalibration(const CalibrationKey& key) const {
  std::lock_guard<std::mutex> lock(*mutex_);
  return calibrations_.count(key) > 0;
}

std::shared_ptr<const CalibrationData> QuantizationStudy::cachedCalibration(const CalibrationKey& key) const {
  std::lock_guard<std::mutex> lock(*mutex_);
  auto it = calibrations_.find(key);
  return it != calibrations_.end() ? it->second : nullptr;
}

Fp32Capture& QuantizationStudy::captureFor(const CalibrationKey& key) {
  for (auto it = captures_.begin(); it != captures_.end();)
    it = it->first == key ? std::next(it) : captures_.erase(it);
  auto& capture = captures_[key];
  if (!capture) capture = std::make_unique<Fp32Capture>();
  return *capture;
}

std::shared_ptr<const CalibrationData> QuantizationStudy::calibration(const CalibrationKey& key,
                                                                      const FeedbackStage& stage) {
  if (key.patches < 1) throw Error("the number of calibration patches must be >= 1");
  {
    std::lock_guard<std::mutex> lock(*mutex_);
    auto it = calibrations_.find(key);
    if (it != calibrations_.end()) return it->second;
  }
  stage.report(0, "sampling patches");
  const auto patches = calibrationPatches(key);
  // The layer analysis runs on the first calibration patch(es): their FP32 side is recorded
  // while calibrating (within the capture's memory budget), so the analysis skips its FP32 run.
  Fp32Capture& capture = captureFor({kCapturedAnalysisPatches, key.seed});
  auto data = std::make_shared<const CalibrationData>(
      capture.complete() ? calibrate(*graph_, patches, key.seed, stage)
                         : calibrateWithCapture(*graph_, patches, key.seed, stage, capture,
                                                static_cast<size_t>(kCapturedAnalysisPatches)));
  std::lock_guard<std::mutex> lock(*mutex_);
  calibrations_[key] = data;
  ++counters_.calibrate;
  return data;
}

const CalibrationData& QuantizationStudy::calibration(int patches, uint32_t seed, Feedback* feedback) {
  return *calibration(CalibrationKey{patches, seed}, FeedbackStage(feedback, 0, 1, "calibration"));
}

void QuantizationStudy::setCalibration(int patches, uint32_t seed, CalibrationData data) {
  std::lock_guard<std::mutex> lock(*mutex_);
  calibrations_[{patches, seed}] = std::make_shared<const CalibrationData>(std::move(data));
  // Method weights were chosen under the previous activation grids of this key.
  methodWeights_.remove_if([&](const auto& entry) {
    return entry.first.calibrationKey() == CalibrationKey{patches, seed};
  });
  modelConfig_.reset();
  quantizedModel_.reset();
}

// ---- quantized results ---------------------------------------------------------------------

std::shared_ptr<PatchPredictor> QuantizationStudy::quantizedModel(const QuantConfig& config,
                                                                  const FeedbackStage& calibrationStage) {
  if (modelConfig_ && *modelConfig_ == config) return quantizedModel_;
  if (config.execution == Execution::RealInt8) {
    quantizedModel_ = buildInt8(config, calibrationStage);
  } else {
    const bool method = !config.method.roundToNearest() && quantizesSomeOp(*graph_, config);
    const FeedbackStage calStage =
        method && !cachedMethodWeights(config) ? calibrationStage.sub(0.0, 0.2, "calibration") : calibrationStage;
    std::shared_ptr<const CalibrationData> cal;
    if (QuantizedModel::needsCalibration(*graph_, config)) cal = calibration(config.calibrationKey(), calStage);
    const auto adjusted = method ? methodWeights(config, calibrationStage.sub(0.2, 1.0, config.method.title()))
                                 : nullptr;
    // The model keeps a pointer to the calibration: cal stays alive in calibrations_.
    quantizedModel_ =
        std::make_shared<QuantizedModel>(graph_, model_->metadata(), config, cal.get(), true, adjusted.get());
  }
  modelConfig_ = config;
  return quantizedModel_;
}

std::shared_ptr<const AdjustedWeights> QuantizationStudy::cachedMethodWeights(const QuantConfig& config) const {
  std::lock_guard<std::mutex> lock(*mutex_);
  for (const auto& [c, w] : methodWeights_)
    if (c == config) return w;
  return nullptr;
}

std::shared_ptr<const AdjustedWeights> QuantizationStudy::methodWeights(const QuantConfig& config,
                                                                        const FeedbackStage& stage) {
  if (config.method.roundToNearest() || !quantizesSomeOp(*graph_, config)) return nullptr;
  if (auto cached = cachedMethodWeights(config)) return cached;
  std::shared_ptr<const CalibrationData> cal;
  if (QuantizedModel::needsCalibration(*graph_, config))
    cal = calibration(config.calibrationKey(), stage.sub(0, 0, ""));
  auto adjusted = adjustWeights(graph_, model_->metadata(), config, cal.get(),
                                calibrationPatches(config.calibrationKey()), stage);
  std::lock_guard<std::mutex> lock(*mutex_);
  // Another thread (a preview beside the whole volume) may have finished the same first.
  for (const auto& [c, w] : methodWeights_)
    if (c == config) return w;
  methodWeights_.emplace_front(config, adjusted);
  if (methodWeights_.size() > kMethodCacheSize) methodWeights_.pop_back();
  ++counters_.methods;
  return adjusted;
}

std::shared_ptr<Int8Model> QuantizationStudy::buildInt8(const QuantConfig& config,
                                                        const FeedbackStage& calibrationStage) {
  return buildInt8Model(*this, config, calibrationStage);
}

std::optional<RealInt8Measurement> QuantizationStudy::realInt8Measurement(const QuantConfig& config) const {
  std::lock_guard<std::mutex> lock(*mutex_);
  for (const auto& [c, m] : int8Measurements_)
    if (c == config) {
      RealInt8Measurement r = m;
      if (fp32_) {
        r.fp32Seconds = fp32_->seconds;
        r.fp32Windows = fp32_->windows;
      }
      return r;
    }
  return std::nullopt;
}

std::shared_ptr<const LabelVolume> QuantizationStudy::cachedQuantized(const QuantConfig& config) const {
  std::lock_guard<std::mutex> lock(*mutex_);
  if (config.precision.floatingPoint && config.opPrecision.empty())
    return fp32_ ? std::shared_ptr<const LabelVolume>(fp32_, &fp32_->labels) : nullptr;
  for (auto it = results_.begin(); it != results_.end(); ++it)
    if (it->first == config) {
      results_.splice(results_.begin(), results_, it);
      return std::shared_ptr<const LabelVolume>(results_.front().second, &results_.front().second->labels);
    }
  return nullptr;
}

void QuantizationStudy::storeQuantized(const QuantConfig& config, std::shared_ptr<const InferenceResult> result) {
  std::lock_guard<std::mutex> lock(*mutex_);
  results_.remove_if([&](const auto& e) { return e.first == config; });
  results_.emplace_front(config, std::move(result));
  while (results_.size() > kResultCacheSize) results_.pop_back();
}

std::shared_ptr<const InferenceResult> QuantizationStudy::quantized(const QuantConfig& config,
                                                                    const FeedbackStage& calibrationStage,
                                                                    const FeedbackStage& stage) {
  // FP32 "quantization" is the FP32 model itself.
  if (config.precision.floatingPoint && config.opPrecision.empty()) return fp32(stage);
  {
    std::lock_guard<std::mutex> lock(*mutex_);
    for (auto it = results_.begin(); it != results_.end(); ++it)
      if (it->first == config) {
        results_.splice(results_.begin(), results_, it);
        return results_.front().second;
      }
  }
  auto model = quantizedModel(config, calibrationStage);
  auto r = std::make_shared<const InferenceResult>(runSlidingWindow(*model, prepared_, inference_, stage));
  std::optional<RealInt8Measurement> measured;
  if (auto* int8 = dynamic_cast<Int8Model*>(model.get())) {
    measured.emplace();
    measured->engine = int8->engine();
    measured->graph = int8->graphOptions().id();
    measured->integerOps = int8->coverage().integerOps();
    measured->totalOps = static_cast<int>(int8->coverage().ops.size());
    measured->seconds = r->seconds;
    measured->windows = r->windows;
    measured->modelBytes = int8->serializedBytes();
    std::error_code ec;
    const auto fp32Bytes = std::filesystem::file_size(model_->path(), ec);
    measured->fp32ModelBytes = ec ? 0 : static_cast<int64_t>(fp32Bytes);
  }
  storeQuantized(config, r);
  std::lock_guard<std::mutex> lock(*mutex_);
  if (measured) {
    int8Measurements_.remove_if([&](const auto& e) { return e.first == config; });
    int8Measurements_.emplace_front(config, *measured);
    while (int8Measurements_.size() > kResultCacheSize) int8Measurements_.pop_back();
  }
  ++counters_.quantized;
  return r;
}

QuantizedRun QuantizationStudy::runQuantized(const QuantConfig& config, Feedback* feedback) {
  FeedbackStage all(feedback, 0, 1, "");
  QuantizedRun run;
  run.config = config;
  const auto reference = fp32(FeedbackStage(feedback, 0, 1, "FP32 inference"));
  run.inference = *quantized(config, FeedbackStage(feedback, 0, 1, "calibration"),
                             all.sub(0.0, 0.95, config.precision.id() + " inference"));
  const ClassList& classes = model_->metadata().classes;
  if (truth_) run.scores = scoreSegmentation(run.inference.labels, *truth_, classes, toleranceMm_, nullptr);
  run.agreement = scoreSegmentation(run.inference.labels, reference->labels, classes, toleranceMm_, nullptr);
  all.report(1.0, "done");
  return run;
}

// ---- scores --------------------------------------------------------------------------------

std::shared_ptr<const ComparisonTable> QuantizationStudy::compare(const QuantConfig& config, double tolerance,
                                                                  const FeedbackStage& stage) {
  if (!(tolerance >= 0)) throw Error("NSD tolerance must be >= 0 mm");
  const auto key = std::make_pair(config, tolerance);
  {
    std::lock_guard<std::mutex> lock(*mutex_);
    for (const auto& e : tables_)
      if (e.first == key) return e.second;
  }
  const auto fp32 = fp32Labels();
  const auto q = cachedQuantized(config);
  if (!fp32 || !q) throw Error("scores: compute FP32 and " + config.describe() + " first");
  const ModelMetadata& md = model_->metadata();
  auto table = std::make_shared<ComparisonTable>();
  table->modelName = md.name;
  table->framework = md.framework;
  table->architecture = md.architecture;
  table->category = md.category;
  table->parameterCount = model_->parameterCount();
  table->modelPath = model_->path();
  table->volumeName = volumeName_;
  table->precision = config.precision.title();
  table->configuration = config.describe();
  table->toleranceMm = tolerance;
  table->haveTruth = truth_ != nullptr;
  std::vector<MultiStepFeedback::Step> steps{{"agreement", 1}};
  const bool needFp32Truth = truth_ && !(fp32VsTruth_ && fp32VsTruth_->toleranceMm == tolerance);
  if (needFp32Truth) steps.push_back({"fp32-truth", 1});
  if (truth_) steps.push_back({"quant-truth", 1});
  MultiStepFeedback parts(stage, steps);
  ChildFeedback agreeFb(parts.step("agreement", "scoring vs FP32"));
  const SegmentationScores agree = scoreSegmentation(*q, *fp32, md.classes, tolerance, agreeFb.get());
  SegmentationScores quantVsTruth, fp32Truth;
  if (truth_) {
    if (needFp32Truth) {
      ChildFeedback fb(parts.step("fp32-truth", "scoring FP32 vs ground truth"));
      fp32VsTruth_ = scoreSegmentation(*fp32, *truth_, md.classes, tolerance, fb.get());
    }
    fp32Truth = *fp32VsTruth_;
    ChildFeedback fb(parts.step("quant-truth", "scoring quantized vs ground truth"));
    quantVsTruth = scoreSegmentation(*q, *truth_, md.classes, tolerance, fb.get());
  }
  for (size_t i = 0; i < agree.organs.size(); ++i) {
    OrganComparison row;
    row.id = agree.organs[i].id;
    row.name = agree.organs[i].name;
    for (const auto& c : md.classes)
      if (c.id == row.id) row.color = c.color;
    row.agreeDsc = agree.organs[i].dsc;
    row.agreeNsd = agree.organs[i].nsd;
    row.quantVoxels = agree.organs[i].predictedVoxels;
    row.fp32Voxels = agree.organs[i].referenceVoxels;
    if (truth_) {
      row.fp32Dsc = fp32Truth.organs[i].dsc;
      row.fp32Nsd = fp32Truth.organs[i].nsd;
      row.quantDsc = quantVsTruth.organs[i].dsc;
      row.quantNsd = quantVsTruth.organs[i].nsd;
      row.truthVoxels = quantVsTruth.organs[i].referenceVoxels;
    }
    table->organs.push_back(row);
  }
  table->meanAgreeDsc = agree.meanDsc;
  table->meanAgreeNsd = agree.meanNsd;
  if (truth_) {
    table->meanFp32Dsc = fp32Truth.meanDsc;
    table->meanFp32Nsd = fp32Truth.meanNsd;
    table->meanQuantDsc = quantVsTruth.meanDsc;
    table->meanQuantNsd = quantVsTruth.meanNsd;
  }
  std::lock_guard<std::mutex> lock(*mutex_);
  tables_.emplace_back(key, table);
  return table;
}

// ---- layer analysis ------------------------------------------------------------------------

LayerAnalysis QuantizationStudy::analyze(const QuantConfig& config, int analysisPatches, Feedback* feedback) {
  return analyze(config, analysisPatches, FeedbackStage(feedback, 0, 1, ""));
}

LayerAnalysis QuantizationStudy::analyze(const QuantConfig& config, int analysisPatches, const FeedbackStage& stage) {
  // The analysis patches are the first calibration patches (foreground-centred first).
  const int count = std::max(1, analysisPatches);
  const CalibrationKey calKey = config.calibrationKey();
  const CalibrationKey captureKey{count, config.calibrationSeed};
  const bool needCalibration = !hasCalibration(calKey);
  const bool needMethod = !config.method.roundToNearest() && quantizesSomeOp(*graph_, config) &&
                          !cachedMethodWeights(config);
  MultiStepFeedback steps(
      stage, {{"calibration", needCalibration ? 0.3 : 0.0}, {"method", needMethod ? 1.0 : 0.0}, {"analysis", 0.7}});
  Fp32Capture& capture = captureFor(captureKey);
  if (calKey.patches >= 1 && needCalibration && !capture.complete()) {
    // The calibration runs the FP32 model on the analysis patches anyway: their FP32 side
    // is recorded on the way, and the analysis below skips its own FP32 run.
    auto data = std::make_shared<const CalibrationData>(
        calibrateWithCapture(*graph_, calibrationPatches(calKey), calKey.seed,
                             steps.step("calibration", "calibration"), capture, static_cast<size_t>(count)));
    std::lock_guard<std::mutex> lock(*mutex_);
    calibrations_[calKey] = data;
    ++counters_.calibrate;
  }
  const auto cal = calibration(calKey, steps.step("calibration", "calibration"));
  const auto adjusted = methodWeights(config, steps.step("method", config.method.title()));
  const auto patches = calibrationPatches(captureKey);
  return analyzeLayers(*graph_, model_->metadata(), config, *cal, patches, steps.step("analysis", "layer analysis"),
                       &captureFor(captureKey), adjusted.get());
}

StudyCounters QuantizationStudy::counters() const {
  std::lock_guard<std::mutex> lock(*mutex_);
  return counters_;
}

}  // namespace mqb::quant
