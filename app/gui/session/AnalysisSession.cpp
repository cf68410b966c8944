// A thin adapter between the desktop application and the engine's one orchestrator,
// quant::QuantizationStudy: it keeps the inputs, hands them to a study on the first run
// and turns the study's results into RunUpdates. Sampling, calibration, capture, caches
// and scoring all live in the study (shared with the CLI and the benchmarks).
// Torch headers first (this file is Qt-free; the rule matters for files that also see Qt).
#include "runtime/BlasThreads.h"
#include "support/MultiStepFeedback.h"
#include "model/SegmentationModel.h"
#include "quant/int8/Int8Support.h"
#include "quant/QuantCoverage.h"
#include "quant/QuantizableGraph.h"
#include "study/QuantizationStudy.h"
#include "quant/QuantizedModel.h"

#include "AnalysisSession.h"

#include <chrono>
#include <mutex>

#include "support/Error.h"
#include "io/LabelRemap.h"
#include "io/Reorientation.h"
#include "io/VolumeIO.h"

namespace mqb::gui {

namespace {

using Clock = std::chrono::steady_clock;
double secondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

std::shared_ptr<LabelVolume> differenceVolume(const LabelVolume& a, const LabelVolume& b, int restrictToSlice,
                                              int64_t* count, int sliceAxis) {
  if (a.geometry.size != b.geometry.size || a.voxels.size() != b.voxels.size())
    throw Error("difference: label maps of different size (" + a.geometry.describe() + " vs " +
                b.geometry.describe() + ")");
  if (sliceAxis < 0 || sliceAxis > 2) throw Error("difference: slice axis must be 0, 1 or 2");
  auto d = std::make_shared<LabelVolume>();
  d->geometry = a.geometry;
  d->voxels.assign(a.voxels.size(), 0);
  int64_t n = 0;
  const auto& size = a.geometry.size;
  // Voxel ranges [x0,x1) x [y0,y1) x [z0,z1): the whole grid, or one slice of it.
  std::array<int64_t, 3> lo{0, 0, 0}, hi = size;
  if (restrictToSlice >= 0) {
    lo[sliceAxis] = restrictToSlice;
    hi[sliceAxis] = std::min<int64_t>(restrictToSlice + 1, size[sliceAxis]);
  }
  for (int64_t z = lo[2]; z < hi[2]; ++z)
    for (int64_t y = lo[1]; y < hi[1]; ++y) {
      const size_t row = static_cast<size_t>((z * size[1] + y) * size[0]);
      for (int64_t x = lo[0]; x < hi[0]; ++x) {
        const size_t i = row + static_cast<size_t>(x);
        const bool differ = a.voxels[i] != b.voxels[i];
        d->voxels[i] = differ ? 1 : 0;
        n += differ;
      }
    }
  if (count) *count = n;
  return d;
}

struct AnalysisSession::Impl {
  mutable std::mutex mutex;  // guards the inputs and the study pointer read by other threads

  // inputs
  std::shared_ptr<SegmentationModel> model;
  std::shared_ptr<const ModelInfo> modelInfo;
  std::shared_ptr<const quant::QuantizableGraph> graph;
  std::string modelPath;
  std::shared_ptr<const ImageVolume> volume;
  std::string volumePath;
  std::shared_ptr<const LabelVolume> truth;
  std::string truthPath, truthLabelMap;

  // Every result and cache: built on the first run for the current model + volume.
  std::shared_ptr<quant::QuantizationStudy> study;
  quant::StudyCounters past;  // of the studies dropped since the session began
  std::shared_ptr<const quant::LayerAnalysis> lastAnalysis;

