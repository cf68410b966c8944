#include "quant/LayerAnalysis.h"

#include <torch/csrc/jit/ir/ir.h>

#include <chrono>
#include <cmath>
#include <limits>

#include "Error.h"
#include "quant/QuantizedModel.h"

namespace mqb::quant {
namespace {

constexpr int kDistributionBins = 256;

struct ErrorSums {
  double yy = 0, ee = 0, yh = 0, hh = 0;
  int64_t n = 0;
  void add(const torch::Tensor& y, const torch::Tensor& yHat) {
    torch::Tensor a = y.to(torch::kFloat64).flatten(), b = yHat.to(torch::kFloat64).flatten();
    yy += a.dot(a).item<double>();
    hh += b.dot(b).item<double>();
    yh += a.dot(b).item<double>();
    torch::Tensor e = a - b;
    ee += e.dot(e).item<double>();
    n += a.numel();
  }
  LayerError result() const {
    LayerError r;
    r.sqnrDb = ee > 0 ? 10.0 * std::log10(yy / ee) : std::numeric_limits<double>::infinity();
    r.mse = n ? ee / n : 0;
    r.cosine = (yy > 0 && hh > 0) ? yh / std::sqrt(yy * hh) : (yy == hh ? 1.0 : 0.0);
    return r;
  }
};

// Keeps what the analysis needs of one run: every op's inputs and outputs.
class CaptureObserver : public HookObserver {
 public:
  explicit CaptureObserver(size_t ops) : inputs(ops), outputs(ops) {}
  void onInput(int op, int slot, const torch::Tensor& x) override { inputs[op][slot] = x.clone(); }
  void onOutput(int op, const torch::Tensor& y) override { outputs[op] = y.clone(); }
  std::vector<std::array<torch::Tensor, 2>> inputs;
  std::vector<torch::Tensor> outputs;
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

}  // namespace

std::vector<std::string> LayerAnalysis::sensitivityRanking() const {
  std::vector<const OpAnalysis*> q;
  for (const auto& op : ops)
    if (op.quantized) q.push_back(&op);
  std::stable_sort(q.begin(), q.end(), [](const OpAnalysis* a, const OpAnalysis* b) {
    return a->isolated.sqnrDb < b->isolated.sqnrDb;
  });
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

LayerAnalysis analyzeLayers(const QuantizableGraph& graph, const ModelMetadata& metadata, const QuantConfig& config,
                            const CalibrationData& calibration, const std::vector<torch::Tensor>& patches,
                            const FeedbackStage& stage) {
  if (patches.empty()) throw Error("layer analysis needs at least one patch");
  const auto start = std::chrono::steady_clock::now();
  torch::NoGradGuard noGrad;
  auto shared = std::shared_ptr<const QuantizableGraph>(&graph, [](const QuantizableGraph*) {});
  QuantConfig fp32Config = config;
  fp32Config.precision = Precision::fp32();
  fp32Config.opPrecision.clear();
  QuantizedModel fp32(shared, metadata, fp32Config, nullptr);
  QuantizedModel quantized(shared, metadata, config, &calibration);
  QuantizableGraph::GraphCopy nodes = graph.copyGraph();

  const size_t n = graph.ops().size();
  std::vector<ErrorSums> isolated(n), cumulative(n);
  std::vector<std::array<std::unique_ptr<Histogram>, 2>> fpHist(n), qHist(n);
  std::vector<std::array<std::vector<torch::Tensor>, 2>> fpInputs(n), qInputs(n);

  for (size_t p = 0; p < patches.size(); ++p) {
    stage.throwIfCanceled();
    CaptureObserver ref(n), cum(n);
    fp32.runtime().setObserver(&ref);
    fp32.predict(patches[p]);
    fp32.runtime().setObserver(nullptr);
    quantized.runtime().setObserver(&cum);
    quantized.predict(patches[p]);
    quantized.runtime().setObserver(nullptr);
    for (const QuantOp& op : graph.ops()) {
      stage.throwIfCanceled();
      // Isolated: this op alone quantized (its plan and weight), FP32 input.
      std::array<torch::Tensor, 2> qin;
      for (int s = 0; s < op.activationSlots; ++s) qin[s] = quantized.plan(op.index, s).apply(ref.inputs[op.index][s]);
      torch::Tensor weight = quantized.quantizedWeight(op.index);
      torch::Tensor yIso = runNode(nodes.nodes[op.index], op, qin, weight);
      isolated[op.index].add(ref.outputs[op.index], yIso);
      cumulative[op.index].add(ref.outputs[op.index], cum.outputs[op.index]);
      for (int s = 0; s < op.activationSlots; ++s) {
        fpInputs[op.index][s].push_back(ref.inputs[op.index][s]);
        qInputs[op.index][s].push_back(cum.inputs[op.index][s]);
      }
    }
    stage.report(double(p + 1) / patches.size(), "patch " + std::to_string(p + 1));
  }

  LayerAnalysis result;
  result.config = config;
  result.analysisPatches = static_cast<int>(patches.size());
  for (const QuantOp& op : graph.ops()) {
    OpAnalysis a;
    a.index = op.index;
    a.name = op.name;
    a.kind = opKindName(op.kind);
    a.quantized = !config.precisionOf(op.name).floatingPoint;
    a.isolated = isolated[op.index].result();
    a.cumulative = cumulative[op.index].result();
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
      Histogram fh, qh;
      for (const auto& t : fpInputs[op.index][s]) fh.add(t.contiguous());
      for (const auto& t : qInputs[op.index][s]) qh.add(t.contiguous());
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
nlohmann::json finite(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(v > 0 ? "inf" : "-inf"); }
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
