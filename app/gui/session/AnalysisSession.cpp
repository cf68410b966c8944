// Torch headers first (this file is Qt-free; the rule matters for files that also see Qt).
#include "BlasThreads.h"
#include "SegmentationModel.h"
#include "SlidingWindowInference.h"
#include "VolumePreparation.h"
#include "quant/CalibrationData.h"
#include "quant/QuantConfig.h"
#include "quant/QuantCoverage.h"
#include "quant/QuantizableGraph.h"
#include "quant/QuantizedModel.h"

#include "AnalysisSession.h"

#include <chrono>
#include <cmath>
#include <list>
#include <map>
#include <mutex>

#include "Error.h"
#include "LabelRemap.h"
#include "Reorientation.h"
#include "SegmentationMetrics.h"
#include "VolumeIO.h"

#include "quant/LayerAnalysis.h"

namespace mqb::gui {

// In-plane window overlap of the preview schedule: 12 windows instead of 20 for the
// example CT's axial slice, while tile borders still blend.
constexpr double kPreviewOverlap = 0.25;
namespace {

using Clock = std::chrono::steady_clock;
double secondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// A Feedback for engine calls that take Feedback* (metrics): forwards progress into a stage
// of the parent and follows the parent's cancellation.
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
  mutable std::mutex mutex;  // guards the shared_ptr snapshots read by other threads

  // inputs
  std::unique_ptr<SegmentationModel> model;
  std::shared_ptr<const ModelInfo> modelInfo;
  std::shared_ptr<const quant::QuantizableGraph> graph;
  std::string modelPath;
  std::shared_ptr<const ImageVolume> volume;
  std::string volumePath;
  std::shared_ptr<const LabelVolume> truth;
  std::string truthPath, truthLabelMap;

  // caches
  std::shared_ptr<const PreparedVolume> prepared;
  std::shared_ptr<const LabelVolume> fp32;
  torch::Tensor fp32ModelSpace;
  std::map<quant::CalibrationKey, std::shared_ptr<const quant::CalibrationData>> calibrations;
  // FP32 side of the layer analysis per calibration seed (quant::Fp32Capture): a further
  // configuration skips the FP32 run.
  std::map<uint32_t, std::unique_ptr<quant::Fp32Capture>> analysisCaptures;
  // The capture of one seed; the others are dropped, so at most one budget's worth of
  // memory (quant::Fp32Capture::defaultBudget) is held however many seeds are tried.
  quant::Fp32Capture& captureFor(uint32_t seed) {
    for (auto it = analysisCaptures.begin(); it != analysisCaptures.end();)
      it = it->first == seed ? std::next(it) : analysisCaptures.erase(it);
    auto& capture = analysisCaptures[seed];
    if (!capture) capture = std::make_unique<quant::Fp32Capture>();
    return *capture;
  }
  std::list<std::pair<quant::QuantConfig, std::shared_ptr<const LabelVolume>>> quantized;  // LRU, front = newest
  std::list<std::pair<std::pair<quant::QuantConfig, double>, std::shared_ptr<const ComparisonTable>>> tables;
  std::optional<SegmentationScores> fp32VsTruth;
  // Ground truth in model space: calibration centres half of its patches on foreground,
  // exactly like quant::QuantizationStudy (so GUI and CLI calibrate identically).
  torch::Tensor modelSpaceTruth;
  bool modelSpaceTruthReady = false;
  std::shared_ptr<const quant::LayerAnalysis> lastAnalysis;
  Counters counters;
  static constexpr size_t kQuantCacheSize = 3;

  void clearResults() {
    std::lock_guard<std::mutex> lock(mutex);
    prepared.reset();
    fp32.reset();
    fp32ModelSpace = torch::Tensor();
    calibrations.clear();
    analysisCaptures.clear();
    quantized.clear();
    tables.clear();
    fp32VsTruth.reset();
    modelSpaceTruth = torch::Tensor();
    modelSpaceTruthReady = false;
    lastAnalysis.reset();
  }
  // New ground truth: scores change, and so does calibration (foreground-centred patches),
  // hence every quantized result. The prepared volume and FP32 stay.
  void clearTruthDependent() {
    std::lock_guard<std::mutex> lock(mutex);
    tables.clear();
    fp32VsTruth.reset();
    calibrations.clear();
    analysisCaptures.clear();  // recorded on the old patches
    quantized.clear();
    modelSpaceTruth = torch::Tensor();
    modelSpaceTruthReady = false;
    lastAnalysis.reset();
  }

