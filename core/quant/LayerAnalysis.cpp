#include "quant/LayerAnalysis.h"

#include <torch/csrc/jit/ir/ir.h>

#include <ATen/Parallel.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <deque>
#include <cmath>
#include <limits>
#include <optional>

#include "runtime/CancelPoint.h"
#include "support/Error.h"
#include "quant/QuantizedModel.h"

namespace mqb::quant {
namespace {

constexpr int kDistributionBins = 256;
constexpr int kRunHistogramBins = 1024;

// Sums behind SQNR, MSE and cosine of y_hat against y, fused into one pass over the two
// float32 tensors: float lanes over short blocks (vectorised), double across blocks and
// chunks, chunks summed in a fixed order so the result does not depend on the thread count.
struct ErrorSums {
  double yy = 0, ee = 0, yh = 0, hh = 0;
  int64_t n = 0;

  void add(const torch::Tensor& y0, const torch::Tensor& h0) {
    if (y0.sizes() != h0.sizes()) throw Error("layer analysis: FP32 and quantized outputs differ in shape");
    const torch::Tensor y = y0.to(torch::kFloat).contiguous(), h = h0.to(torch::kFloat).contiguous();
    const float* a = y.data_ptr<float>();
    const float* b = h.data_ptr<float>();
    const int64_t count = y.numel();
    constexpr int64_t kChunk = int64_t{1} << 16;
    constexpr int64_t kBlock = 512;
    constexpr int kLanes = 16;
    const int64_t chunks = (count + kChunk - 1) / kChunk;
    std::vector<std::array<double, 4>> part(static_cast<size_t>(chunks));
    at::parallel_for(0, chunks, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        const int64_t lo = c * kChunk, hi = std::min(count, lo + kChunk);
        double s[4] = {0, 0, 0, 0};
        int64_t i = lo;
        for (; i + kBlock <= hi; i += kBlock) {
          float yyL[kLanes] = {}, hhL[kLanes] = {}, yhL[kLanes] = {}, eeL[kLanes] = {};
          for (int64_t k = 0; k < kBlock; k += kLanes)
            for (int j = 0; j < kLanes; ++j) {
              const float u = a[i + k + j], v = b[i + k + j], e = u - v;
              yyL[j] += u * u;
              hhL[j] += v * v;
              yhL[j] += u * v;
              eeL[j] += e * e;
            }
          for (int j = 0; j < kLanes; ++j) {
            s[0] += yyL[j];
            s[1] += eeL[j];
            s[2] += yhL[j];
            s[3] += hhL[j];
          }
        }
        for (; i < hi; ++i) {
          const double u = a[i], v = b[i], e = u - v;
          s[0] += u * u;
          s[1] += e * e;
          s[2] += u * v;
          s[3] += v * v;
        }
        part[static_cast<size_t>(c)] = {s[0], s[1], s[2], s[3]};
      }
    });
    for (const auto& p : part) {
      yy += p[0];
      ee += p[1];
      yh += p[2];
      hh += p[3];
    }
    n += count;
  }
  // y compared with itself (an op kept in FP32): no pass over the data needed beyond yy.
  void addIdentical(const torch::Tensor& y0) {
    const torch::Tensor y = y0.to(torch::kFloat).flatten();
    const double s = y.dot(y).item<double>();
    yy += s;
    hh += s;
    yh += s;
    n += y.numel();
  }
  LayerError result() const {
    LayerError r;
    r.sqnrDb = ee > 0 ? 10.0 * std::log10(yy / ee) : std::numeric_limits<double>::infinity();
    r.mse = n ? ee / n : 0;
    r.cosine = (yy > 0 && hh > 0) ? yh / std::sqrt(yy * hh) : (yy == hh ? 1.0 : 0.0);
    return r;
  }
};

std::string schemeName(const ActivationPlan& p, const QuantOp& op) {
  switch (p.mode) {
    case ActivationPlan::Mode::PassThrough: return "fp32";
    case ActivationPlan::Mode::Static: return p.grid.axis < 0 ? "static per-tensor" : "static per-channel";
    case ActivationPlan::Mode::Dynamic:
      return (op.kind == OpKind::Conv || op.kind == OpKind::ConvTranspose) ? "dynamic per-voxel" : "dynamic per-token";
  }
  return "?";
}

