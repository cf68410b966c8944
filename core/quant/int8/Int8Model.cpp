#include "quant/int8/Int8Model.h"

#include <torch/csrc/jit/api/compilation_unit.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <sstream>
#include <optional>

#include "runtime/CancelPoint.h"
#include "support/Error.h"
#include "runtime/JitGraph.h"
#include "quant/int8/Int8Engine.h"
#include "quant/int8/Int8Kernels.h"
#include "quant/int8/Int8Packing.h"
#include "quant/int8/Int8Support.h"
#include "quant/QuantGrid.h"
#include "quant/QuantizedModel.h"
#include "quant/WeightMethods.h"

namespace mqb::quant {

using torch::jit::Node;
using torch::jit::Value;

namespace {

// The kernels' geometry of a convolution op, from the one reader of the ATen argument
// positions (contractionOf); a reason when they are not constants the kernels take.
std::string convGeometry(const QuantizableGraph& graph, const QuantOp& op, ConvGeometry& g) {
  Contraction c;
  const std::string reason = contractionOf(graph, op, c);
  if (!reason.empty()) return reason;
  g.spatialDims = op.spatialDims;
  g.transposed = c.kind == ContractionKind::TransposedConvolution;
  g.stride = c.stride, g.padding = c.padding, g.dilation = c.dilation, g.groups = c.groups;
  if (g.transposed) g.outputPadding = c.outputPadding;
  return "";
}

c10::optional<torch::Tensor> constantBias(Value* v, bool& ok) {
  ok = true;
  auto iv = torch::jit::toIValue(v);
  if (!iv) {
    ok = false;
    return c10::nullopt;
  }
  if (iv->isNone()) return c10::nullopt;
  if (!iv->isTensor()) {
    ok = false;
    return c10::nullopt;
  }
  return iv->toTensor().to(torch::kFloat);
}

// Why an op cannot run on an integer kernel under `config` and `engine` ("" if it can).
std::string fp32Reason(const QuantOp& op, const QuantConfig& config, const std::string& engine) {
  const Precision p = precisionOf(config, op);
  if (p.floatingPoint) return "kept FP32 (excluded)";
  if (p.weightBits != 8 || p.activationBits != 8)
    return "precision " + p.id() + ": the integer kernels are 8-bit (W8A8), simulated only";
  switch (op.kind) {
    case OpKind::ActivationMatmul:
      return "matmul between two activations: LibTorch 1.13 has no integer kernel for it";
    case OpKind::Linear:
      if (op.atenName != "aten::linear")
        return op.atenName + " form of a linear layer: not mapped to quantized::linear";
      return "";
    case OpKind::Conv:
    case OpKind::ConvTranspose:
      if (op.spatialDims != 2 && op.spatialDims != 3)
        return std::to_string(op.spatialDims) + "-D convolution: no integer kernel used (2-D and 3-D only)";
      if (op.kind == OpKind::ConvTranspose && config.granularity == Granularity::PerChannel)
        return "transposed convolution with per-output-channel weights: LibTorch 1.13 disables per-channel "
               "quantized conv_transpose (per-tensor granularity runs it in INT8)";
      if (op.kind == OpKind::ConvTranspose && engine == "qnnpack")
        return "qnnpack's quantized conv_transpose returns wrong output shapes in LibTorch 1.13";
      return "";
  }
  return "";
}

// Folds `instance_norm(dequantized)` (+ a LeakyReLU using only its result) into one
// mqb::int8_dequantize_norm of the integer output `qy`. Only the plain form: statistics of
// the input itself (no running stats), constant affine parameters and eps; the
// dequantized tensor and the norm's result have no other reader.
Node* foldNorm(torch::jit::Graph& g, Node* dequantizeNode, Value* qy) {
  Value* y = dequantizeNode->output(0);
  if (y->uses().size() != 1) return nullptr;
  Node* norm = y->uses()[0].user;
  if (norm->kind() != c10::Symbol::fromQualString("aten::instance_norm") || norm->inputs().size() != 9 ||
      norm->input(0) != y || norm->owningBlock() != dequantizeNode->owningBlock())
    return nullptr;
  auto isNone = [](Value* v) {
    auto iv = torch::jit::toIValue(v);
    return iv && iv->isNone();
  };
  auto isTensorOrNone = [](Value* v) {
    auto iv = torch::jit::toIValue(v);
    return iv && (iv->isNone() || iv->isTensor());
  };
  auto useStats = torch::jit::toIValue(norm->input(5));
  auto eps = torch::jit::toIValue(norm->input(7));
  if (!isTensorOrNone(norm->input(1)) || !isTensorOrNone(norm->input(2)) || !isNone(norm->input(3)) ||
      !isNone(norm->input(4)) || !useStats || !useStats->isBool() || !useStats->toBool() || !eps || !eps->isDouble())
    return nullptr;
  Node* act = nullptr;
  double slope = 0.0;
  Value* normOut = norm->output(0);
  if (normOut->uses().size() == 1) {
    Node* u = normOut->uses()[0].user;
    const std::string kind = u->kind().toQualString();
    c10::optional<c10::IValue> s;
    if (u->inputs().size() == 2) s = torch::jit::toIValue(u->input(1));
    if ((kind == "aten::leaky_relu" || kind == "aten::leaky_relu_") && u->input(0) == normOut && s &&
        (s->isDouble() || s->isInt()) && u->owningBlock() == norm->owningBlock()) {
      act = u;
      slope = s->toScalar().toDouble();
    }
  }
  torch::jit::WithInsertPoint guard(norm);
  Value* fused = g.insert(c10::Symbol::fromQualString("mqb::int8_dequantize_norm"),
                          {qy, norm->input(1), norm->input(2), eps->toDouble(), slope, act != nullptr});
  Value* result = act ? act->output(0) : normOut;
  result->replaceAllUsesWith(fused);
  if (act) act->destroy();
  norm->destroy();
  dequantizeNode->destroy();
  return fused->node();
}

// Where a folded norm's float result is only quantized again for the next integer op
// (conv -> norm -> LeakyReLU -> conv), the two become one mqb::int8_norm_requantize: the
// activation stays uint8 and channels-last between the kernels. Readers of the float
// result (a skip connection) keep the folded norm. Returns the quantize nodes replaced.
int chainRequantize(torch::jit::Graph& g, Node* folded) {
  static const auto quantize = c10::Symbol::fromQualString("mqb::int8_quantize");
  static const auto requantize = c10::Symbol::fromQualString("mqb::int8_norm_requantize");
  Value* y = folded->output(0);
  std::vector<Node*> readers;
  for (const torch::jit::Use& u : y->uses())
    if (u.user->kind() == quantize && u.offset == 0 && u.user->owningBlock() == folded->owningBlock())
      readers.push_back(u.user);
  std::map<std::pair<double, int64_t>, Value*> made;  // one table pass per output grid
  int chained = 0;
  for (Node* q : readers) {
    auto scale = torch::jit::toIValue(q->input(1));
    auto zeroPoint = torch::jit::toIValue(q->input(2));
    if (!scale || !zeroPoint || !scale->isDouble() || !zeroPoint->isInt()) continue;
    const std::pair<double, int64_t> grid{scale->toDouble(), zeroPoint->toInt()};
    Value*& r = made[grid];
    if (!r) {
      torch::jit::WithInsertPoint guard(folded->next());
      std::vector<torch::jit::NamedValue> args;
      for (Value* in : folded->inputs()) args.emplace_back(in);
      args.emplace_back(grid.first);
      args.emplace_back(grid.second);
      r = g.insert(requantize, args);
    }
    q->output(0)->replaceAllUsesWith(r);
    q->destroy();
    ++chained;
  }
  if (y->uses().empty()) folded->destroy();
  return chained;
}

// int8_quantize(cat([parts], 1)) before an integer op (a U-Net decoder joining the
// upsampled path and the skip connection) becomes a cat of uint8 parts requantized straight
// from their integer producers: the transposed convolution's output through a table, the
// skip's folded norm through its requantizing table; other parts are quantized as before.
// Each part's levels equal those the float cat would have been quantized to.
int catInUint8(torch::jit::Graph& g) {
  static const auto quantize = c10::Symbol::fromQualString("mqb::int8_quantize");
  static const auto dequantize = c10::Symbol::fromQualString("mqb::int8_dequantize");
  static const auto dequantizeNorm = c10::Symbol::fromQualString("mqb::int8_dequantize_norm");
  static const auto requantize = c10::Symbol::fromQualString("mqb::int8_requantize");
  static const auto normRequantize = c10::Symbol::fromQualString("mqb::int8_norm_requantize");
  static const auto catChannels = c10::Symbol::fromQualString("mqb::int8_cat_channels");
  static const auto cat = c10::Symbol::fromQualString("aten::cat");
  std::vector<Node*> candidates;
  for (Node* n : g.nodes())
    if (n->kind() == quantize) candidates.push_back(n);
  int rewritten = 0;
  for (Node* q : candidates) {
    Node* c = q->input(0)->node();
    auto scale = torch::jit::toIValue(q->input(1));
    auto zeroPoint = torch::jit::toIValue(q->input(2));
    if (c->kind() != cat || !scale || !zeroPoint || !scale->isDouble() || !zeroPoint->isInt()) continue;
    auto dim = torch::jit::toIValue(c->input(1));
    Node* list = c->input(0)->node();
    if (!dim || !dim->isInt() || dim->toInt() != 1 || list->kind() != c10::prim::ListConstruct ||
        list->owningBlock() != q->owningBlock() || c->owningBlock() != q->owningBlock())
      continue;
    bool integerPart = false;
    for (Value* part : list->inputs()) {
      const auto k = part->node()->kind();
      integerPart = integerPart || k == dequantize || k == dequantizeNorm;
    }
    if (!integerPart) continue;
    torch::jit::WithInsertPoint guard(q);
    std::vector<Value*> parts;
    for (Value* part : list->inputs()) {
      Node* p = part->node();
      if (p->kind() == dequantize) {
        parts.push_back(g.insert(requantize, {p->input(0), scale->toDouble(), zeroPoint->toInt()}));
      } else if (p->kind() == dequantizeNorm) {
        std::vector<torch::jit::NamedValue> args;
        for (Value* in : p->inputs()) args.emplace_back(in);
        args.emplace_back(scale->toDouble());
        args.emplace_back(zeroPoint->toInt());
        parts.push_back(g.insert(normRequantize, args));
      } else {
        parts.push_back(g.insert(quantize, {part, scale->toDouble(), zeroPoint->toInt()}));
      }
    }
    Node* joined = g.insertNode(g.createList(c10::TensorType::get(), parts));
    Value* out = g.insert(catChannels, {joined->output()});
    q->output(0)->replaceAllUsesWith(out);
    q->destroy();
    ++rewritten;
  }
  // Float parts nobody reads any more (the cat and what fed only it).
  for (bool changed = true; changed;) {
    changed = false;
    for (auto it = g.nodes().rbegin(); it != g.nodes().rend(); ++it) {
      Node* n = *it;
      const auto k = n->kind();
      if ((k == cat || k == c10::prim::ListConstruct || k == dequantize || k == dequantizeNorm) &&
          n->outputs().size() == 1 && n->output(0)->uses().empty()) {
        it.destroyCurrent();
        changed = true;
      }
    }
  }
  return rewritten;
}

struct PendingRewrite {
  int op = 0;
  std::string attribute;
  std::string kernel;
  Uint8QParams input, output;
};

}  // namespace

Int8GraphOptions Int8GraphOptions::fromEnvironment() {
  Int8GraphOptions o;
  const char* v = std::getenv("MQB_INT8_GRAPH");
  const std::string mode = v ? v : "";
  if (mode == "aten")
    o.fastTransitions = o.fuseNormActivation = o.chainRequantize = false;
  else if (mode == "qdq")
    o.fuseNormActivation = o.chainRequantize = false;
  else if (mode == "fused")
    o.chainRequantize = false;
  else if (!mode.empty() && mode != "chained")
    throw Error("MQB_INT8_GRAPH='" + mode + "': expected aten, qdq, fused or chained");
  return o;
}

std::string Int8GraphOptions::id() const {
  if (!fastTransitions) return "aten";
  if (!fuseNormActivation) return "qdq";
  return chainRequantize ? "chained" : "fused";
}

int Int8Coverage::integerOps() const {
  int n = 0;
  for (const auto& o : ops) n += o.integer ? 1 : 0;
  return n;
}

nlohmann::json Int8Coverage::toJson() const {
  int64_t all = 0, integer = 0;
  nlohmann::json fp32 = nlohmann::json::array();
  for (const auto& o : ops) {
    all += o.parameters;
    if (o.integer)
      integer += o.parameters;
    else
      fp32.push_back({{"name", o.name}, {"kind", o.kind}, {"reason", o.reason}});
  }
  return {{"integer_ops", integerOps()},
          {"total_ops", ops.size()},
          {"integer_parameter_share", all > 0 ? double(integer) / double(all) : 0.0},
          {"fp32_ops", fp32}};
}

void Int8Model::checkConfig(const QuantConfig& c) {
  const std::string problem = realInt8Problem(c);
  if (!problem.empty()) throw Error(problem);
}

Int8Model::Int8Model(const QuantizableGraph& graph, ModelMetadata metadata, const QuantConfig& config,
                     const CalibrationData& inputs, const Int8OutputRanges& outputs, const std::string& engine,
                     Int8GraphOptions options)
    : metadata_(std::move(metadata)), config_(config), options_(options) {
  checkConfig(config_);
  registerInt8Operators();
  if (!options_.fastTransitions) options_.fuseNormActivation = false;
  if (!options_.fuseNormActivation) options_.chainRequantize = false;
  config_.execution = Execution::RealInt8;
  engine_ = engine.empty() ? chooseInt8Engine() : engine;
  useInt8Engine(engine_);
  maySaturate_ = int8AccumulatorMaySaturate(engine_);
  for (const auto& name : config_.excludedOps) graph.op(name);  // throws for unknown names
  for (const auto& [name, p] : config_.opPrecision) graph.op(name);
  if (outputs.ops.size() != graph.ops().size())
    throw Error(graph.source() + ": output ranges do not match the model's ops");

  // The kernels take one activation scale: the calibrated per-tensor grid of each input.
  QuantConfig activationConfig = config_;
  activationConfig.granularity = Granularity::PerTensor;
  const bool perChannelWeights = config_.granularity == Granularity::PerChannel;

  QuantizableGraph::GraphCopy copy = graph.copyGraph();
  torch::jit::Graph& g = *copy.graph;
  Value* self = g.inputs().at(0);
  if (!self->uses().empty())
    throw Error(graph.source() + ": the frozen graph still reads module attributes; cannot build the INT8 model");
  auto unit = std::make_shared<torch::jit::CompilationUnit>();
  module_ = torch::jit::Module("__torch__.mqb.Int8Model", unit, /*shouldMangle=*/true);
  // Every front end calls eval() on what it loads, which needs the attribute nn.Module has.
  module_.register_attribute("training", c10::BoolType::get(), false);

  std::vector<PendingRewrite> pending;
  for (const QuantOp& op : graph.ops()) {
    Node* n = copy.nodes[static_cast<size_t>(op.index)];
    Int8OpStatus status;
    status.name = op.name;
    status.kind = opKindName(op.kind);
    status.parameters = op.parameters;
    status.reason = fp32Reason(op, config_, engine_);
    ConvGeometry geometry;
    if (status.reason.empty() && op.kind != OpKind::Linear) status.reason = convGeometry(graph, op, geometry);
    bool biasOk = true;
    c10::optional<torch::Tensor> bias;
    if (status.reason.empty()) {
      bias = constantBias(n->input(2), biasOk);
      if (!biasOk) status.reason = "bias is not a constant tensor";
    }
    const OutputRange& range = outputs.ops[static_cast<size_t>(op.index)];
    if (status.reason.empty() && !range.seen)
      status.reason = "not reached by the calibration patches (no output range)";
    if (!status.reason.empty()) {
      coverage_.ops.push_back(status);
      continue;
    }
    const torch::Tensor weight = torch::jit::toIValue(n->input(static_cast<size_t>(op.weightInputIndex)))->toTensor();
    const torch::Tensor qweight = quantizeWeightInt8(weight, perChannelWeights ? op.weightChannelAxis : kPerTensor);
    PendingRewrite r;
    r.op = op.index;
    r.attribute = "int8_op_" + std::to_string(op.index);
    c10::IValue packed;
    if (op.kind == OpKind::Linear) {
      packed = prepackLinear(qweight, bias);
      r.kernel = "quantized::linear";
    } else {
      packed = prepackConvolution(qweight, bias, geometry);
      r.kernel = convolutionKernel(geometry);
    }
    module_.register_attribute(r.attribute, packed.type(), packed);
    r.input = activationQParams(planFor(op, 0, activationConfig, &inputs).grid);
    r.output = outputQParams(range.min, range.max);
    status.integer = true;
    status.kernel = r.kernel;
    coverage_.ops.push_back(status);
    pending.push_back(r);
  }

  self->setType(module_.type());
  const bool fast = options_.fastTransitions;
  const auto quantize = c10::Symbol::fromQualString(fast ? "mqb::int8_quantize" : "aten::quantize_per_tensor");
  const auto dequantize = c10::Symbol::fromQualString(fast ? "mqb::int8_dequantize" : "aten::dequantize");
  std::vector<std::pair<Node*, Value*>> dequantized;  // (dequantize node, integer output)
  for (const PendingRewrite& r : pending) {
    Node* n = copy.nodes[static_cast<size_t>(r.op)];
    torch::jit::WithInsertPoint guard(n);
    const QuantOp& op = graph.ops()[static_cast<size_t>(r.op)];
    Value* x = n->input(static_cast<size_t>(op.slotInputIndex[0]));
    Value* qx = fast ? g.insert(quantize, {x, r.input.scale, r.input.zeroPoint})
                     : g.insert(quantize, {x, r.input.scale, r.input.zeroPoint, static_cast<int64_t>(c10::kQUInt8)});
    Value* packed = g.insertGetAttr(self, r.attribute);
    Value* qy = g.insert(c10::Symbol::fromQualString(r.kernel), {qx, packed, r.output.scale, r.output.zeroPoint});
    Value* y = g.insert(dequantize, {qy});
    n->output(0)->replaceAllUsesWith(y);
    n->destroy();
    dequantized.emplace_back(y->node(), qy);
  }
  if (options_.fuseNormActivation)
    for (const auto& [node, qy] : dequantized) {
      Node* folded = foldNorm(g, node, qy);
      if (!folded) continue;
      ++foldedNorms_;
      if (options_.chainRequantize) chainedTransitions_ += chainRequantize(g, folded);
    }
  if (options_.chainRequantize) uint8Cats_ = catInUint8(g);
  torch::jit::EliminateDeadCode(copy.graph);  // drops the FP32 weights of the replaced ops
  // The LibTorch-only graph ("aten", export-int8 --portable) must stay loadable without
  // our operators: it gets no cancellation points, a cancel waits for its window.
  if (options_.fastTransitions) insertCancelPoints(g);
  auto forward = unit->create_function(c10::QualifiedName(*module_.type()->name(), "forward"), copy.graph);
  module_.type()->addMethod(forward);
}

torch::Tensor Int8Model::predict(const torch::Tensor& batch) {
  torch::NoGradGuard noGrad;
  if (!batch.device().is_cpu()) throw Error("INT8 execution runs on the CPU");
  {
    // The quantized engine is process-wide; window-parallel forwards may arrive together.
    static std::mutex engineSwitch;
    std::lock_guard<std::mutex> lock(engineSwitch);
    if (currentInt8Engine() != engine_) useInt8Engine(engine_);
  }
  torch::IValue out = module_.forward({batch.contiguous()});
  if (out.isTensor()) return out.toTensor();
  if (out.isTuple()) return out.toTuple()->elements().at(0).toTensor();
  if (out.isList()) return out.toList().get(0).toTensor();
  throw Error("the model's forward does not return a tensor");
}

torch::jit::ExtraFilesMap Int8Model::extraFiles() const {
  nlohmann::json md = metadata_.raw.is_object() ? metadata_.raw : metadata_.toJson();
  md["int8"] = {{"engine", engine_},
                {"accumulator_may_saturate", maySaturate_},
                {"graph", options_.id()},
                {"folded_norms", foldedNorms_},
                {"chained_transitions", chainedTransitions_},
                {"uint8_cats", uint8Cats_},
                {"config", config_.toJson()},
                {"coverage", coverage_.toJson()}};
  return {{"medquanbench.json", md.dump(2)}};
}

int64_t Int8Model::serializedBytes() {
  std::ostringstream out;
  module_.save(out, extraFiles());
  return static_cast<int64_t>(out.tellp());
}

void Int8Model::save(const std::string& path) {
  const torch::jit::ExtraFilesMap extra = extraFiles();
  const std::string temporary = path + ".partial";
  try {
    module_.save(temporary, extra);
  } catch (const std::exception& e) {
    std::remove(temporary.c_str());
    std::string what = e.what();
    throw Error(path + ": cannot write the INT8 model (" + what.substr(0, what.find('\n')) + ")");
  }
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  if (ec) {
    std::remove(temporary.c_str());
    throw Error(path + ": cannot write the INT8 model (" + ec.message() + ")");
  }
}

}  // namespace mqb::quant
