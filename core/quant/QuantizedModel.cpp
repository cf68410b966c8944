#include "quant/QuantizedModel.h"

#include <torch/csrc/jit/ir/ir.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "support/Error.h"
#include "runtime/EnvSwitch.h"
#include "runtime/CancelPoint.h"
#include "runtime/FastConvolutions.h"
#include "runtime/FusedInstanceNorm.h"
#include "quant/FakeQuant.h"

namespace mqb::quant {

using torch::jit::Node;
using torch::jit::Value;

namespace {

const torch::Tensor* findOrNull(const std::map<int, torch::Tensor>& byOp, int op) {
  const auto it = byOp.find(op);
  return it == byOp.end() ? nullptr : &it->second;
}

enum class Scheme { None, StaticTensor, StaticChannel, DynamicToken };

Scheme schemeFor(const QuantOp& op, const QuantConfig& c) {
  if (op.kind == OpKind::ActivationMatmul && !c.quantizeActivationMatmul) return Scheme::None;
  const bool conv = op.kind == OpKind::Conv || op.kind == OpKind::ConvTranspose;
  switch (c.granularity) {
    case Granularity::PerTensor: return Scheme::StaticTensor;
    case Granularity::PerChannel: return conv ? Scheme::StaticChannel : Scheme::DynamicToken;
    case Granularity::PerVoxel: return Scheme::DynamicToken;
    case Granularity::Adaptive:
      if (!conv) return Scheme::DynamicToken;
      return op.pointwise ? Scheme::DynamicToken : Scheme::StaticChannel;
  }
  return Scheme::None;
}

bool mayHoldTensor(const c10::TypePtr& t) {
  if (t->kind() == c10::TypeKind::TensorType) return true;
  for (const auto& contained : t->containedTypes())
    if (mayHoldTensor(contained)) return true;
  return false;
}

// Whether every node strictly between `first` and `last` (same block) works without tensors
// (constants, int lists for strides and paddings): nothing there can read or write one.
bool noTensorWorkBetween(Node* first, Node* last) {
  for (Node* k = first->next(); k != last; k = k->next()) {
    if (k->kind() == c10::prim::Return) return false;  // `last` is not after `first`
    if (k->kind() == c10::prim::Constant) continue;    // e.g. a frozen weight: touches nothing
    for (const Value* v : k->inputs())
      if (mayHoldTensor(v->type())) return false;
    for (const Value* v : k->outputs())
      if (mayHoldTensor(v->type())) return false;
  }
  return true;
}

// The LeakyReLU producing an op's input, when it can be folded into the input's static
// quantization (one pass over the tensor instead of two): its output feeds only this op, it
// sits in the same block, and its slope is a constant. The folded hook takes the
// activation's place in the graph, so it reads the activation's input when the activation
// did. The in-place form (leaky_relu_) writes quantized values where the activation wrote
// activated ones: it also needs the op to be the last reader of every alias
// (`overwritable`) and no tensor work between the activation and the op.
Node* foldableLeaky(Node* op, Value* in, bool overwritable, double& slope, bool& inPlace) {
  Node* act = in->node();
  static const auto leaky = c10::Symbol::fromQualString("aten::leaky_relu");
  static const auto leakyInPlace = c10::Symbol::fromQualString("aten::leaky_relu_");
  if (act->kind() != leaky && act->kind() != leakyInPlace) return nullptr;
  inPlace = act->kind() == leakyInPlace;
  if (in->uses().size() != 1 || act->owningBlock() != op->owningBlock() || act->inputs().size() != 2) return nullptr;
  if (inPlace && !(overwritable && noTensorWorkBetween(act, op))) return nullptr;
  const auto s = torch::jit::toIValue(act->input(1));
  if (!s || !(s->isDouble() || s->isInt() || s->isScalar())) return nullptr;
  slope = s->toScalar().toDouble();
  const Value* pre = act->input(0);
  if (!pre->type()->cast<c10::TensorType>()) return nullptr;
  return act;
}

// An einsum weight: one min-max scale per combination of its free (output) dims, found by
// moving them first and merging them into one channel axis; one scale when there is none.
torch::Tensor fakeQuantEinsumWeight(const torch::Tensor& w, const std::vector<int64_t>& freeDims, int bits) {
  if (freeDims.empty()) return fakeQuantWeight(w, kPerTensor, bits, true);
  if (freeDims.size() == 1) return fakeQuantWeight(w, freeDims[0], bits, true);
  std::vector<int64_t> perm = freeDims;
  for (int64_t d = 0; d < w.dim(); ++d)
    if (std::find(freeDims.begin(), freeDims.end(), d) == freeDims.end()) perm.push_back(d);
  const torch::Tensor moved = w.permute(perm).contiguous();
  int64_t channels = 1;
  for (size_t i = 0; i < freeDims.size(); ++i) channels *= moved.size(static_cast<int64_t>(i));
  const torch::Tensor q = fakeQuantWeight(moved.reshape({channels, -1}), 0, bits, true).reshape(moved.sizes());
  std::vector<int64_t> inverse(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) inverse[static_cast<size_t>(perm[i])] = static_cast<int64_t>(i);
  return q.permute(inverse).contiguous();
}

// After the fast-route passes: a folded activation hook (mqb::act_leaky) whose input is a
// fused instance norm without activation of its own, read by nothing else, takes the norm
// in too (mqb::act_norm): the norm's output is then never written at all, the hook
// normalises, activates and quantizes in one pass. Returns the number of hooks fused.
int foldNormsIntoHooks(torch::jit::Graph& g) {
  static const auto leakyHook = c10::Symbol::fromQualString("mqb::act_leaky");
  static const auto norm = c10::Symbol::fromQualString("mqb::instance_norm");
  static const auto normHook = c10::Symbol::fromQualString("mqb::act_norm");
  std::vector<Node*> hooks;
  for (Node* n : g.nodes())
    if (n->kind() == leakyHook) hooks.push_back(n);
  int fused = 0;
  for (Node* hook : hooks) {
    Node* producer = hook->input(0)->node();
    // mqb::instance_norm(x, weight, bias, eps, slope): no activation of its own (slope None).
    if (producer->kind() != norm || hook->input(0)->uses().size() != 1 ||
        producer->input(4)->type()->kind() != c10::TypeKind::NoneType || producer->owningBlock() != hook->owningBlock())
      continue;
    // The fused hook reads the norm's input where the hook is: only constants may sit in
    // between, or something there could write into that input first (a later reader's
    // hook quantizing it in place, an in-place op).
    bool onlyConstantsBetween = true;
    for (Node* k = producer->next(); k != hook && onlyConstantsBetween; k = k->next())
      onlyConstantsBetween = k->kind() == c10::prim::Constant;
    if (!onlyConstantsBetween) continue;
    // mqb::act_leaky(pre, slope, ctx, op, slot)
    Node* n = g.create(normHook, {producer->input(0), producer->input(1), producer->input(2), producer->input(3),
                                  hook->input(1), hook->input(2), hook->input(3), hook->input(4)});
    n->insertBefore(hook);
    n->output()->setType(hook->output()->type());
    hook->output()->replaceAllUsesWith(n->output());
    hook->destroy();
    producer->destroy();
    ++fused;
  }
  return fused;
}

}  // namespace

bool QuantizedModel::needsCalibration(const QuantizableGraph& graph, const QuantConfig& config) {
  for (const auto& op : graph.ops()) {
    if (precisionOf(config, op).floatingPoint) continue;
    const Scheme s = schemeFor(op, config);
    if (s == Scheme::StaticTensor || s == Scheme::StaticChannel) return true;
  }
  return false;
}

ActivationPlan planFor(const QuantOp& op, int slot, const QuantConfig& config, const CalibrationData* calibration) {
  ActivationPlan plan;
  const Precision p = precisionOf(config, op);
  if (p.floatingPoint) return plan;
  plan.bits = p.activationBits;
  plan.symmetric = config.symmetric;
  switch (schemeFor(op, config)) {
    case Scheme::None: return plan;
    case Scheme::DynamicToken:
      plan.mode = ActivationPlan::Mode::Dynamic;
      // Conv inputs [N,C,D,H,W] reduce over channels (per voxel); linear inputs [..,T,C]
      // over the last dim (per token); matmul and einsum operands over their contracted
      // dims (the right matmul operand [..,C,T] over dim -2).
      if (op.kind == OpKind::Conv || op.kind == OpKind::ConvTranspose) {
        plan.dynamicDim = 1;
      } else {
        const std::vector<int64_t>& dims = op.slotReduceDims[static_cast<size_t>(slot)];
        if (dims.size() == 1)
          plan.dynamicDim = dims[0];
        else if (!dims.empty())
          plan.dynamicDims = dims;
        else
          plan.dynamicDim = (op.kind == OpKind::ActivationMatmul && slot == 1) ? -2 : -1;
      }
      return plan;
    case Scheme::StaticTensor:
    case Scheme::StaticChannel: {
      if (!calibration) throw Error("static activation scales need calibration data");
      const SlotStatistics& st = calibration->at(op.index, slot);
      const bool channel = schemeFor(op, config) == Scheme::StaticChannel;
      const Calibrator* cal = channel ? st.perChannel.get() : st.perTensor.get();
      if (!cal) throw Error("calibration data lacks statistics for op '" + op.name + "'");
      plan.mode = ActivationPlan::Mode::Static;
      plan.grid = cal->grid(config.calibrator, plan.bits, config.symmetric);
      return plan;
    }
  }
  return plan;
}

QuantizedModel::QuantizedModel(std::shared_ptr<const QuantizableGraph> graph, ModelMetadata metadata,
                               QuantConfig config, const CalibrationData* calibration, bool foldActivations,
                               const AdjustedWeights* adjusted)
    : graph_(std::move(graph)),
      metadata_(std::move(metadata)),
      config_(std::move(config)),
      runtime_(graph_->ops().size()),
      weights_(graph_->ops().size()),
      foldActivations_(foldActivations && !envSwitchOff("MQB_FOLD_ACTIVATIONS")) {
  registerQuantOperators();
  for (const auto& name : config_.excludedOps) graph_->op(name);  // throws for unknown names
  for (const auto& [name, p] : config_.opPrecision) graph_->op(name);

  QuantizableGraph::GraphCopy copy = graph_->copyGraph();
  torch::jit::Graph& g = *copy.graph;
  const auto actSymbol = c10::Symbol::fromQualString("mqb::act");
  const auto outSymbol = c10::Symbol::fromQualString("mqb::out");
  const auto leakySymbol = c10::Symbol::fromQualString("mqb::act_leaky");
  for (const QuantOp& op : graph_->ops()) {
    Node* n = copy.nodes[static_cast<size_t>(op.index)];
    const Precision p = precisionOf(config_, op);
    torch::jit::WithInsertPoint guard(n);
    Value* ctx = g.insertConstant(runtime_.id());
    Value* opIndex = g.insertConstant(static_cast<int64_t>(op.index));
    for (int slot = 0; slot < op.activationSlots; ++slot) {
      runtime_.plans()[op.index][slot] = planFor(op, slot, config_, calibration);
      runtime_.plans()[op.index][slot].overwriteInput = op.inputOverwritable[static_cast<size_t>(slot)];
      ActivationPlan& plan = runtime_.plans()[op.index][slot];
      Value* in = n->input(static_cast<size_t>(op.slotInputIndex[slot]));
      double slope = 0;
      bool inPlace = false;
      Node* act = plan.mode == ActivationPlan::Mode::Static && foldActivations_
                      ? foldableLeaky(n, in, plan.overwriteInput, slope, inPlace)
                      : nullptr;
      Node* hook = nullptr;
      if (act) {
        // At the activation's place (see foldableLeaky), with constants defined before it.
        torch::jit::WithInsertPoint atActivation(act);
        hook = g.create(leakySymbol, {act->input(0), g.insertConstant(slope), g.insertConstant(runtime_.id()),
                                      g.insertConstant(static_cast<int64_t>(op.index)),
                                      g.insertConstant(static_cast<int64_t>(slot))});
        hook->insertBefore(act);
        plan.foldedLeaky = true;
        plan.foldedInPlace = inPlace;
      } else {
        hook = g.create(actSymbol, {in, ctx, opIndex, g.insertConstant(static_cast<int64_t>(slot))});
        hook->insertBefore(n);
      }
      hook->output()->setType(in->type());
      n->replaceInput(static_cast<size_t>(op.slotInputIndex[slot]), hook->output());
      if (act) act->destroy();  // its only use was this input
    }
    if (!p.floatingPoint && op.weightInputIndex >= 0) {
      torch::Tensor w = torch::jit::toIValue(n->input(static_cast<size_t>(op.weightInputIndex)))->toTensor();
      const bool perTensor = config_.granularity == Granularity::PerTensor;
      const torch::Tensor* chosen = adjusted ? findOrNull(adjusted->weights, op.index) : nullptr;
      const torch::Tensor* bias = adjusted ? findOrNull(adjusted->biases, op.index) : nullptr;
      // Weights stay symmetric (min-max) whatever the activation symmetry, as in SPEC 3.
      if (chosen)
        weights_[op.index] = *chosen;
      else
        weights_[op.index] = op.einsumEquation.empty() || perTensor
                                 ? fakeQuantWeight(w, perTensor ? kPerTensor : op.weightChannelAxis, p.weightBits, true)
                                 : fakeQuantEinsumWeight(w, op.weightFreeDims, p.weightBits);
      n->replaceInput(static_cast<size_t>(op.weightInputIndex), g.insertConstant(weights_[op.index]));
      if (bias) n->replaceInput(static_cast<size_t>(graph_->biasInputIndex(op)), g.insertConstant(*bias));
    }
    Value* y = n->output(0);
    Node* out = g.create(outSymbol, {y, ctx, opIndex});
    out->insertAfter(n);
    out->output()->setType(y->type());
    y->replaceAllUsesWith(out->output());
    out->replaceInput(0, y);
  }
  // After the hooks: they stay on dense tensors around each oneDNN convolution.
  fastConvolutions_ = useFastConvolutions(copy.graph);
  useFusedInstanceNorms(*copy.graph);
  foldedNorms_ = foldNormsIntoHooks(*copy.graph);
  insertCancelPoints(*copy.graph);  // last: the oneDNN pass does not know the operator
  function_ = std::make_unique<torch::jit::GraphFunction>("mqb_quantized_forward", copy.graph, nullptr);
}

torch::Tensor QuantizedModel::predict(const torch::Tensor& batch) {
  torch::NoGradGuard noGrad;
  if (!batch.device().is_cpu()) throw Error("quantized execution runs on the CPU");
  torch::IValue out = (*function_)({graph_->self(), batch});
  if (out.isTensor()) return out.toTensor();
  if (out.isTuple()) return out.toTuple()->elements().at(0).toTensor();
  if (out.isList()) return out.toList().get(0).toTensor();
  throw Error("the model's forward does not return a tensor");
}

}  // namespace mqb::quant
