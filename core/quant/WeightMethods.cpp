#include "quant/WeightMethods.h"

#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <sstream>

#include "quant/FakeQuant.h"
#include "quant/Gptq.h"
#include "quant/QuantizedModel.h"
#include "quant/QuantRuntime.h"
#include "runtime/CancelPoint.h"
#include "runtime/JitGraph.h"
#include "support/Error.h"

namespace mqb::quant {
namespace {

using Clock = std::chrono::steady_clock;
double secondsSince(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Output positions sampled per patch for a Hessian: enough for the 27 * C columns of a 3-D
// convolution once summed over the patches, bounded so one X X^T product stays cheap.
constexpr int64_t kColumnsPerPatch = 4096;

// Thrown by an observer once it has what it needs from a forward: the rest of the model
// never runs, so each sequential step costs the model's prefix up to its op only.
constexpr const char* kStopMessage = "mqb: forward stopped after the observed op";

// Sees op `op`'s input as the op multiplies it (after its activation quantizer) and hands
// it to `take`; then stops the forward.
class OpInputTap : public HookObserver {
 public:
  OpInputTap(int op, const ActivationPlan& plan, std::function<void(const torch::Tensor&)> take)
      : op_(op), plan_(plan), take_(std::move(take)) {}
  void onInput(int op, int slot, const torch::Tensor& x) override {
    if (op != op_ || slot != 0) return;
    cancellableInForward([&] { take_(plan_.apply(x)); });
    seen_ = true;
    throw std::runtime_error(kStopMessage);
  }
  bool retainsInputs() const override { return true; }
  bool seen() const { return seen_; }

 private:
  int op_;
  const ActivationPlan& plan_;
  std::function<void(const torch::Tensor&)> take_;
  bool seen_ = false;
};

// Runs every patch through `model` up to op `op`'s input. False when no patch reached it.
bool tapOpInputs(QuantizedModel& model, int op, const std::vector<torch::Tensor>& patches,
                 const std::function<void(const torch::Tensor&)>& take, const FeedbackStage& stage) {
  OpInputTap tap(op, model.plan(op, 0), take);
  model.runtime().setObserver(&tap);
  bool reached = false;
  for (const torch::Tensor& patch : patches) {
    stage.throwIfCanceled();
    try {
      runWatched(stage.parent(), [&] { return model.predict(patch); });
    } catch (const Canceled&) {
      model.runtime().setObserver(nullptr);
      throw;
    } catch (const std::exception& e) {
      if (!tap.seen() || std::string(e.what()).find(kStopMessage) == std::string::npos) {
        model.runtime().setObserver(nullptr);
        throw;
      }
    }
    reached = reached || tap.seen();
  }
  model.runtime().setObserver(nullptr);
  return reached;
}

bool isConvolution(const std::string& aten) {
  return aten == "aten::conv1d" || aten == "aten::conv2d" || aten == "aten::conv3d" || aten == "aten::_convolution" ||
         aten == "aten::conv_transpose1d" || aten == "aten::conv_transpose2d" || aten == "aten::conv_transpose3d";
}

// The op applied to `x` with weight `w` and no bias: y_hat - y when w = W_hat - W.
torch::Tensor applyWithoutBias(const torch::Tensor& x, const torch::Tensor& w, const Contraction& c) {
  if (c.kind == ContractionKind::Linear) return torch::linear(x, w);
  const int64_t d = w.dim() - 2;
  auto expand = [d](const std::vector<int64_t>& v) {
    return v.size() == 1 ? std::vector<int64_t>(static_cast<size_t>(d), v[0]) : v;
  };
  if (c.kind == ContractionKind::TransposedConvolution)
    return at::convolution(x, w, {}, expand(c.stride), expand(c.padding), expand(c.dilation), true,
                           expand(c.outputPadding), c.groups);
  return at::convolution(x, w, {}, expand(c.stride), expand(c.padding), expand(c.dilation), false,
                         std::vector<int64_t>(static_cast<size_t>(d), 0), c.groups);
}

// Per output channel, the better of GPTQ's and round-to-nearest's levels under the op's
// calibration objective (H per group); writes the choice into `gptq`, returns how many rows
// kept round-to-nearest.
int64_t keepBetterRows(torch::Tensor& gptq, const torch::Tensor& rtn, const torch::Tensor& w,
                       const std::vector<torch::Tensor>& hessians, const Contraction& c) {
  torch::Tensor chosen = toRows(gptq, c), nearest = toRows(rtn, c);
  const torch::Tensor exact = toRows(w, c).to(torch::kDouble);
  const int64_t groups = static_cast<int64_t>(hessians.size()), perGroup = chosen.size(0) / groups;
  int64_t kept = 0;
  for (int64_t g = 0; g < groups; ++g) {
    const torch::Tensor& h = hessians[static_cast<size_t>(g)];
    auto rowError = [&](const torch::Tensor& q) {
      const torch::Tensor d = q.narrow(0, g * perGroup, perGroup).to(torch::kDouble) -
                              exact.narrow(0, g * perGroup, perGroup);
      return (d.matmul(h) * d).sum(1);
    };
    const torch::Tensor worse = rowError(chosen) > rowError(nearest);
    kept += worse.sum().item<int64_t>();
    chosen.narrow(0, g * perGroup, perGroup).index_put_({worse}, nearest.narrow(0, g * perGroup, perGroup).index({worse}));
  }
  gptq = fromRows(chosen, w.sizes(), c);
  return kept;
}

}  // namespace

std::string contractionOf(const QuantizableGraph& graph, const QuantOp& op, Contraction& out) {
  if (op.weightInputIndex < 0) return "no weight";
  if (!op.einsumEquation.empty()) return "einsum weights are not supported by the method yet";
  torch::jit::Node* n = graph.node(op);
  if (op.atenName == "aten::linear") {
    out = Contraction::linear();
    return "";
  }
  if (!isConvolution(op.atenName)) return op.atenName + " weights are not supported by the method yet";
  const int d = op.spatialDims;
  const bool transposed = op.kind == OpKind::ConvTranspose;
  int stride = 3, padding = 4, dilation = 5, outputPadding = -1, groups = 6;
  if (op.atenName == "aten::_convolution") {
    outputPadding = 7, groups = 8;
  } else if (transposed) {
    outputPadding = 5, groups = 6, dilation = 7;
  }
  auto s = constantIntList(n->input(static_cast<size_t>(stride)), d);
  auto p = constantIntList(n->input(static_cast<size_t>(padding)), d);
  auto dl = constantIntList(n->input(static_cast<size_t>(dilation)), d);
  auto g = constantInt(n->input(static_cast<size_t>(groups)));
  if (!s || !p || !dl || !g) return "stride, padding (e.g. 'same'), dilation or groups not constant integers";
  if (transposed) {
    auto op2 = constantIntList(n->input(static_cast<size_t>(outputPadding)), d);
    if (!op2) return "output padding not constant integers";
    out = Contraction::transposedConvolution(*s, *p, *op2, *g, *dl);
  } else {
    out = Contraction::convolution(*s, *p, *dl, *g);
  }
  return "";
}

// An op counts as skipped when no part of the method applied to it; a part that could not
// apply next to one that did (bias correction after GPTQ) is reported in `skipped` too.
int AdjustedWeights::skippedCount() const {
  int n = 0;
  for (const auto& r : ops) n += r.applied.empty() ? 1 : 0;
  return n;
}

std::string AdjustedWeights::summary() const {
  std::ostringstream s;
  s << method.id() << " on " << (ops.size() - static_cast<size_t>(skippedCount())) << "/" << ops.size() << " ops";
  if (skippedCount() > 0) {
    s << " (" << skippedCount() << " skipped";
    for (const auto& r : ops)
      if (r.applied.empty()) {
        s << ": " << r.op << ": " << r.skipped;
        break;
      }
    s << (skippedCount() > 1 ? ", ..." : "") << ")";
  }
  s.precision(1);
  s << std::fixed << " in " << seconds << " s, " << patches << " calibration patches";
  return s.str();
}

nlohmann::json AdjustedWeights::toJson() const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& r : ops) {
    nlohmann::json o = {{"op", r.op}, {"seconds", r.seconds}};
    if (!r.applied.empty()) o["applied"] = r.applied;
    if (!r.skipped.empty()) o["skipped"] = r.skipped;
    if (r.dampening > 0) o["dampening"] = r.dampening;
    if (r.rowsKeptRtn > 0) o["rows_kept_rtn"] = r.rowsKeptRtn;
    list.push_back(o);
  }
  return {{"method", method.id()}, {"title", method.title()},        {"ops", list},
          {"seconds", seconds},    {"calibration_patches", patches}, {"skipped", skippedCount()}};
}