  std::shared_ptr<const LabelVolume> cachedQuantized(const quant::QuantConfig& key) {
    std::lock_guard<std::mutex> lock(mutex);
    for (auto it = quantized.begin(); it != quantized.end(); ++it)
      if (it->first == key) {
        quantized.splice(quantized.begin(), quantized, it);
        return quantized.front().second;
      }
    return nullptr;
  }
  void storeQuantized(const quant::QuantConfig& key, std::shared_ptr<const LabelVolume> v) {
    std::lock_guard<std::mutex> lock(mutex);
    quantized.remove_if([&](const auto& e) { return e.first == key; });
    quantized.emplace_front(key, std::move(v));
    while (quantized.size() > kQuantCacheSize) quantized.pop_back();
  }

  void requireInputs() const {
    if (!model) throw Error("no model loaded (File > Open model)");
    if (!volume) throw Error("no CT volume loaded (File > Open CT)");
  }

  const PreparedVolume& ensurePrepared(const FeedbackStage& stage) {
    if (!prepared) {
      auto pv = std::make_shared<PreparedVolume>(prepareVolume(*volume, model->metadata(), stage));
      std::lock_guard<std::mutex> lock(mutex);
      prepared = std::move(pv);
      ++counters.prepare;
    }
    return *prepared;
  }

  // The windows to run for a preview of the original-grid slice `slice` normal to index
  // axis `axis`: the model axis (0 = D, 1 = H, 2 = W) that axis became after
  // reorientation, and the model-space range covering the slice along it; nullopt when
  // there is nothing to preview or a preview would not be cheaper than the whole volume.
  struct PreviewRange {
    int modelAxis = 0;
    std::array<int64_t, 2> range{0, 0};
    double share = 0;  // preview windows / (preview + whole-volume windows): its progress share
  };
  std::optional<PreviewRange> previewRange(const PreparedVolume& pv, int axis, int slice) const {
    if (slice < 0 || axis < 0 || axis > 2) return std::nullopt;
    const AxisReorientation& r = pv.reorientation;
    int oriented = -1;  // oriented (x, y, z) axis that reads original axis `axis`
    for (int t = 0; t < 3; ++t)
      if (r.sourceAxis[static_cast<size_t>(t)] == axis) oriented = t;
    if (oriented < 0) return std::nullopt;
    const int64_t n = pv.originalGeometry.size[static_cast<size_t>(axis)];
    if (slice >= n) return std::nullopt;
    const int64_t index = r.flip[static_cast<size_t>(oriented)] ? n - 1 - slice : slice;
    PreviewRange p;
    p.modelAxis = pv.modelAxisOf(oriented);  // model D, H, W = oriented z, y, x (or x, y, z)
    p.range = pv.modelRangeForOrientedSlices(p.modelAxis, index, index);
    // Skip the preview when it would cost most of the whole volume anyway.
    const std::array<int64_t, 3> size{pv.input.size(2), pv.input.size(3), pv.input.size(4)};
    const auto& patch = model->metadata().patchSize;
    const size_t whole = planWindows(size, patch, InferenceOptions{}.overlap).starts.size();
    const size_t previewWindows = planPreviewWindows(pv, p).size();
    if (previewWindows * 4 >= whole * 3) return std::nullopt;
    p.share = double(previewWindows) / double(previewWindows + whole);
    return p;
  }
  static InferenceOptions previewOptions(const PreviewRange& p) {
    InferenceOptions o;
    o.depthRange = p.range;
    o.rangeAxis = p.modelAxis;
    o.previewSchedule = true;
    o.overlap = kPreviewOverlap;
    return o;
  }
  std::vector<std::array<int64_t, 3>> planPreviewWindows(const PreparedVolume& pv, const PreviewRange& p) const {
    return planInference(pv, model->metadata().patchSize, previewOptions(p)).starts;
  }

