#include "quant/QuantCoverage.h"

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/library.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <map>
#include <mutex>

#include "quant/EinsumContraction.h"

namespace mqb::quant {
namespace {

// Shapes seen by the probe operator, per measurement run and probe key, in call order.
struct ShapeLog {
  std::mutex mutex;
  std::map<int64_t, std::map<int64_t, std::vector<std::vector<int64_t>>>> runs;
};
ShapeLog& shapeLog() {
  static ShapeLog log;
  return log;
}

torch::Tensor probeShape(const torch::Tensor& x, int64_t run, int64_t key) {
  ShapeLog& log = shapeLog();
  std::lock_guard<std::mutex> lock(log.mutex);
  log.runs[run][key].push_back(x.sizes().vec());
  return x;
}

// A probe key: contraction position and which tensor (input index, or kOutput).
constexpr int64_t kSlots = 16;
constexpr int64_t kOutput = kSlots - 1;
int64_t probeKey(size_t position, int64_t which) { return static_cast<int64_t>(position) * kSlots + which; }

int64_t numel(const std::vector<int64_t>& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

// MACs of one call of a contraction node from its operands' and output's shapes.
int64_t macsOf(torch::jit::Node* n, const std::map<int64_t, std::vector<int64_t>>& in, const std::vector<int64_t>& out) {
  const std::string kind = n->kind().toQualString();
  auto shape = [&](int64_t i) -> const std::vector<int64_t>* {
    auto it = in.find(i);
    return it == in.end() ? nullptr : &it->second;
  };
  auto lastDim = [](const std::vector<int64_t>& s) { return s.empty() ? int64_t{1} : s.back(); };
  if (kind.find("conv") != std::string::npos) {
    const auto* x = shape(0);
    const auto* w = shape(1);
    if (!x || !w || w->empty() || (*w)[0] == 0) return 0;
    bool transposed = kind.find("transpose") != std::string::npos;
    if (kind == "aten::_convolution") {
      auto t = torch::jit::toIValue(n->input(6));
      transposed = t && t->isBool() && t->toBool();
    }
    // Each output (or, transposed, each input) element meets weight.numel() / dim0 weights.
    return (transposed ? numel(*x) : numel(out)) * (numel(*w) / (*w)[0]);
  }
  if (kind == "aten::linear") return shape(0) ? numel(out) * lastDim(*shape(0)) : 0;
  if (kind == "aten::addmm" || kind == "aten::baddbmm") return shape(1) ? numel(out) * lastDim(*shape(1)) : 0;
  if (kind == "aten::matmul" || kind == "aten::mm" || kind == "aten::bmm") {
    const auto* a = shape(0);
    if (!a) return 0;
    return numel(out) * (a->size() == 1 ? (*a)[0] : a->back());
  }
  if (n->kind() == twoOperandEinsumSymbol() || kind == "aten::einsum") {
    auto eq = torch::jit::toIValue(n->input(0));
    if (!eq || !eq->isString()) return 0;
    std::vector<std::vector<int64_t>> operands;
    for (int64_t i = 1; i < kOutput; ++i)
      if (const auto* s = shape(i)) operands.push_back(*s);
    return einsumMacs(eq->toStringRef(), operands);
  }
  return 0;
}

std::string fp32Reason(const QuantOp& op, const QuantConfig& c) {
  if (c.excludedOps.count(op.name)) return "excluded (--exclude or keep-k most sensitive)";
  auto it = c.opPrecision.find(op.name);
  if (it != c.opPrecision.end() && it->second.floatingPoint) return "FP32 by its per-op precision";
  if (c.precision.floatingPoint && it == c.opPrecision.end()) return "FP32 configuration";
  if (op.kind == OpKind::ActivationMatmul && !c.quantizeActivationMatmul)
    return "activation x activation products switched off";
  return "";
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(mqb, m) {
  m.def(torch::schema("mqb::probe_shape(Tensor x, int run, int key) -> Tensor", c10::AliasAnalysisKind::CONSERVATIVE),
        probeShape);
}

std::vector<int64_t> measureContractionMacs(const QuantizableGraph& graph, const torch::Tensor& input) {
  static std::atomic<int64_t> nextRun{0};
  const int64_t run = nextRun++;
  QuantizableGraph::GraphCopy copy = graph.copyGraph();
  torch::jit::Graph& g = *copy.graph;
  const std::vector<torch::jit::Node*> nodes = contractionNodes(g);
  const auto probe = c10::Symbol::fromQualString("mqb::probe_shape");
  auto wrap = [&](torch::jit::Node* before, torch::jit::Value* v, int64_t key) {
    torch::jit::WithInsertPoint guard(before);
    torch::jit::Node* p = g.create(probe, {v, g.insertConstant(run), g.insertConstant(key)});
    p->insertBefore(before);
    p->output()->setType(v->type());
    return p->output();
  };
  for (size_t pos = 0; pos < nodes.size(); ++pos) {
    torch::jit::Node* n = nodes[pos];
    for (size_t i = 0; i < n->inputs().size() && static_cast<int64_t>(i) < kOutput; ++i) {
      torch::jit::Value* v = n->input(i);
      if (v->type()->cast<c10::TensorType>()) {
        n->replaceInput(i, wrap(n, v, probeKey(pos, static_cast<int64_t>(i))));
      } else if (v->node()->kind() == c10::prim::ListConstruct && i == 1) {  // aten::einsum's operands
        torch::jit::Node* list = v->node();
        for (size_t k = 0; k < list->inputs().size() && static_cast<int64_t>(k + 1) < kOutput; ++k)
          list->replaceInput(k, wrap(list, list->input(k), probeKey(pos, static_cast<int64_t>(k + 1))));
      }
    }
    torch::jit::Value* y = n->output(0);
    torch::jit::Node* after = n->next();
    torch::jit::Value* probed = wrap(after, y, probeKey(pos, kOutput));
    y->replaceAllUsesWith(probed);
    probed->node()->replaceInput(0, y);
  }
  torch::jit::GraphFunction fn("mqb_shape_probe", copy.graph, nullptr);
  {
    torch::NoGradGuard noGrad;
    fn({graph.self(), input});
  }
  std::map<int64_t, std::vector<std::vector<int64_t>>> log;
  {
    ShapeLog& l = shapeLog();
    std::lock_guard<std::mutex> lock(l.mutex);
    log = std::move(l.runs[run]);
    l.runs.erase(run);
  }
  std::vector<int64_t> macs(nodes.size(), -1);
  for (size_t pos = 0; pos < nodes.size(); ++pos) {
    auto out = log.find(probeKey(pos, kOutput));
    if (out == log.end()) continue;
    macs[pos] = 0;
    for (size_t call = 0; call < out->second.size(); ++call) {
      std::map<int64_t, std::vector<int64_t>> in;
      for (int64_t i = 0; i < kOutput; ++i) {
        auto it = log.find(probeKey(pos, i));
        if (it != log.end() && call < it->second.size()) in[i] = it->second[call];
      }
      macs[pos] += macsOf(nodes[pos], in, out->second[call]);
    }
  }
  return macs;
}

Coverage coverageOf(const QuantizableGraph& graph, const QuantConfig* config, const std::vector<int64_t>& macs) {
  Coverage c;
  c.configured = config != nullptr;
  c.contractions.resize(static_cast<size_t>(graph.contractionCount()));
  for (const QuantOp& op : graph.ops()) {
    ContractionCoverage& e = c.contractions[static_cast<size_t>(op.position)];
    e.name = op.name;
    e.kind = opLabel(op);
    e.atenName = op.einsumEquation.empty() ? op.atenName : "aten::einsum";
    e.reason = config ? fp32Reason(op, *config) : "";
    e.quantized = e.reason.empty();
  }
  for (const UnsupportedContraction& u : graph.unsupported()) {
    ContractionCoverage& e = c.contractions[static_cast<size_t>(u.position)];
    e.name = u.name;
    e.kind = u.atenName.substr(u.atenName.find("::") + 2);
    e.atenName = u.atenName;
    e.reason = "unsupported: " + u.reason;
    e.quantized = false;
  }
  if (macs.size() == c.contractions.size())
    for (size_t i = 0; i < macs.size(); ++i) c.contractions[i].macs = macs[i];
  return c;
}

Coverage coverageOf(const QuantizableGraph& graph, const QuantConfig* config, const ModelMetadata& metadata) {
  const auto& p = metadata.patchSize;
  const torch::Tensor patch = torch::zeros({1, metadata.inputChannels, p[0], p[1], p[2]});
  return coverageOf(graph, config, measureContractionMacs(graph, patch));
}

int Coverage::quantized() const {
  int n = 0;
  for (const auto& e : contractions) n += e.quantized;
  return n;
}

int64_t Coverage::macs() const {
  int64_t n = 0;
  for (const auto& e : contractions) n += std::max<int64_t>(e.macs, 0);
  return n;
}

int64_t Coverage::quantizedMacs() const {
  int64_t n = 0;
  for (const auto& e : contractions)
    if (e.quantized) n += std::max<int64_t>(e.macs, 0);
  return n;
}

bool Coverage::macsMeasured() const {
  for (const auto& e : contractions)
    if (e.macs >= 0) return true;
  return false;
}

double Coverage::macShare() const {
  const int64_t all = macs();
  return all > 0 ? static_cast<double>(quantizedMacs()) / static_cast<double>(all) : std::nan("");
}

std::vector<ContractionCoverage> Coverage::leftovers() const {
  std::vector<ContractionCoverage> out;
  for (const auto& e : contractions)
    if (!e.quantized) out.push_back(e);
  return out;
}

std::string Coverage::summary() const {
  char buf[128];
  std::string s = std::to_string(quantized()) + "/" + std::to_string(total()) + " contractions " +
                  (configured ? "quantized" : "quantizable");
  if (macsMeasured()) {
    std::snprintf(buf, sizeof buf, " (%.1f %% of the MACs per patch)", 100.0 * macShare());
    s += buf;
  }
  const auto rest = leftovers();
  if (!rest.empty()) {
    std::map<std::string, int> byReason;
    for (const auto& e : rest) byReason[e.reason.substr(0, e.reason.find(':'))]++;
    s += "; FP32:";
    bool first = true;
    for (const auto& [reason, n] : byReason) {
      s += std::string(first ? " " : ", ") + std::to_string(n) + " " + reason;
      first = false;
    }
  }
  return s;
}

nlohmann::json Coverage::toJson() const {
  nlohmann::json leftover = nlohmann::json::array();
  for (const auto& e : leftovers()) {
    nlohmann::json j = {{"name", e.name}, {"kind", e.kind}, {"aten", e.atenName}, {"reason", e.reason}};
    if (e.macs >= 0) j["macs_per_patch"] = e.macs;
    leftover.push_back(j);
  }
  nlohmann::json j = {{"contractions", total()}, {"quantized", quantized()}, {"fp32", leftover}};
  if (!configured) j["quantized_means"] = "quantizable by the engine (no configuration given)";
  if (macsMeasured()) {
    j["macs_per_patch"] = macs();
    j["quantized_macs_per_patch"] = quantizedMacs();
    j["quantized_mac_share"] = macShare();
  }
  return j;
}

}  // namespace mqb::quant