std::shared_ptr<const AdjustedWeights> adjustWeights(
    std::shared_ptr<const QuantizableGraph> graph, const ModelMetadata& metadata, const QuantConfig& config,
    const CalibrationData* calibration, const std::vector<torch::Tensor>& patches, const FeedbackStage& stage) {
  bool anyQuantized = false;
  for (const QuantOp& op : graph->ops()) anyQuantized = anyQuantized || !precisionOf(config, op).floatingPoint;
  if (config.method.roundToNearest() || !anyQuantized) return nullptr;
  if (patches.empty()) throw Error("the method " + config.method.id() + " needs calibration patches");
  const auto t0 = Clock::now();
  torch::NoGradGuard noGrad;
  auto result = std::make_shared<AdjustedWeights>();
  result->method = config.method;
  result->patches = static_cast<int>(patches.size());
  const bool perTensor = config.granularity == Granularity::PerTensor;

  // The ops a method works on, with the reason for every one it cannot.
  struct Target {
    const QuantOp* op;
    Contraction contraction;
    size_t report;
  };
  std::vector<Target> targets;
  for (const QuantOp& op : graph->ops()) {
    if (op.weightInputIndex < 0) continue;
    MethodOpReport report;
    report.op = op.name;
    if (precisionOf(config, op).floatingPoint) continue;  // FP32 by the configuration: nothing to choose
    Contraction c;
    report.skipped = contractionOf(*graph, op, c);
    // A grouped transposed convolution's per-channel grid has Co/groups scales (weight axis 1)
    // for its Co output channels: GPTQ's rows would need the grid repeated per group.
    if (report.skipped.empty() && c.kind == ContractionKind::TransposedConvolution && c.groups > 1 && !perTensor &&
        config.method.weights == WeightMethod::Gptq)
      report.skipped = "GPTQ on a grouped transposed convolution with per-channel weights is not supported yet";
    if (report.skipped.empty()) targets.push_back({&op, c, result->ops.size()});
    result->ops.push_back(report);
  }

  const bool gptq = config.method.weights == WeightMethod::Gptq;
  const int passes = (gptq ? 1 : 0) + (config.method.biasCorrection ? 1 : 0);
  int step = 0;
  const double perStep = 1.0 / std::max<double>(1.0, double(passes * targets.size()));

  if (gptq) {
    GptqOptions options;
    options.dampening = config.method.gptqDampening;
    options.blockSize = config.method.gptqBlockSize;
    options.actOrder = config.method.gptqActOrder;
    for (const Target& t : targets) {
      const auto ts = Clock::now();
      const QuantOp& op = *t.op;
      MethodOpReport& report = result->ops[t.report];
      stage.report(step * perStep, "GPTQ " + op.name);
      const torch::Tensor w = graph->weight(op);
      const int64_t groups = t.contraction.groups;
      const int64_t columns = toRows(w, t.contraction).size(1);
      std::vector<HessianAccumulator> hessians;
      for (int64_t g = 0; g < groups; ++g) hessians.emplace_back(columns);
      // One generator per op and seed: the sampled positions do not depend on other ops.
      at::Generator generator =
          at::make_generator<at::CPUGeneratorImpl>(config.calibrationSeed * 1000003ull + op.index);
      QuantizedModel m(graph, metadata, config, calibration, true, result.get());
      const bool reached = tapOpInputs(
          m, op.index, patches,
          [&](const torch::Tensor& x) {
            const ContractionColumns cols = contractionColumns(x, w, t.contraction, kColumnsPerPatch, generator);
            for (size_t g = 0; g < cols.groups.size(); ++g) hessians[g].add(cols.groups[g]);
          },
          stage.sub(step * perStep, (step + 1) * perStep, "GPTQ " + op.name));
      if (!reached) {
        report.skipped = "not reached by the calibration patches";
      } else {
        std::vector<torch::Tensor> h;
        for (auto& acc : hessians) h.push_back(acc.hessian());
        const int bits = precisionOf(config, op).weightBits;
        const QuantGrid grid = weightGrid(w, perTensor ? kPerTensor : op.weightChannelAxis, bits, true);
        try {
          GptqResult q = gptqQuantizeWeight(w, t.contraction, h, grid, options);
          // Rows (output channels) are independent under the shared Hessian: a row whose GPTQ
          // levels give a larger calibration error tr(dW H dW^T) than round-to-nearest keeps
          // round-to-nearest (a coarse per-tensor grid can clamp GPTQ's compensation away).
          const int64_t kept = keepBetterRows(q.weight, fakeQuant(w, grid), w, h, t.contraction);
          result->weights[op.index] = q.weight.contiguous();
          report.applied = "gptq";
          report.dampening = q.dampening;
          report.rowsKeptRtn = kept;
        } catch (const Error& e) {
          throw Error("GPTQ on " + op.name + ": " + e.what());
        }
      }
      report.seconds += secondsSince(ts);
      ++step;
    }
  }

  if (config.method.biasCorrection) {
    for (const Target& t : targets) {
      const auto ts = Clock::now();
      const QuantOp& op = *t.op;
      MethodOpReport& report = result->ops[t.report];
      stage.report(step * perStep, "bias correction " + op.name);
      if (!report.skipped.empty()) {
        ++step;
        continue;
      }
      const c10::optional<torch::Tensor> bias = graph->bias(op);
      std::string why;
      if (graph->biasInputIndex(op) < 0)
        why = "no bias input to correct";
      else if (!bias && !graph->biasIsConstant(op))
        why = "its bias is computed in the graph, not a constant";
      if (!why.empty()) {
        report.skipped = report.applied.empty() ? why : "bias correction: " + why;
        ++step;
        continue;
      }
      QuantizedModel m(graph, metadata, config, calibration, true, result.get());
      const torch::Tensor delta = m.quantizedWeight(op.index) - graph->weight(op);
      const int64_t channels =
          delta.size(outputChannelAxis(t.contraction.kind)) *
          (t.contraction.kind == ContractionKind::TransposedConvolution ? t.contraction.groups : 1);
      torch::Tensor sum = torch::zeros({channels}, torch::kDouble);
      int64_t count = 0;
      const bool reached = tapOpInputs(
          m, op.index, patches,
          [&](const torch::Tensor& x) {
            torch::Tensor shift = applyWithoutBias(x, delta, t.contraction).to(torch::kDouble);
            if (t.contraction.kind == ContractionKind::Linear) {
              shift = shift.reshape({-1, shift.size(-1)});
              count += shift.size(0);
              sum += shift.sum(0);
            } else {
              shift = shift.transpose(0, 1).reshape({shift.size(1), -1});
              count += shift.size(1);
              sum += shift.sum(1);
            }
          },
          stage.sub(step * perStep, (step + 1) * perStep, "bias correction " + op.name));
      if (!reached || count == 0) {
        report.skipped = report.applied.empty() ? "not reached by the calibration patches"
                                                : "bias correction: not reached by the calibration patches";
      } else {
        torch::Tensor b = bias ? bias->to(torch::kFloat).clone() : torch::zeros({channels}, torch::kFloat);
        b -= (sum / static_cast<double>(count)).to(torch::kFloat);
        result->biases[op.index] = b;
        report.applied = report.applied.empty() ? "bias-correction" : report.applied + "+bias-correction";
      }
      report.seconds += secondsSince(ts);
      ++step;
    }
  }
  stage.report(1.0, "");
  result->seconds = secondsSince(t0);
  return result;
}

}  // namespace mqb::quant