  std::vector<torch::Tensor> calibrationPatches(int count, uint32_t seed) {
    if (!modelSpaceTruthReady) {
      torch::Tensor t;
      if (truth) t = prepared->toModelSpace(*truth);
      std::lock_guard<std::mutex> lock(mutex);
      modelSpaceTruth = t;
      modelSpaceTruthReady = true;
    }
    return quant::sampleCalibrationPatches(*prepared, modelSpaceTruth, model->metadata().patchSize, count, seed);
  }

  std::shared_ptr<const quant::CalibrationData> ensureCalibration(const quant::QuantConfig& s,
                                                                  const FeedbackStage& stage) {
    const quant::CalibrationKey key = s.calibrationKey();
    {
      std::lock_guard<std::mutex> lock(mutex);
      auto it = calibrations.find(key);
      if (it != calibrations.end()) return it->second;
    }
    stage.report(0, "sampling patches");
    const auto patches = calibrationPatches(s.calibrationPatches, s.calibrationSeed);
    // The layer analysis runs on the first calibration patch: its FP32 side is recorded
    // while calibrating (within the capture's memory budget, one seed at a time), so
    // "Analyse layers" skips the FP32 run.
    quant::Fp32Capture& capture = captureFor(s.calibrationSeed);
    auto cal = std::make_shared<quant::CalibrationData>(
        capture.complete() ? quant::calibrate(*graph, patches, s.calibrationSeed, stage)
                           : quant::calibrateWithCapture(*graph, patches, s.calibrationSeed, stage, capture, 1));
    std::lock_guard<std::mutex> lock(mutex);
    calibrations[key] = cal;
    ++counters.calibrate;
    return cal;
  }