double wasserstein1(const HistogramBins& a, const HistogramBins& b) {
  if (a.counts.empty() || a.counts.size() != b.counts.size()) return 0;
  double ta = 0, tb = 0;
  for (size_t i = 0; i < a.counts.size(); ++i) {
    ta += a.counts[i];
    tb += b.counts[i];
  }
  if (ta <= 0 || tb <= 0) return 0;
  double ca = 0, cb = 0, w = 0;
  for (size_t i = 0; i < a.counts.size(); ++i) {
    ca += a.counts[i] / ta;
    cb += b.counts[i] / tb;
    w += std::abs(ca - cb) * (a.edges[i + 1] - a.edges[i]);
  }
  return w;
}

// Runs one node of the graph alone on the given inputs (constants for everything else).
torch::Tensor runNode(torch::jit::Node* node, const QuantOp& op, const std::array<torch::Tensor, 2>& slotInputs,
                      const torch::Tensor& weight) {
  torch::jit::Stack stack;
  for (size_t i = 0; i < node->inputs().size(); ++i) {
    int slot = -1;
    for (int s = 0; s < op.activationSlots; ++s)
      if (op.slotInputIndex[s] == static_cast<int>(i)) slot = s;
    if (slot >= 0) {
      stack.emplace_back(slotInputs[slot]);
    } else if (static_cast<int>(i) == op.weightInputIndex && weight.defined()) {
      stack.emplace_back(weight);
    } else {
      auto c = torch::jit::toIValue(node->input(i));
      if (!c) throw Error("op '" + op.name + "' has a non-constant argument; isolated error unavailable");
      stack.push_back(*c);
    }
  }
  node->getOperation()(stack);
  return stack.back().toTensor();
}

// What both runs of the analysis accumulate, per op.
struct AnalysisState {
  // The run histograms are only shown resampled to kDistributionBins common bins, so 1024
  // native bins per side are plenty, and their counters stay in the L1 cache.
  explicit AnalysisState(size_t ops)
      : isolated(ops),
        cumulative(ops),
        fpHist(ops, {Histogram(kRunHistogramBins), Histogram(kRunHistogramBins)}),
        qHist(ops, {Histogram(kRunHistogramBins), Histogram(kRunHistogramBins)}) {}
  std::vector<ErrorSums> isolated, cumulative;
  std::vector<std::array<Histogram, 2>> fpHist, qHist;
};

// The isolated error of one call of an op: this op alone quantized (its activation plans
// and weight) on its FP32 input, against its FP32 output. Re-runs only this node.
void addIsolated(ErrorSums& sums, const QuantOp& op, bool quantizedOp, const QuantizedModel& quantized,
                 torch::jit::Node* node, const std::array<torch::Tensor, 2>& fpInputs, const torch::Tensor& fpOutput) {
  if (!quantizedOp) {
    sums.addIdentical(fpOutput);
    return;
  }
  std::array<torch::Tensor, 2> qin;
  for (int s = 0; s < op.activationSlots; ++s) qin[s] = quantized.plan(op.index, s).apply(fpInputs[s]);
  sums.add(fpOutput, runNode(node, op, qin, quantized.quantizedWeight(op.index)));
}

}  // namespace

// The FP32 run. Everything that needs the FP32 inputs is done while they are alive, right
// after the op ran: their histogram and the isolated error. The op outputs are kept for
// the cumulative comparison (by reference when nothing writes into them later), and, when
// a capture is being recorded, the inputs too (by reference when nothing writes into them).
class Fp32PassObserver : public HookObserver {
 public:
  Fp32PassObserver(const QuantizableGraph& graph, const QuantizedModel& quantized,
                   const std::vector<bool>& isQuantized, const std::vector<torch::jit::Node*>& nodes,
                   AnalysisState& state, const FeedbackStage& stage, Fp32Capture::Patch& record, Fp32Capture* capture)
      : graph_(graph),
        quantized_(quantized),
        isQuantized_(isQuantized),
        nodes_(nodes),
        state_(state),
        stage_(stage),
        record_(record),
        capture_(capture),
        inputs_(graph.ops().size()) {}
  void onInput(int op, int slot, const torch::Tensor& x) override {
    inputs_[op][slot] = x;
    cancellableInForward([&] { state_.fpHist[op][slot].add(x, stage_.parent()); });
  }
  void onOutput(int op, const torch::Tensor& y) override {
    cancellableInForward([&] { stage_.throwIfCanceled(); });
    const size_t i = static_cast<size_t>(op);
    const QuantOp& q = graph_.ops()[i];
    addIsolated(state_.isolated[i], q, isQuantized_[i], quantized_, nodes_[i], inputs_[i], y);
    const torch::Tensor kept = q.outputStable ? y : y.clone();
    record_.outputs[i].push_back(kept);
    if (capture_) capture_->keepInputs(record_, q, inputs_[i], kept);
    inputs_[i] = {};
  }