  std::shared_ptr<quant::QuantizationStudy> currentStudy() const {
    std::lock_guard<std::mutex> lock(mutex);
    return study;
  }
  void clearResults() {
    std::lock_guard<std::mutex> lock(mutex);
    if (study) {
      const quant::StudyCounters c = study->counters();
      past.prepare += c.prepare;
      past.fp32 += c.fp32;
      past.calibrate += c.calibrate;
      past.quantized += c.quantized;
      past.previews += c.previews;
    }
    study.reset();
    lastAnalysis.reset();
  }
  // New ground truth: the study drops what depends on it and keeps the prepared volume and FP32.
  void setStudyTruth(std::shared_ptr<const LabelVolume> labels) {
    if (auto s = currentStudy()) s->setGroundTruth(std::move(labels));
    std::lock_guard<std::mutex> lock(mutex);
    lastAnalysis.reset();
  }
  quant::QuantizationStudy& ensureStudy(const FeedbackStage& preparing) {
    if (auto s = currentStudy()) return *s;
    auto s = std::make_shared<quant::QuantizationStudy>(model, graph, volume, volumePath, truth, preparing);
    std::lock_guard<std::mutex> lock(mutex);
    study = s;
    return *study;
  }

  void requireInputs() const {
    if (!model) throw Error("no model loaded (File > Open model)");
    if (!volume) throw Error("no CT volume loaded (File > Open CT)");
  }
  void requireKnownOps(const quant::QuantConfig& config) const {
    if (config.precision.floatingPoint) return;
    for (const auto& name : config.excludedOps)
      if (!graph->hasOp(name)) throw Error("excluded op '" + name + "' is not an op of " + modelPath);
  }
};

AnalysisSession::AnalysisSession() : d(std::make_unique<Impl>()) { quant::registerQuantOperators(); }
AnalysisSession::~AnalysisSession() = default;

void AnalysisSession::loadModel(const std::string& path, Feedback* feedback) {
  if (feedback) feedback->report(0.0, "loading model");
  auto model = std::make_shared<SegmentationModel>(SegmentationModel::load(path, "cpu"));
  if (feedback) {
    feedback->throwIfCanceled();
    feedback->report(0.5, "finding quantizable operations");
  }
  auto graph = std::make_shared<const quant::QuantizableGraph>(model->module(), path);
  auto info = std::make_shared<ModelInfo>();
  info->path = path;
  info->metadata = model->metadata();
  info->parameterCount = model->parameterCount();
  for (const quant::QuantOp& op : graph->ops()) {
    OpInfo o;
    o.index = op.index;
    o.name = op.name;
    o.kind = quant::opKindName(op.kind);
    o.modulePath = op.modulePath;
    o.weightShape = op.weightShape;
    o.parameters = op.parameters;
    o.pointwise = op.pointwise;
    info->ops.push_back(o);
  }
  if (feedback) feedback->report(0.8, "measuring the quantization coverage");
  const quant::Coverage coverage = quant::coverageOf(*graph, nullptr, model->metadata());
  info->coverage = coverage.summary();
  for (const auto& c : coverage.leftovers()) info->fp32Contractions.emplace_back(c.name, c.reason);
  d->clearResults();
  std::lock_guard<std::mutex> lock(d->mutex);
  d->model = std::move(model);
  d->graph = std::move(graph);
  d->modelInfo = std::move(info);
  d->modelPath = path;
  if (feedback) feedback->report(1.0, "model loaded");
}

void AnalysisSession::loadVolume(const std::string& path, Feedback* feedback) {
  auto volume = std::make_shared<ImageVolume>(readImage(path, feedback));
  setVolume(std::move(volume), path);
}

void AnalysisSession::setVolume(std::shared_ptr<const ImageVolume> volume, const std::string& name) {
  if (!volume || volume->voxels.empty() || static_cast<int64_t>(volume->voxels.size()) != volume->geometry.voxelCount())
    throw Error(name + ": empty volume or voxel count that does not match its geometry");
  d->clearResults();
  std::lock_guard<std::mutex> lock(d->mutex);
  if (d->truth && !d->truth->geometry.sameGrid(volume->geometry)) {
    d->truth.reset();
    d->truthPath.clear();
    d->truthLabelMap.clear();
  }
  d->volume = std::move(volume);
  d->volumePath = name;
}

void AnalysisSession::loadGroundTruth(const std::string& path, const std::string& labelMap) {
  if (!d->volume) throw Error(path + ": open a CT volume before its ground truth");
  const LabelRemap remap = labelMap.empty() ? LabelRemap::identity() : LabelRemap::load(labelMap);
  LabelVolume labels = readLabelMap(path, remap);
  labels = alignToGrid(labels, d->volume->geometry, path);
  setGroundTruth(std::make_shared<LabelVolume>(std::move(labels)), path);
  std::lock_guard<std::mutex> lock(d->mutex);
  d->truthLabelMap = labelMap;
}

void AnalysisSession::setGroundTruth(std::shared_ptr<const LabelVolume> labels, const std::string& name) {
  if (!d->volume) throw Error(name + ": open a CT volume before its ground truth");
  if (!labels || labels->geometry.size != d->volume->geometry.size ||
      static_cast<int64_t>(labels->voxels.size()) != labels->geometry.voxelCount())
    throw Error(name + ": ground truth is not on the CT grid (" +
                (labels ? labels->geometry.describe() : std::string("empty")) + " vs " +
                d->volume->geometry.describe() + ")");
  d->setStudyTruth(labels);
  std::lock_guard<std::mutex> lock(d->mutex);
  d->truth = std::move(labels);
  d->truthPath = name;
  d->truthLabelMap.clear();
}

void AnalysisSession::clearGroundTruth() {
  d->setStudyTruth(nullptr);
  std::lock_guard<std::mutex> lock(d->mutex);
  d->truth.reset();
  d->truthPath.clear();
  d->truthLabelMap.clear();
}

bool AnalysisSession::hasModel() const {
  std::lock_guard<std::mutex> lock(d->mutex);
  return d->model != nullptr;
}
bool AnalysisSession::hasVolume() const {
  std::lock_guard<std::mutex> lock(d->mutex);
  return d->volume != nullptr;
}
bool AnalysisSession::hasGroundTruth() const {
  std::lock_guard<std::mutex> lock(d->mutex);
  return d->truth != nullptr;
}
std::shared_ptr<const ModelInfo> AnalysisSession::modelInfo() const {
  std::lock_guard<std::mutex> lock(d->mutex);
  return d->modelInfo;
}
std::shared_ptr<const ImageVolume> AnalysisSession::volume() const {
  std::lock_guard<std::mutex> lock(d->mutex);
  return d->volume;
}
std::shared_ptr<const LabelVolume> AnalysisSession::groundTruth() const {
  std::lock_guard<std::mutex> lock(d->mutex);
  return d->truth;
}
const std::string& AnalysisSession::modelPath() const { return d->modelPath; }
const std::string& AnalysisSession::volumePath() const { return d->volumePath; }
const std::string& AnalysisSession::truthPath() const { return d->truthPath; }
const std::string& AnalysisSession::truthLabelMap() const { return d->truthLabelMap; }

std::shared_ptr<const LabelVolume> AnalysisSession::fp32Result() const {
  auto study = d->currentStudy();
  return study ? study->fp32Labels() : nullptr;
}

std::shared_ptr<const LabelVolume> AnalysisSession::quantizedResult(const quant::QuantConfig& settings) const {
  auto study = d->currentStudy();
  return study ? study->cachedQuantized(settings) : nullptr;
}

bool AnalysisSession::calibrationCached(const quant::QuantConfig& settings) const {
  auto study = d->currentStudy();
  return study && study->hasCalibration(settings.calibrationKey());
}

std::optional<quant::RealInt8Measurement> AnalysisSession::realInt8Measurement(const quant::QuantConfig& settings) const {
  auto study = d->currentStudy();
  return study ? study->realInt8Measurement(settings) : std::nullopt;
}

bool AnalysisSession::needsCalibration(const quant::QuantConfig& settings) const {
  if (settings.precision.floatingPoint || !d->graph) return false;
  if (settings.execution == quant::Execution::RealInt8) return true;  // static activation grids
  return quant::QuantizedModel::needsCalibration(*d->graph, settings);
}

AnalysisSession::Counters AnalysisSession::counters() const {
  auto study = d->currentStudy();
  const quant::StudyCounters now = study ? study->counters() : quant::StudyCounters{};
  std::lock_guard<std::mutex> lock(d->mutex);
  Counters c;
  c.prepare = d->past.prepare + now.prepare;
  c.fp32 = d->past.fp32 + now.fp32;
  c.calibrate = d->past.calibrate + now.calibrate;
  c.quantized = d->past.quantized + now.quantized;
  c.previews = d->past.previews + now.previews;
  return c;
}

void AnalysisSession::run(const RunRequest& request, Feedback* feedback, const UpdateListener& listener) {
  d->requireInputs();
  const quant::QuantConfig& config = request.settings;
  d->requireKnownOps(config);
  // Before the FP32 preview: a combination the integer kernels cannot run starts nothing.
  if (config.execution == quant::Execution::RealInt8 && !config.precision.floatingPoint) {
    const std::string problem = quant::realInt8Problem(config);
    if (!problem.empty()) throw Error(problem);
  }
  auto emit = [&](RunUpdate u) {
    u.settings = config;
    if (listener) listener(u);
  };

  // What has to be computed.
  const auto existing = d->currentStudy();
  const bool needPrepare = !existing;
  const bool needFp32 = !existing || !existing->hasFp32();
  const auto cachedQ = existing ? existing->cachedQuantized(config) : nullptr;
  const bool needQuant = !cachedQ && !config.precision.floatingPoint;
  if (request.onlyIfCached && (needPrepare || needFp32 || needQuant)) return;
  const bool needCal = needQuant && needsCalibration(config) && !calibrationCached(config);

  // Progress shares roughly proportional to the time, in the order the steps run (previews
  // before the whole volume), so the bar never steps back. The preview's share of an
  // inference is its share of the windows, known once the volume is prepared.
  constexpr double kPrepare = 0.1, kFp32 = 1.0, kCalibrate = 0.3, kQuant = 1.5, kScores = 0.3;
  const double rest = (needFp32 ? kFp32 : 0) + (needCal ? kCalibrate : 0) + (needQuant ? kQuant : 0) +
                      (request.computeScores ? kScores : 0);
  MultiStepFeedback outer(FeedbackStage(feedback, 0, 1, ""), {{"prepare", needPrepare ? kPrepare : 0}, {"rest", rest}});
  quant::QuantizationStudy& study = d->ensureStudy(outer.step("prepare", "preparing volume"));
  const auto preview = study.previewWindows(request.previewAxis, request.previewSlice);
  const double share = preview ? preview->share : 0.0;
  MultiStepFeedback steps(outer.step("rest", ""), {{"fp32-preview", needFp32 && preview ? kFp32 * share : 0},
                                                   {"calibrate", needCal ? kCalibrate : 0},
                                                   {"quant-preview", needQuant && preview ? kQuant * share : 0},
                                                   {"fp32", needFp32 ? kFp32 * (1 - share) : 0},
                                                   {"quant", needQuant ? kQuant * (1 - share) : 0},
                                                   {"scores", request.computeScores ? kScores : 0}});
  // The calibration runs after the FP32 preview: the user sees the FP32 slice meanwhile.
  auto calibrating = [&] { return steps.step("calibrate", "calibrating"); };

  // 1. previews first: the windows covering the slice on screen, FP32 then quantized, so
  //    the user sees the effect of a change at once; then the whole volume.
  std::shared_ptr<const LabelVolume> fp32Preview;
  if (preview && needFp32) {
    const auto t0 = Clock::now();
    fp32Preview = study.fp32Preview(*preview, steps.step("fp32-preview", "FP32 preview"));
    RunUpdate u;
    u.kind = RunUpdate::Kind::Fp32Preview;
    u.preview = true;
    u.previewSlice = request.previewSlice;
    u.previewAxis = request.previewAxis;
    u.fp32 = fp32Preview;
    u.seconds = secondsSince(t0);
    emit(u);
  }
  if (preview && needQuant) {
    const auto t0 = Clock::now();
    const FeedbackStage calibration = calibrating();
    RunUpdate u;
    u.quantized = study.quantizedPreview(config, *preview, calibration,
                                         steps.step("quant-preview", config.precision.id() + " preview"));
    u.kind = RunUpdate::Kind::QuantPreview;
    u.preview = true;
    u.previewSlice = request.previewSlice;
    u.previewAxis = request.previewAxis;
    const auto fp32 = study.fp32Labels();
    u.fp32 = fp32 ? fp32 : fp32Preview;
    if (u.fp32)
      u.difference =
          differenceVolume(*u.fp32, *u.quantized, request.previewSlice, &u.differingVoxels, request.previewAxis);
    u.seconds = secondsSince(t0);
    emit(u);
  }

  // 2. FP32 on the whole volume (reused for every configuration)
  if (needFp32) {
    const auto t0 = Clock::now();
    study.fp32(steps.step("fp32", "FP32 inference"));
    RunUpdate u;
    u.kind = RunUpdate::Kind::Fp32;
    u.fp32 = study.fp32Labels();
    u.seconds = secondsSince(t0);
    emit(u);
  } else if (request.computeFp32) {
    RunUpdate u;
    u.kind = RunUpdate::Kind::Fp32;
    u.fp32 = study.fp32Labels();
    u.fromCache = true;
    emit(u);
  }
  const std::shared_ptr<const LabelVolume> fp32 = study.fp32Labels();

  // 3. quantized on the whole volume
  RunUpdate q;
  q.kind = RunUpdate::Kind::Quant;
  q.fp32 = fp32;
  if (!needQuant) {
    q.quantized = cachedQ ? cachedQ : fp32;  // FP32 "quantization" is the FP32 model itself
    q.fromCache = true;
  } else {
    const auto t0 = Clock::now();
    const FeedbackStage calibration = calibrating();
    study.quantized(config, calibration, steps.step("quant", config.precision.id() + " inference"));
    q.quantized = study.cachedQuantized(config);
    q.seconds = secondsSince(t0);
  }
  q.difference = differenceVolume(*fp32, *q.quantized, -1, &q.differingVoxels);
  q.realInt8 = study.realInt8Measurement(config);
  emit(q);

  // 4. scores
  if (request.computeScores) {
    const auto t0 = Clock::now();
    RunUpdate u;
    u.kind = RunUpdate::Kind::Scores;
    u.fp32 = fp32;
    u.quantized = q.quantized;
    u.table = study.compare(config, request.toleranceMm, steps.step("scores", "scoring"));
    u.seconds = secondsSince(t0);
    emit(u);
  }
  if (feedback) feedback->report(1.0, "done");
}

bool AnalysisSession::layerAnalysisAvailable() { return true; }

std::shared_ptr<const quant::LayerAnalysisRows> AnalysisSession::analyzeLayers(const quant::QuantConfig& settings,
                                                                               Feedback* feedback) {
  d->requireInputs();
  if (settings.precision.floatingPoint)
    throw Error("layer analysis compares a quantized configuration with FP32: choose bits");
  d->requireKnownOps(settings);
  const bool needPrepare = !d->currentStudy();
  MultiStepFeedback steps(FeedbackStage(feedback, 0, 1, ""), {{"prepare", needPrepare ? 0.05 : 0}, {"analysis", 0.95}});
  quant::QuantizationStudy& study = d->ensureStudy(steps.step("prepare", "preparing volume"));
  // Like the CLI's analyze: the first calibration patch (foreground-centred with ground truth).
  auto analysis = std::make_shared<const quant::LayerAnalysis>(
      study.analyze(settings, quant::QuantizationStudy::kCapturedAnalysisPatches, steps.step("analysis", "")));
  auto rows = std::make_shared<const quant::LayerAnalysisRows>(quant::plotRows(*analysis));
  std::lock_guard<std::mutex> lock(d->mutex);
  d->lastAnalysis = analysis;
  return rows;
}

std::shared_ptr<const quant::QuantizationStudy> AnalysisSession::study() const { return d->currentStudy(); }

quant::QuantConfig AnalysisSession::keepMostSensitiveInFp32(const quant::QuantConfig& settings, int k) const {
  std::shared_ptr<const quant::LayerAnalysis> analysis;
  {
    std::lock_guard<std::mutex> lock(d->mutex);
    analysis = d->lastAnalysis;
  }
  if (!analysis) throw Error("keep k most sensitive ops in FP32: run the layer analysis first");
  return quant::keepMostSensitiveInFp32(settings, *analysis, k);
}

int AnalysisSession::engineThreads() { return at::get_num_threads(); }

void AnalysisSession::setEngineThreads(int threads) {
  if (threads < 1) throw Error("the number of engine threads must be >= 1");
  at::set_num_threads(threads);
  setBlasThreads(threads);
}

void AnalysisSession::writeLabels(const LabelVolume& labels, const std::string& path) { writeLabelMap(labels, path); }

}  // namespace mqb::gui