  std::shared_ptr<const ComparisonTable> buildTable(const quant::QuantConfig& s, const LabelVolume& q,
                                                    double tolerance, const FeedbackStage& stage) {
    const auto key = std::make_pair(s, tolerance);
    {
      std::lock_guard<std::mutex> lock(mutex);
      for (const auto& e : tables)
        if (e.first == key) return e.second;
    }
    const ModelMetadata& md = model->metadata();
    auto table = std::make_shared<ComparisonTable>();
    table->modelName = md.name;
    table->framework = md.framework;
    table->architecture = md.architecture;
    table->category = md.category;
    table->parameterCount = model->parameterCount();
    table->modelPath = modelPath;
    table->volumeName = volumePath;
    table->precision = s.precision.title();
    table->configuration = s.describe();
    table->toleranceMm = tolerance;
    table->haveTruth = truth != nullptr;
    const int parts = truth ? 3 : 1;
    int part = 0;
    auto next = [&](const char* label) {
      const double a = double(part) / parts, b = double(part + 1) / parts;
      ++part;
      return stage.sub(a, b, label);
    };
    ChildFeedback agreeFb(next("scoring vs FP32"));
    const SegmentationScores agree = scoreSegmentation(q, *fp32, md.classes, tolerance, agreeFb.get());
    SegmentationScores quantVsTruth, fp32Truth;
    if (truth) {
      if (!fp32VsTruth || fp32VsTruth->toleranceMm != tolerance) {
        ChildFeedback fb(next("scoring FP32 vs ground truth"));
        fp32VsTruth = scoreSegmentation(*fp32, *truth, md.classes, tolerance, fb.get());
      } else {
        ++part;
      }
      fp32Truth = *fp32VsTruth;
      ChildFeedback fb(next("scoring quantized vs ground truth"));
      quantVsTruth = scoreSegmentation(q, *truth, md.classes, tolerance, fb.get());
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
      if (truth) {
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
    if (truth) {
      table->meanFp32Dsc = fp32Truth.meanDsc;
      table->meanFp32Nsd = fp32Truth.meanNsd;
      table->meanQuantDsc = quantVsTruth.meanDsc;
      table->meanQuantNsd = quantVsTruth.meanNsd;
    }
    std::lock_guard<std::mutex> lock(mutex);
    tables.emplace_back(key, table);
    return table;
  }
};

AnalysisSession::AnalysisSession() : d(std::make_unique<Impl>()) { quant::registerQuantOperators(); }
AnalysisSession::~AnalysisSession() = default;

void AnalysisSession::loadModel(const std::string& path, Feedback* feedback) {
  if (feedback) feedback->report(0.0, "loading model");
  auto model = std::make_unique<SegmentationModel>(SegmentationModel::load(path, "cpu"));
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
  if (!volume || volume->voxels.empty() ||
      static_cast<int64_t>(volume->voxels.size()) != volume->geometry.voxelCount())
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
  d->clearTruthDependent();
  std::lock_guard<std::mutex> lock(d->mutex);
  d->truth = std::move(labels);
  d->truthPath = name;
  d->truthLabelMap.clear();
}

void AnalysisSession::clearGroundTruth() {
  d->clearTruthDependent();
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
  std::lock_guard<std::mutex> lock(d->mutex);
  return d->fp32;
}

std::shared_ptr<const LabelVolume> AnalysisSession::quantizedResult(const quant::QuantConfig& settings) const {
  const quant::QuantConfig& key = settings;
  std::lock_guard<std::mutex> lock(d->mutex);
  for (const auto& e : d->quantized)
    if (e.first == key) return e.second;
  return nullptr;
}

bool AnalysisSession::calibrationCached(const quant::QuantConfig& settings) const {
  std::lock_guard<std::mutex> lock(d->mutex);
  return d->calibrations.count(settings.calibrationKey()) > 0;
}

bool AnalysisSession::needsCalibration(const quant::QuantConfig& settings) const {
  if (settings.precision.floatingPoint || !d->graph) return false;
  return quant::QuantizedModel::needsCalibration(*d->graph, settings);
}

AnalysisSession::Counters AnalysisSession::counters() const {
  std::lock_guard<std::mutex> lock(d->mutex);
  return d->counters;
}

void AnalysisSession::run(const RunRequest& request, Feedback* feedback, const UpdateListener& listener) {
  d->requireInputs();
  const quant::QuantConfig& s = request.settings;
  const quant::QuantConfig& config = s;
  if (!s.precision.floatingPoint) {
    for (const auto& name : s.excludedOps)
      if (!d->graph->hasOp(name)) throw Error("excluded op '" + name + "' is not an op of " + d->modelPath);
  }
  const quant::QuantConfig& quantKey = s;
  auto emit = [&](RunUpdate u) {
    u.settings = s;
    if (listener) listener(u);
  };

  // What has to be computed, and progress shares roughly proportional to the time.
  const bool needPrepare = !d->prepared;
  const bool needFp32 = !d->fp32;
  auto cachedQ = d->cachedQuantized(quantKey);
  const bool needQuant = !cachedQ && !s.precision.floatingPoint;
  if (request.onlyIfCached && (needPrepare || needFp32 || needQuant)) return;
  const bool needCal = needQuant && needsCalibration(s) && !calibrationCached(s);
  // Progress spans in the order the steps run (previews before the whole volume), so the
  // bar never steps back; weights roughly proportional to the time. The preview's share
  // of an inference is its share of the windows, known once the volume is prepared.
  constexpr double kPrepare = 0.1, kFp32 = 1.0, kCalibrate = 0.3, kQuant = 1.5, kScores = 0.3;
  const double total = (needPrepare ? kPrepare : 0) + (needFp32 ? kFp32 : 0) + (needCal ? kCalibrate : 0) +
                       (needQuant ? kQuant : 0) + (request.computeScores ? kScores : 0);
  const double prepareEnd = needPrepare ? kPrepare / total : 0.0;

  // 1. model-space volume
  const PreparedVolume& pv = d->ensurePrepared(FeedbackStage(feedback, 0.0, prepareEnd, "preparing volume"));
  const auto preview = d->previewRange(pv, request.previewAxis, request.previewSlice);
  const double share = preview ? preview->share : 0.0;
  std::vector<std::pair<std::string, double>> parts;
  if (needFp32 && preview) parts.push_back({"fp32-preview", kFp32 * share});
  if (needCal) parts.push_back({"calibrate", kCalibrate});
  if (needQuant && preview) parts.push_back({"quant-preview", kQuant * share});
  if (needFp32) parts.push_back({"fp32", kFp32 * (1 - share)});
  if (needQuant) parts.push_back({"quant", kQuant * (1 - share)});
  if (request.computeScores) parts.push_back({"scores", kScores});
  std::map<std::string, std::pair<double, double>> span;
  double acc = prepareEnd * total;
  for (const auto& p : parts) {
    span[p.first] = {acc / total, (acc + p.second) / total};
    acc += p.second;
  }
  auto stageFor = [&](const std::string& part, const std::string& label) {
    auto it = span.find(part);
    if (it == span.end()) return FeedbackStage(feedback, 1, 1, label);
    return FeedbackStage(feedback, it->second.first, it->second.second, label);
  };

  // 2. previews first: the windows covering the slice on screen, FP32 then quantized, so
  //    the user sees the effect of a change at once; then the whole volume.
  std::shared_ptr<const LabelVolume> fp32Preview;
  std::unique_ptr<quant::QuantizedModel> qm;
  std::shared_ptr<const quant::CalibrationData> cal;
  if (preview && needFp32) {
    const auto t0 = Clock::now();
    InferenceResult r = runSlidingWindow(*d->model, pv, Impl::previewOptions(*preview), stageFor("fp32-preview", "FP32 preview"));
    fp32Preview = std::make_shared<LabelVolume>(std::move(r.labels));
    RunUpdate u;
    u.kind = RunUpdate::Kind::Fp32Preview;
    u.preview = true;
    u.previewSlice = request.previewSlice;
    u.previewAxis = request.previewAxis;
    u.fp32 = fp32Preview;
    u.seconds = secondsSince(t0);
    {
      std::lock_guard<std::mutex> lock(d->mutex);
      ++d->counters.previews;
    }
    emit(u);
  }
  // Calibration after the FP32 preview: the user sees the FP32 slice while it runs.
  if (needQuant) {
    if (quant::QuantizedModel::needsCalibration(*d->graph, config))
      cal = d->ensureCalibration(s, stageFor("calibrate", "calibrating"));
  }
  if (needQuant) qm = std::make_unique<quant::QuantizedModel>(d->graph, d->model->metadata(), config, cal.get());
  if (preview && needQuant) {
    const auto t0 = Clock::now();
    InferenceResult r = runSlidingWindow(*qm, pv, Impl::previewOptions(*preview),
                                         stageFor("quant-preview", s.precision.id() + " preview"));
    RunUpdate u;
    u.kind = RunUpdate::Kind::QuantPreview;
    u.preview = true;
    u.previewSlice = request.previewSlice;
    u.previewAxis = request.previewAxis;
    u.fp32 = d->fp32 ? d->fp32 : fp32Preview;
    u.quantized = std::make_shared<LabelVolume>(std::move(r.labels));
    if (u.fp32)
      u.difference = differenceVolume(*u.fp32, *u.quantized, request.previewSlice, &u.differingVoxels,
                                      request.previewAxis);
    u.seconds = secondsSince(t0);
    {
      std::lock_guard<std::mutex> lock(d->mutex);
      ++d->counters.previews;
    }
    emit(u);
  }

  // 3. FP32 on the whole volume (reused for every configuration)
  if (needFp32) {
    const auto t0 = Clock::now();
    InferenceResult r = runSlidingWindow(*d->model, pv, InferenceOptions{},
                                         stageFor("fp32", "FP32 inference"));
    auto labels = std::make_shared<const LabelVolume>(std::move(r.labels));
    {
      std::lock_guard<std::mutex> lock(d->mutex);
      d->fp32 = labels;
      d->fp32ModelSpace = r.modelSpaceLabels;
      ++d->counters.fp32;
    }
    RunUpdate u;
    u.kind = RunUpdate::Kind::Fp32;
    u.fp32 = labels;
    u.seconds = secondsSince(t0);
    emit(u);
  } else if (request.computeFp32) {
    RunUpdate u;
    u.kind = RunUpdate::Kind::Fp32;
    u.fp32 = d->fp32;
    u.fromCache = true;
    emit(u);
  }
  const std::shared_ptr<const LabelVolume> fp32 = d->fp32;

  // 4. quantized on the whole volume
  std::shared_ptr<const LabelVolume> q = cachedQ;
  if (!needQuant) {
    if (!q) {
      q = fp32;  // FP32 "quantization" is the FP32 model itself
      d->storeQuantized(quantKey, q);
    }
    RunUpdate u;
    u.kind = RunUpdate::Kind::Quant;
    u.fp32 = fp32;
    u.quantized = q;
    u.difference = differenceVolume(*fp32, *q, -1, &u.differingVoxels);
    u.fromCache = true;
    emit(u);
  } else {
    const auto t0 = Clock::now();
    InferenceResult r = runSlidingWindow(*qm, pv, InferenceOptions{},
                                         stageFor("quant", s.precision.id() + " inference"));
    q = std::make_shared<const LabelVolume>(std::move(r.labels));
    d->storeQuantized(quantKey, q);
    {
      std::lock_guard<std::mutex> lock(d->mutex);
      ++d->counters.quantized;
    }
    RunUpdate u;
    u.kind = RunUpdate::Kind::Quant;
    u.fp32 = fp32;
    u.quantized = q;
    u.difference = differenceVolume(*fp32, *q, -1, &u.differingVoxels);
    u.seconds = secondsSince(t0);
    emit(u);
  }

  // 5. scores
  if (request.computeScores) {
    const auto t0 = Clock::now();
    RunUpdate u;
    u.kind = RunUpdate::Kind::Scores;
    u.fp32 = fp32;
    u.quantized = q;
    u.table = d->buildTable(s, *q, request.toleranceMm, stageFor("scores", "scoring"));
    u.seconds = secondsSince(t0);
    emit(u);
  }
  if (feedback) feedback->report(1.0, "done");
}

bool AnalysisSession::layerAnalysisAvailable() { return true; }

std::shared_ptr<const quant::LayerAnalysisRows> AnalysisSession::analyzeLayers(const quant::QuantConfig& settings,
                                                                          Feedback* feedback) {
  d->requireInputs();
  if (settings.precision.floatingPoint) throw Error("layer analysis compares a quantized configuration with FP32: choose bits");
  const quant::QuantConfig& config = settings;
  for (const auto& name : settings.excludedOps)
    if (!d->graph->hasOp(name)) throw Error("excluded op '" + name + "' is not an op of " + d->modelPath);
  const FeedbackStage root(feedback, 0, 1, "");
  d->ensurePrepared(root.sub(0, 0.05, "preparing volume"));
  const auto cal = d->ensureCalibration(settings, root.sub(0.05, 0.35, "calibrating"));
  // Like quant::QuantizationStudy::analyze: the first calibration patch (foreground-centred
  // when ground truth is loaded).
  const auto patches = d->calibrationPatches(1, settings.calibrationSeed);
  quant::Fp32Capture& capture = d->captureFor(settings.calibrationSeed);
  auto analysis = std::make_shared<const quant::LayerAnalysis>(quant::analyzeLayers(
      *d->graph, d->model->metadata(), config, *cal, patches, root.sub(0.35, 1, "layer analysis"), &capture));
  auto result = std::make_shared<const quant::LayerAnalysisRows>(quant::plotRows(*analysis));
  std::lock_guard<std::mutex> lock(d->mutex);
  d->lastAnalysis = analysis;
  return result;
}

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

void AnalysisSession::writeLabels(const LabelVolume& labels, const std::string& path) {
  writeLabelMap(labels, path);
}

}  // namespace mqb::gui