 private:
  const QuantizableGraph& graph_;
  const QuantizedModel& quantized_;
  const std::vector<bool>& isQuantized_;
  const std::vector<torch::jit::Node*>& nodes_;
  AnalysisState& state_;
  const FeedbackStage& stage_;
  Fp32Capture::Patch& record_;
  Fp32Capture* capture_;
  std::vector<std::array<torch::Tensor, 2>> inputs_;
};

// The FP32 side of a capture recorded during calibration: inputs, outputs and run
// histograms, no isolated errors (the config is not known yet).
class Fp32CaptureRecorder : public HookObserver {
 public:
  Fp32CaptureRecorder(const QuantizableGraph& graph, Fp32Capture& capture)
      : graph_(graph), capture_(capture), inputs_(graph.ops().size()) {}
  HookObserver* forPatch(size_t p) {
    if (p >= capture_.patches_.size() || capture_.overflow_) return nullptr;
    record_ = &capture_.patches_[p];
    record_->inputs.assign(graph_.ops().size(), {});
    record_->outputs.assign(graph_.ops().size(), {});
    return this;
  }
  void onInput(int op, int slot, const torch::Tensor& x) override {
    if (capture_.overflow_) return;
    inputs_[op][slot] = x;
    capture_.histograms_[op][slot].add(x);
  }
  void onOutput(int op, const torch::Tensor& y) override {
    const size_t i = static_cast<size_t>(op);
    if (!capture_.overflow_) {
      const QuantOp& q = graph_.ops()[i];
      const torch::Tensor kept = q.outputStable ? y : y.clone();
      record_->outputs[i].push_back(kept);
      capture_.keepInputs(*record_, q, inputs_[i], kept);
      if (capture_.overflow_)  // outputs without inputs are of no use to a later analysis
        for (auto& patch : capture_.patches_) patch.outputs.clear();
    }
    inputs_[i] = {};
  }

 private:
  const QuantizableGraph& graph_;
  Fp32Capture& capture_;
  Fp32Capture::Patch* record_ = nullptr;
  std::vector<std::array<torch::Tensor, 2>> inputs_;
};

CalibrationData calibrateWithCapture(const QuantizableGraph& graph, const std::vector<torch::Tensor>& patches,
                                     uint32_t seed, const FeedbackStage& stage, Fp32Capture& capture,
                                     size_t capturePatches) {
  capture.clear();
  capturePatches = std::min(capturePatches, patches.size());
  capture.patches_.resize(capturePatches);
  capture.histograms_.assign(graph.ops().size(), {Histogram(kRunHistogramBins), Histogram(kRunHistogramBins)});
  Fp32CaptureRecorder recorder(graph, capture);
  CalibrationData data = calibrate(
      graph, patches, seed, stage, [&](size_t p) { return recorder.forPatch(p); }, capturePatches);
  if (capture.overflow_ || capturePatches == 0) {
    capture.clear();
  } else {
    capture.patchInputs_.assign(patches.begin(), patches.begin() + static_cast<std::ptrdiff_t>(capturePatches));
    capture.complete_ = true;
  }
  return data;
}

namespace {

// The quantized (cumulative) run: input histograms before quantization, output error
// against the FP32 run as soon as the op ran. Keeps nothing, so inputs the graph never
// reads again are quantized in place as in plain quantized inference.
class QuantizedPassObserver : public HookObserver {
 public:
  QuantizedPassObserver(AnalysisState& state, const std::vector<std::vector<torch::Tensor>>& fpOutputs,
                        const FeedbackStage& stage)
      : state_(state), fpOutputs_(fpOutputs), calls_(fpOutputs.size(), 0), stage_(stage) {}
  void onInput(int op, int slot, const torch::Tensor& x) override {
    cancellableInForward([&] { state_.qHist[op][slot].add(x, stage_.parent()); });
  }
  void onOutput(int op, const torch::Tensor& y) override {
    cancellableInForward([&] { stage_.throwIfCanceled(); });
    const size_t i = static_cast<size_t>(op);
    if (calls_[i] >= fpOutputs_[i].size())
      throw Error("layer analysis: the quantized run executed an op more often than the FP32 run");
    state_.cumulative[i].add(fpOutputs_[i][calls_[i]++], y);
  }
  bool retainsInputs() const override { return false; }

 private:
  AnalysisState& state_;
  const std::vector<std::vector<torch::Tensor>>& fpOutputs_;
  std::vector<size_t> calls_;
  const FeedbackStage& stage_;
};

}  // namespace

std::vector<std::string> LayerAnalysis::sensitivityRanking() const {
  std::vector<const OpAnalysis*> q;
  for (const auto& op : ops)
    if (op.quantized) q.push_back(&op);
  std::stable_sort(q.begin(), q.end(),
                   [](const OpAnalysis* a, const OpAnalysis* b) { return a->isolated.sqnrDb < b->isolated.sqnrDb; });
  std::vector<std::string> names;
  for (const auto* op : q) names.push_back(op->name);
  return names;
}

QuantConfig keepMostSensitiveInFp32(const QuantConfig& config, const LayerAnalysis& analysis, int k) {
  if (k < 0) throw Error("k must be >= 0");
  QuantConfig c = config;
  const auto ranking = analysis.sensitivityRanking();
  for (int i = 0; i < k && i < static_cast<int>(ranking.size()); ++i) c.excludedOps.insert(ranking[i]);
  return c;
}

bool Fp32Capture::matches(const std::vector<torch::Tensor>& patches) const {
  if (!complete_ || patches.size() != patchInputs_.size()) return false;
  for (size_t i = 0; i < patches.size(); ++i)
    if (!patches[i].sizes().equals(patchInputs_[i].sizes()) || !torch::equal(patches[i], patchInputs_[i]))
      return false;
  return true;
}

void Fp32Capture::keepInputs(Patch& record, const QuantOp& op, const std::array<torch::Tensor, 2>& inputs,
                             const torch::Tensor& keptOutput) {
  if (overflow_) return;
  std::array<torch::Tensor, 2> in;
  for (int s = 0; s < op.activationSlots; ++s) {
    in[s] = op.inputStable[s] ? inputs[s] : inputs[s].clone();
    bytes_ += in[s].nbytes();
  }
  bytes_ += keptOutput.nbytes();
  record.inputs[static_cast<size_t>(op.index)].push_back(std::move(in));
  if (bytes_ > budget_) {
    overflow_ = true;
    for (auto& patch : patches_) patch.inputs.clear();
  }
}

void Fp32Capture::clear() {
  patches_.clear();
  patchInputs_.clear();
  histograms_.clear();
  bytes_ = 0;
  complete_ = false;
  overflow_ = false;
}

size_t Fp32Capture::defaultBudget() {
  const long pages = sysconf(_SC_PHYS_PAGES), pageSize = sysconf(_SC_PAGESIZE);
  const size_t physical = pages > 0 && pageSize > 0 ? size_t(pages) * size_t(pageSize) : size_t{8} << 30;
  return physical / 16;
}

LayerAnalysis analyzeLayers(const QuantizableGraph& graph, const ModelMetadata& metadata, const QuantConfig& config,
                            const CalibrationData& calibration, const std::vector<torch::Tensor>& patches,
                            const FeedbackStage& stage, Fp32Capture* capture, const AdjustedWeights* adjusted) {
  if (patches.empty()) throw Error("layer analysis needs at least one patch");
  const auto start = std::chrono::steady_clock::now();
  torch::NoGradGuard noGrad;
  // The quantized model's construction computes every calibration grid (seconds for the
  // entropy search over many channels) without a Feedback of its own: it watches this one.
  std::optional<CancelScope> watch;
  if (stage.parent()) watch.emplace(stage.parent());
  auto shared = std::shared_ptr<const QuantizableGraph>(&graph, [](const QuantizableGraph*) {});
  QuantConfig fp32Config = config;
  fp32Config.precision = Precision::fp32();
  fp32Config.opPrecision.clear();
  QuantizedModel fp32(shared, metadata, fp32Config, nullptr);
  QuantizedModel quantized(shared, metadata, config, &calibration, true, adjusted);
  QuantizableGraph::GraphCopy nodes = graph.copyGraph();

  const size_t n = graph.ops().size();
  std::vector<bool> isQuantized(n);
  for (const QuantOp& op : graph.ops()) isQuantized[op.index] = !precisionOf(config, op).floatingPoint;
  AnalysisState state(n);
  const bool reuse = capture && capture->matches(patches);
  Fp32Capture* record = capture && !reuse ? capture : nullptr;
  if (record) {
    record->clear();
    record->patches_.resize(patches.size());
  }
  if (reuse) state.fpHist = capture->histograms_;

  for (size_t p = 0; p < patches.size(); ++p) {
    stage.throwIfCanceled();
    Fp32Capture::Patch local;
    Fp32Capture::Patch& fp = reuse || record ? capture->patches_[p] : local;
    struct Detach {
      QuantizedModel& a;
      QuantizedModel& b;
      ~Detach() {
        a.runtime().setObserver(nullptr);
        b.runtime().setObserver(nullptr);
      }
    } detach{fp32, quantized};
    if (reuse) {
      // The FP32 run is in the capture: only the isolated re-runs of each op.
      for (const QuantOp& op : graph.ops())
        for (size_t c = 0; c < fp.outputs[op.index].size(); ++c) {
          stage.throwIfCanceled();
          addIsolated(state.isolated[op.index], op, isQuantized[op.index], quantized, nodes.nodes[op.index],
                      fp.inputs[op.index][c], fp.outputs[op.index][c]);
        }
    } else {
      fp.inputs.assign(n, {});
      fp.outputs.assign(n, {});
      Fp32PassObserver reference(graph, quantized, isQuantized, nodes.nodes, state, stage, fp, record);
      fp32.runtime().setObserver(&reference);
      runWatched(stage.parent(), [&] { return fp32.predict(patches[p]); });
      fp32.runtime().setObserver(nullptr);
    }
    stage.report((p + 0.5) / patches.size(), "patch " + std::to_string(p + 1) + ": quantized run");
    QuantizedPassObserver cumulative(state, fp.outputs, stage);
    quantized.runtime().setObserver(&cumulative);
    runWatched(stage.parent(), [&] { return quantized.predict(patches[p]); });
    quantized.runtime().setObserver(nullptr);
    stage.report(double(p + 1) / patches.size(), "patch " + std::to_string(p + 1));
  }
  if (record) {
    if (record->overflow_) {
      record->clear();
    } else {
      record->histograms_ = state.fpHist;
      record->patchInputs_ = patches;
      record->complete_ = true;
    }
  }

  LayerAnalysis result;
  result.config = config;
  result.analysisPatches = static_cast<int>(patches.size());
  for (const QuantOp& op : graph.ops()) {
    stage.throwIfCanceled();
    OpAnalysis a;
    a.index = op.index;
    a.name = op.name;
    a.kind = opKindName(op.kind);
    a.quantized = isQuantized[op.index];
    a.isolated = state.isolated[op.index].result();
    a.cumulative = state.cumulative[op.index].result();
    for (int s = 0; s < op.activationSlots; ++s) {
      InputDistribution d;
      d.slot = s;
      const ActivationPlan& plan = quantized.plan(op.index, s);
      d.scheme = schemeName(plan, op);
      const SlotStatistics& st = calibration.at(op.index, s);
      const Histogram& h = st.perTensor->tensorHistogram();
      const double lo = h.min(), hi = h.max();
      d.calibration = h.resampled(std::max(kDistributionBins, 512), lo, hi > lo ? hi : lo + 1e-6);
      if (plan.mode == ActivationPlan::Mode::Static) {
        d.clipLow = std::numeric_limits<double>::infinity();
        d.clipHigh = -d.clipLow;
        double outside = 0, total = 0;
        for (size_t g = 0; g < plan.grid.groups.size(); ++g) {
          const GroupGrid& gg = plan.grid.groups[g];
          const double cl = gg.scale * gg.lo, ch = gg.scale * gg.hi;
          d.clipLow = std::min(d.clipLow, cl);
          d.clipHigh = std::max(d.clipHigh, ch);
          const Histogram& gh = plan.grid.axis < 0 ? h : st.perChannel->groupHistogram(static_cast<int64_t>(g));
          outside += gh.fractionOutside(cl, ch) * gh.count();
          total += gh.count();
        }
        d.clippedFraction = total > 0 ? outside / total : 0;
        if (plan.grid.axis < 0) {
          const GroupGrid& gg = plan.grid.groups[0];
          for (int k = static_cast<int>(gg.lo); k <= static_cast<int>(gg.hi); ++k) d.levels.push_back(gg.scale * k);
        }
      }
      // FP32 vs cumulative-quantized input, on common bins.
      const Histogram& fh = state.fpHist[op.index][s];
      const Histogram& qh = state.qHist[op.index][s];
      const double rlo = std::min<double>(fh.min(), qh.min()), rhi = std::max<double>(fh.max(), qh.max());
      if (std::isfinite(rlo) && std::isfinite(rhi) && rhi > rlo) {
        d.fp32Run = fh.resampled(kDistributionBins, rlo, rhi);
        d.quantizedRun = qh.resampled(kDistributionBins, rlo, rhi);
        d.wasserstein1 = wasserstein1(d.fp32Run, d.quantizedRun);
      }
      a.inputs.push_back(std::move(d));
    }
    if (op.weightInputIndex >= 0) {
      torch::Tensor w = torch::jit::toIValue(nodes.nodes[op.index]->input(op.weightInputIndex))->toTensor();
      torch::Tensor wc = w.movedim(op.weightChannelAxis, 0).flatten(1);
      torch::Tensor mn = std::get<0>(wc.min(1)).contiguous(), mx = std::get<0>(wc.max(1)).contiguous();
      a.weightChannelMin.assign(mn.data_ptr<float>(), mn.data_ptr<float>() + mn.numel());
      a.weightChannelMax.assign(mx.data_ptr<float>(), mx.data_ptr<float>() + mx.numel());
    }
    result.ops.push_back(std::move(a));
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

namespace {
nlohmann::json finite(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(v > 0 ? "inf" : "-inf");
}
nlohmann::json binsJson(const HistogramBins& b) { return {{"edges", b.edges}, {"counts", b.counts}}; }
nlohmann::json errorJson(const LayerError& e) {
  return {{"sqnr_db", finite(e.sqnrDb)}, {"mse", e.mse}, {"cosine", e.cosine}};
}
}  // namespace

nlohmann::json LayerAnalysis::toJson() const {
  nlohmann::json jops = nlohmann::json::array();
  for (const auto& op : ops) {
    nlohmann::json inputs = nlohmann::json::array();
    for (const auto& d : op.inputs)
      inputs.push_back({{"slot", d.slot},
                        {"scheme", d.scheme},
                        {"calibration_histogram", binsJson(d.calibration)},
                        {"clip_range", {d.clipLow, d.clipHigh}},
                        {"levels", d.levels},
                        {"clipped_fraction", d.clippedFraction},
                        {"fp32_histogram", binsJson(d.fp32Run)},
                        {"quantized_histogram", binsJson(d.quantizedRun)},
                        {"wasserstein1", d.wasserstein1}});
    jops.push_back({{"index", op.index},
                    {"name", op.name},
                    {"kind", op.kind},
                    {"quantized", op.quantized},
                    {"isolated", errorJson(op.isolated)},
                    {"cumulative", errorJson(op.cumulative)},
                    {"inputs", inputs},
                    {"weight_channel_min", op.weightChannelMin},
                    {"weight_channel_max", op.weightChannelMax}});
  }
  return {{"config", config.toJson()},
          {"analysis_patches", analysisPatches},
          {"seconds", seconds},
          {"sensitivity_ranking", sensitivityRanking()},
          {"ops", jops}};
}

}  // namespace mqb::quant
