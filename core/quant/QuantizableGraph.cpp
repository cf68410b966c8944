#include "quant/QuantizableGraph.h"

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/ir/alias_analysis.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/inliner.h>

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "support/Error.h"
#include "quant/EinsumContraction.h"

namespace mqb::quant {

using torch::jit::Node;
using torch::jit::Value;

std::string opKindName(OpKind k) {
  switch (k) {
    case OpKind::Conv: return "conv";
    case OpKind::ConvTranspose: return "conv_transpose";
    case OpKind::Linear: return "linear";
    case OpKind::ActivationMatmul: return "matmul";
  }
  return "?";
}

std::string opLabel(const QuantOp& op) { return op.einsumEquation.empty() ? opKindName(op.kind) : "einsum"; }

namespace {

// Edge layers (SPEC section 10): an op reads the model input when none of its activation
// inputs depends on the output of a contraction, and produces the model output when no
// contraction depends on its output. Unsupported contractions count as contractions.
void markEdgeOps(torch::jit::Graph& graph, const std::vector<Node*>& opNodes, std::vector<QuantOp>& ops) {
  const std::vector<Node*> all = contractionNodes(graph);
  const std::unordered_set<const Node*> contractions(all.begin(), all.end());
  std::unordered_set<const Value*> afterContraction;
  std::function<void(torch::jit::Block*)> forward = [&](torch::jit::Block* block) {
    for (Node* n : block->nodes()) {
      bool depends = contractions.count(n) > 0;
      for (const Value* v : n->inputs()) depends = depends || afterContraction.count(v) > 0;
      for (torch::jit::Block* sub : n->blocks()) {
        forward(sub);
        for (const Value* v : sub->outputs()) depends = depends || afterContraction.count(v) > 0;
      }
      if (depends)
        for (const Value* v : n->outputs()) afterContraction.insert(v);
    }
  };
  forward(graph.block());

  std::unordered_map<const Value*, bool> feeds;  // the value reaches a contraction's input
  std::function<bool(const Value*)> reaches = [&](const Value* v) {
    auto it = feeds.find(v);
    if (it != feeds.end()) return it->second;
    feeds[v] = false;  // a cycle through a loop block adds nothing
    bool result = false;
    for (const torch::jit::Use& use : v->uses()) {
      const Node* user = use.user;
      if (contractions.count(user)) {
        result = true;
      } else if (user->kind() == c10::prim::Return) {
        // A loop body returns (condition, carried values...): output k of the loop is block
        // output k + 1. An If's blocks return its outputs in order.
        const Node* owner = user->owningBlock()->owningNode();
        const size_t shift = owner && owner->kind() == c10::prim::Loop ? 1 : 0;
        if (owner && use.offset >= shift && use.offset - shift < owner->outputs().size())
          result = reaches(owner->outputs()[use.offset - shift]);
      } else {
        for (const Value* out : user->outputs()) result = result || reaches(out);
        // A value carried into a loop (inputs: trip count, condition, carried...) is the
        // body's block input offset - 1 (block inputs: iteration, carried...).
        if (!result && user->kind() == c10::prim::Loop && use.offset >= 2 && !user->blocks().empty() &&
            use.offset - 1 < user->blocks()[0]->inputs().size())
          result = reaches(user->blocks()[0]->inputs()[use.offset - 1]);
      }
      if (result) break;
    }
    feeds[v] = result;
    return result;
  };
  for (QuantOp& op : ops) {
    const Node* n = opNodes[static_cast<size_t>(op.index)];
    op.readsModelInput = true;
    for (int slot = 0; slot < op.activationSlots; ++slot)
      if (afterContraction.count(n->input(static_cast<size_t>(op.slotInputIndex[slot])))) op.readsModelInput = false;
    op.producesModelOutput = !reaches(n->output(0));
  }
}

bool isConstantTensor(Value* v) {
  auto iv = torch::jit::toIValue(v);
  return iv && iv->isTensor();
}

torch::Tensor constantTensor(Value* v) { return torch::jit::toIValue(v)->toTensor(); }

bool constantBool(Value* v, bool fallback) {
  auto iv = torch::jit::toIValue(v);
  return iv && iv->isBool() ? iv->toBool() : fallback;
}

enum class Verdict { NotContraction, Quantizable, Unsupported };

// The full module path of a contraction node, set by inlineWithModulePaths. A node
// attribute, because it must survive freezing (which clones the graph, attributes
// included) and the call stack's module entries cannot be made outside LibTorch.
c10::Symbol modulePathAttribute() {
  static const c10::Symbol s = c10::Symbol::attr("mqb_module_path");
  return s;
}

// The short kind of a contraction node, for names of ops and of unsupported contractions.
// "" for any other node.
std::string contractionLabel(const std::string& kind) {
  if (kind.rfind("aten::conv_transpose", 0) == 0) return "conv_transpose";
  if (kind.rfind("aten::conv", 0) == 0 || kind == "aten::_convolution") return "conv";
  if (kind == "aten::linear" || kind == "aten::addmm") return "linear";
  if (kind == "aten::einsum" || kind == "mqb::einsum") return "einsum";
  if (kind == "aten::matmul" || kind == "aten::mm" || kind == "aten::bmm" || kind == "aten::baddbmm") return "matmul";
  return "";
}

// A product of two operands at node inputs `left` and `right` ([.., M, K] x [.., K, N]): a
// constant operand is a weight (x @ W: output channels on W's last dim; W @ x: on W's
// second-to-last dim), two activations are quantized per token (left, max over K = dim -1)
// and per column (right, max over K = dim -2).
Verdict classifyProduct(Node* n, QuantOp& op, size_t left, size_t right, std::string& why) {
  const bool constLeft = isConstantTensor(n->input(left)), constRight = isConstantTensor(n->input(right));
  if (constLeft && constRight) {
    why = "both operands are constants";
    return Verdict::Unsupported;
  }
  if (!constLeft && !constRight) {
    op.kind = OpKind::ActivationMatmul;
    op.activationSlots = 2;
    op.slotInputIndex = {static_cast<int>(left), static_cast<int>(right)};
    op.slotReduceDims = {std::vector<int64_t>{-1}, std::vector<int64_t>{-2}};
    return Verdict::Quantizable;
  }
  const size_t w = constRight ? right : left;
  op.kind = OpKind::Linear;
  op.activationSlots = 1;
  op.slotInputIndex = {static_cast<int>(constRight ? left : right)};
  op.slotReduceDims[0] = {constRight ? -1 : -2};
  op.weightInputIndex = static_cast<int>(w);
  const torch::Tensor t = constantTensor(n->input(w));
  op.weightShape = t.sizes().vec();
  op.parameters = t.numel();
  const int64_t rank = t.dim();
  op.weightChannelAxis = std::max<int64_t>(0, constRight ? rank - 1 : rank - 2);
  return Verdict::Quantizable;
}

Verdict classifyEinsum(Node* n, QuantOp& op, std::string& why) {
  const auto eq = torch::jit::toIValue(n->input(0));
  if (!eq || !eq->isString()) {
    why = "the equation is not a constant";
    return Verdict::Unsupported;
  }
  const std::string text = eq->toStringRef();
  if (EinsumEquation::isPlainProduct(text)) return Verdict::NotContraction;
  const auto e = EinsumEquation::parse(text, why);
  if (!e) return Verdict::Unsupported;
  op.einsumEquation = text;
  const bool c0 = isConstantTensor(n->input(1)), c1 = isConstantTensor(n->input(2));
  if (c0 && c1) {
    why = "both operands are constants";
    return Verdict::Unsupported;
  }
  if (!c0 && !c1) {
    op.kind = OpKind::ActivationMatmul;
    op.activationSlots = 2;
    op.slotInputIndex = {1, 2};
    op.slotReduceDims = {e->contractedDims(0), e->contractedDims(1)};
    return Verdict::Quantizable;
  }
  const int w = c0 ? 0 : 1;
  op.kind = OpKind::Linear;
  op.activationSlots = 1;
  op.slotInputIndex = {2 - w};
  op.slotReduceDims[0] = e->contractedDims(1 - w);
  op.weightInputIndex = 1 + w;
  const torch::Tensor t = constantTensor(n->input(static_cast<size_t>(1 + w)));
  op.weightShape = t.sizes().vec();
  op.parameters = t.numel();
  // The weight's shape is known: its free dims as non-negative axes.
  for (int64_t d : e->freeDims(w)) op.weightFreeDims.push_back(d < 0 ? d + t.dim() : d);
  if (e->hasEllipsis(w)) {
    // Ellipsis dims of a weight are free too (they appear in the output).
    std::vector<bool> named(static_cast<size_t>(t.dim()), false);
    for (int64_t d : e->freeDims(w)) named[static_cast<size_t>(d < 0 ? d + t.dim() : d)] = true;
    for (int64_t d : e->contractedDims(w)) named[static_cast<size_t>(d < 0 ? d + t.dim() : d)] = true;
    for (int64_t d = 0; d < t.dim(); ++d)
      if (!named[static_cast<size_t>(d)]) op.weightFreeDims.push_back(d);
    std::sort(op.weightFreeDims.begin(), op.weightFreeDims.end());
  }
  op.weightChannelAxis = op.weightFreeDims.empty() ? 0 : op.weightFreeDims.front();
  return Verdict::Quantizable;
}

// Classifies a node: a quantizable op (filled into `op`), a contraction the engine cannot
// quantize (`why` says what is missing), or no contraction at all.
Verdict classify(Node* n, QuantOp& op, std::string& why) {
  const std::string kind = n->kind().toQualString();
  op.atenName = kind;
  auto weightOp = [&](OpKind k, int activationIndex, int weightIndex) {
    if (!isConstantTensor(n->input(weightIndex))) {
      why = "the weight is computed at run time (not a constant of the frozen graph)";
      return Verdict::Unsupported;
    }
    op.kind = k;
    op.slotInputIndex = {activationIndex};
    op.activationSlots = 1;
    op.weightInputIndex = weightIndex;
    torch::Tensor w = constantTensor(n->input(weightIndex));
    op.weightShape = w.sizes().vec();
    op.parameters = w.numel();
    return Verdict::Quantizable;
  };
  if (kind == "aten::conv1d" || kind == "aten::conv2d" || kind == "aten::conv3d" || kind == "aten::conv_transpose1d" ||
      kind == "aten::conv_transpose2d" || kind == "aten::conv_transpose3d" || kind == "aten::_convolution") {
    bool transposed = kind.find("transpose") != std::string::npos;
    if (kind == "aten::_convolution") transposed = constantBool(n->input(6), false);
    const Verdict v = weightOp(transposed ? OpKind::ConvTranspose : OpKind::Conv, 0, 1);
    if (v != Verdict::Quantizable) return v;
    op.spatialDims = static_cast<int>(op.weightShape.size()) - 2;
    op.weightChannelAxis = transposed ? 1 : 0;  // ConvTranspose weights are [Ci, Co/g, k...]
    bool ones = true;
    for (size_t i = 2; i < op.weightShape.size(); ++i) ones = ones && op.weightShape[i] == 1;
    op.pointwise = ones && !transposed;
    return v;
  }
  if (kind == "aten::linear") {
    const Verdict v = weightOp(OpKind::Linear, 0, 1);
    op.weightChannelAxis = 0;  // [Co, Ci]
    op.slotReduceDims[0] = {-1};
    return v;
  }
  if (kind == "aten::addmm" || kind == "aten::baddbmm") return classifyProduct(n, op, 1, 2, why);  // bias + a @ b
  if (kind == "aten::matmul" || kind == "aten::bmm" || kind == "aten::mm") return classifyProduct(n, op, 0, 1, why);
  if (n->kind() == twoOperandEinsumSymbol()) return classifyEinsum(n, op, why);
  if (kind == "aten::einsum") {
    // Not rewritten to mqb::einsum: more than two operands, or operands not in a plain list.
    const auto eq = torch::jit::toIValue(n->input(0));
    Node* list = n->input(1)->node();
    if (eq && eq->isString() && EinsumEquation::isPlainProduct(eq->toStringRef())) return Verdict::NotContraction;
    why = list->kind() == c10::prim::ListConstruct
              ? "einsum with " + std::to_string(list->inputs().size()) + " operands (only two are mapped)"
              : "einsum operands not given as a literal list";
    return Verdict::Unsupported;
  }
  return Verdict::NotContraction;
}

Verdict classify(Node* n) {
  QuantOp probe;
  std::string why;
  return classify(n, probe, why);
}

void collect(torch::jit::Block* block, std::vector<Node*>& out, bool quantizableOnly) {
  for (Node* n : block->nodes()) {
    const Verdict v = classify(n);
    if (v == Verdict::Quantizable || (v == Verdict::Unsupported && !quantizableOnly)) out.push_back(n);
    for (torch::jit::Block* b : n->blocks()) collect(b, out, quantizableOnly);
  }
}

// Type names without TorchScript's "___torch_mangle_N." uniquing (clones get new ones).
std::string demangled(std::string name) {
  static const std::string tag = "___torch_mangle_";
  for (size_t p; (p = name.find(tag)) != std::string::npos;) {
    size_t e = name.find('.', p);
    name.erase(p, e == std::string::npos ? std::string::npos : e - p + 1);
  }
  return name;
}

// Every submodule of the model: its path and the type of each module along it.
struct ModulePath {
  std::vector<std::string> names;
  std::vector<std::string> types;
};

void listModules(const torch::jit::Module& m, ModulePath prefix, std::vector<ModulePath>& out) {
  for (const auto& child : m.named_children()) {
    ModulePath p = prefix;
    p.names.push_back(child.name);
    p.types.push_back(demangled(child.value.type()->name() ? child.value.type()->name()->qualifiedName() : ""));
    out.push_back(p);
    listModules(child.value, p, out);
  }
}

// The frames of a node's inlined call stack: (instance name, module type) from the outermost
// call inwards. A scripted module calling its own method adds a frame named "SELF": skipped.
std::vector<std::pair<std::string, std::string>> framesOf(Node* n) {
  std::vector<std::pair<std::string, std::string>> frames;
  auto cs = n->callstack();
  if (!cs) return frames;
  torch::jit::InlinedCallStackPtr frame = *cs;
  while (frame) {
    if (auto info = frame->module_instance()) {
      const std::string name = info->instance_name();
      if (!name.empty() && name != "SELF") {
        auto type = info->class_type();
        frames.emplace_back(name, demangled(type && type->name() ? type->name()->qualifiedName() : ""));
      }
    }
    auto callee = frame->callee();
    frame = callee ? *callee : torch::jit::InlinedCallStackPtr();
  }
  return frames;
}

// The module path of an op. The call stack names each called module by its attribute name
// only, so modules reached through a container (nn.ModuleList / Sequential / ModuleDict
// entries, e.g. encoder.3 and decoder.3 of a U-Net) lose the container's name. The full
// path is recovered from the model's module tree: the one path whose modules, in order,
// have the frames' names and types (containers may be skipped), ending at the innermost
// frame. Without a unique match the frame names are used as they are.
std::string modulePathOf(Node* n, const std::vector<ModulePath>& modules) {
  if (n->hasAttribute(modulePathAttribute())) return n->s(modulePathAttribute());
  const auto frames = framesOf(n);
  std::string plain;
  for (const auto& f : frames) plain += (plain.empty() ? "" : ".") + f.first;
  if (frames.empty()) return plain;
  const ModulePath* found = nullptr;
  int matches = 0;
  for (const ModulePath& m : modules) {
    if (m.names.size() < frames.size() || m.names.back() != frames.back().first ||
        m.types.back() != frames.back().second)
      continue;
    size_t j = 0;
    bool ok = true;
    for (size_t f = 0; f < frames.size() && ok; ++f) {
      while (j < m.names.size() && !(m.names[j] == frames[f].first && m.types[j] == frames[f].second)) ++j;
      if (j == m.names.size())
        ok = false;
      else
        ++j;
    }
    if (ok && j == m.names.size()) {
      found = &m;
      ++matches;
    }
  }
  if (matches != 1) return plain;
  std::string path;
  for (const auto& part : found->names) path += (path.empty() ? "" : ".") + part;
  return path;
}

// The attribute path of a module value: the chain of prim::GetAttr from the graph's `self`
// ("swinViT.layers2.0"), or nullopt when the module comes from elsewhere.
std::optional<std::string> attributePath(Value* v, Value* self) {
  std::vector<std::string> parts;
  while (v != self) {
    Node* n = v->node();
    if (n->kind() != c10::prim::GetAttr) return std::nullopt;
    parts.push_back(n->s(c10::attr::name));
    v = n->input(0);
  }
  std::string path;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) path += (path.empty() ? "" : ".") + *it;
  return path;
}

Node* firstModuleCall(torch::jit::Block* block) {
  for (Node* n : block->nodes()) {
    if (n->kind() == c10::prim::CallMethod && n->input(0)->type()->cast<c10::ClassType>()) return n;
    for (torch::jit::Block* b : n->blocks())
      if (Node* c = firstModuleCall(b)) return c;
  }
  return nullptr;
}

void forEachNode(torch::jit::Block* block, const std::function<void(Node*)>& f) {
  for (Node* n : block->nodes()) {
    f(n);
    for (torch::jit::Block* b : n->blocks()) forEachNode(b, f);
  }
}

// Modules reachable by several paths: nnU-Net's ConvDropoutNormReLU runs its `conv` as
// `all_modules.0`, its decoder reaches the encoder as `decoder.encoder`. Scripting and
// tracing turn such a shared module into separate objects that share their parameter
// tensors, so "the same module" is: same type, same parameter tensors (and at least one).
// It is named by its first path in registration order, as named_modules() lists it.
std::string sharedModuleKey(const torch::jit::Module& m) {
  std::string key;
  for (const auto& p : m.parameters(/*recurse=*/true))
    key += std::to_string(reinterpret_cast<uintptr_t>(p.unsafeGetTensorImpl())) + ",";
  if (key.empty()) return key;
  return demangled(m.type()->name() ? m.type()->name()->qualifiedName() : "") + ":" + key;
}

void firstPaths(const torch::jit::Module& m, const std::string& prefix,
                std::unordered_map<std::string, std::string>& out) {
  for (const auto& child : m.named_children()) {
    const std::string path = prefix.empty() ? child.name : prefix + "." + child.name;
    const std::string key = sharedModuleKey(child.value);
    if (!key.empty()) out.emplace(key, path);
    firstPaths(child.value, path, out);
  }
}

std::string canonicalPath(const torch::jit::Module& root, const std::string& path,
                          const std::unordered_map<std::string, std::string>& first) {
  torch::jit::Module m = root;
  size_t start = 0;
  while (start < path.size()) {
    const size_t dot = path.find('.', start);
    const std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!m.hasattr(part)) return path;
    const c10::IValue v = m.attr(part);
    if (!v.isObject() || !v.toObject()->type()->is_module()) return path;
    m = torch::jit::Module(v.toObject());
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  auto it = first.find(sharedModuleKey(m));
  return it == first.end() ? path : it->second;
}

// Inlines every module method call of `m`'s forward graph in place, before freezing, and
// records the full module path of each inlined contraction (modulePathAttribute). TorchScript's own inliner names a called module only by its last attribute,
// so modules reached through a container (ModuleList / Sequential / ModuleDict entries, the
// unrolled `for blk in self.blocks:` of scripted and traced models) lose the container:
// every stage's first block would be ".0". Here the path is read from the GetAttr chain of
// the call's module, which after inlining its callers always starts at the top `self`.
// `original` is the module as loaded (first paths are read from its parameters).
void inlineWithModulePaths(torch::jit::Module& m, const torch::jit::Module& original) {
  torch::jit::Method forward = m.get_method("forward");
  std::shared_ptr<torch::jit::Graph> graph = forward.graph();
  Value* self = graph->inputs().at(0);
  std::unordered_map<Node*, std::pair<std::string, c10::ClassTypePtr>> pathOf;
  while (Node* call = firstModuleCall(graph->block())) {
    auto type = call->input(0)->type()->expect<c10::ClassType>();
    auto path = attributePath(call->input(0), self);
    auto known = pathOf.find(call);
    if (!path) path = known != pathOf.end() ? known->second.first : std::string();
    if (known != pathOf.end()) pathOf.erase(known);  // the call node is destroyed below
    auto& callee = torch::jit::toGraphFunction(type->getMethod(call->s(c10::attr::name)));
    callee.ensure_defined();
    Node* before = call->prev();
    Node* after = call->next();
    torch::jit::inlineCallTo(call, &callee, callee.graph().get());
    for (Node* k = before->next(); k != after; k = k->next()) {
      pathOf[k] = {*path, type};
      for (torch::jit::Block* b : k->blocks()) forEachNode(b, [&](Node* x) { pathOf[x] = {*path, type}; });
    }
  }
  torch::jit::Inline(*graph);  // free functions
  std::unordered_map<std::string, std::string> canonical;
  firstPaths(original, "", canonical);
  std::map<std::string, std::string> canonicalOf;
  forEachNode(graph->block(), [&](Node* n) {
    auto it = pathOf.find(n);
    if (it == pathOf.end() || it->second.first.empty() || contractionLabel(n->kind().toQualString()).empty()) return;
    auto c = canonicalOf.find(it->second.first);
    if (c == canonicalOf.end())
      c = canonicalOf.emplace(it->second.first, canonicalPath(original, it->second.first, canonical)).first;
    n->s_(modulePathAttribute(), c->second);
  });
}

// Every node after `n` in execution order (n must be in the graph's top-level block), with
// the nodes of nested blocks.
void forEachLaterNode(Node* n, const std::function<void(Node*)>& f) {
  std::function<void(torch::jit::Block*)> visitBlock = [&](torch::jit::Block* b) {
    for (Node* m : b->nodes()) {
      f(m);
      for (torch::jit::Block* inner : m->blocks()) visitBlock(inner);
    }
  };
  for (Node* m = n->next(); m != n->owningBlock()->return_node(); m = m->next()) {
    f(m);
    for (torch::jit::Block* inner : m->blocks()) visitBlock(inner);
  }
}

// True when the op node `n` is the last reader of the memory of its input `in`: the
// quantization hook may then write the quantized values into that tensor instead of
// allocating a copy (activations of a 3D network are tens of MB; a fresh allocation of
// that size is an mmap + page faults, most of the cost of fake-quantizing it). Decided
// conservatively: no later node, graph output or list may read anything that may alias
// `in`, and `in` is neither (an alias of) a graph input nor a constant.
bool lastReader(torch::jit::AliasDb& db, torch::jit::Graph& g, Node* n, size_t inputIndex) {
  Value* in = n->input(inputIndex);
  if (n->owningBlock() != g.block()) return false;  // loops may read it again
  if (in->node()->kind() == c10::prim::Constant) return false;
  if (!in->type()->cast<c10::TensorType>()) return false;
  for (Value* gi : g.inputs())
    if (db.mayContainAlias(gi, in)) return false;
  for (size_t i = 0; i < n->inputs().size(); ++i)
    if (i != inputIndex && db.mayContainAlias(n->input(i), in)) return false;
  bool read = false;
  forEachLaterNode(n, [&](Node* m) {
    if (read) return;
    if (m->kind() == c10::prim::Constant) {
      if (m->outputs().size() == 1 && db.mayAlias(m->output(), in)) read = true;
      return;
    }
    for (Value* v : m->inputs())
      if (db.mayContainAlias(v, in)) read = true;
  });
  if (read) return false;
  for (Value* o : g.outputs())
    if (db.mayContainAlias(o, in)) return false;
  return true;
}

// True when no node after `n` may write into the memory of `v` (an in-place op on it or on
// a view of it).
bool unwrittenAfter(torch::jit::AliasDb& db, Node* n, Value* v) {
  if (n->owningBlock() != n->owningGraph()->block()) return false;
  const torch::jit::ValueSet set{v};
  bool written = false;
  forEachLaterNode(n, [&](Node* m) {
    if (!written && db.writesToAlias(m, set)) written = true;
  });
  return !written;
}

}  // namespace

std::vector<Node*> quantizableNodes(torch::jit::Graph& graph) {
  std::vector<Node*> nodes;
  collect(graph.block(), nodes, true);
  return nodes;
}

std::vector<Node*> contractionNodes(torch::jit::Graph& graph) {
  std::vector<Node*> nodes;
  collect(graph.block(), nodes, false);
  return nodes;
}

QuantizableGraph::QuantizableGraph(const torch::jit::Module& module, const std::string& source) : source_(source) {
  try {
    torch::jit::Module copy = module.clone();
    copy.eval();
    try {
      inlineWithModulePaths(copy, module);
    } catch (const std::exception&) {
      // Unusual call structure: freezing inlines it, op names then use the attribute names
      // of the call stack (modulePathOf below).
      copy = module.clone();
      copy.eval();
    }
    frozen_ = torch::jit::freeze(copy);
    graph_ = frozen_.get_method("forward").graph();
    torch::jit::Inline(*graph_);
    rewriteTwoOperandEinsums(*graph_);
  } catch (const std::exception& e) {
    std::string what = e.what();
    throw Error(source + ": cannot freeze the model's graph for quantization (" + what.substr(0, what.find('\n')) + ")");
  }
  std::vector<Node*> nodes = quantizableNodes(*graph_);
  if (nodes.empty())
    throw Error(source + ": the model has no quantizable operation (conv, linear, matmul or einsum)");

  std::vector<ModulePath> modules;
  listModules(module, {}, modules);
  const std::vector<Node*> contractions = contractionNodes(*graph_);
  for (size_t position = 0; position < contractions.size(); ++position) {
    Node* n = contractions[position];
    QuantOp op;
    std::string why;
    if (classify(n, op, why) == Verdict::Quantizable) {
      op.index = static_cast<int>(ops_.size());
      op.position = static_cast<int>(position);
      op.modulePath = modulePathOf(n, modules);
      ops_.push_back(op);
    } else {
      UnsupportedContraction u;
      u.position = static_cast<int>(position);
      u.modulePath = modulePathOf(n, modules);
      u.atenName = n->kind().toQualString();
      u.reason = why;
      unsupported_.push_back(u);
    }
  }

  try {
    torch::jit::AliasDb db(graph_, /*isFrozen=*/true);
    for (QuantOp& op : ops_) {
      Node* n = nodes[static_cast<size_t>(op.index)];
      for (int s = 0; s < op.activationSlots; ++s) {
        const size_t input = static_cast<size_t>(op.slotInputIndex[s]);
        op.inputOverwritable[s] = lastReader(db, *graph_, n, input);
        op.inputStable[s] = unwrittenAfter(db, n, n->input(input));
      }
      op.outputStable = !db.hasWriters(n->output(0));
    }
  } catch (const std::exception&) {
    // Alias analysis is an optimisation only: without it every activation is copied.
    for (QuantOp& op : ops_) {
      op.inputOverwritable = {false, false};
      op.inputStable = {false, false};
      op.outputStable = false;
    }
  }

  nodes_ = nodes;
  markEdgeOps(*graph_, nodes_, ops_);

  // A module holding one op is named by its path; several ops in one module (attention)
  // get their kind and an occurrence number.
  std::map<std::string, int> perModule;
  for (const QuantOp& op : ops_) perModule[op.modulePath]++;
  std::map<std::string, int> seen;
  for (QuantOp& op : ops_) {
    if (!op.modulePath.empty() && perModule[op.modulePath] == 1) {
      op.name = op.modulePath;
    } else {
      const std::string base = (op.modulePath.empty() ? "" : op.modulePath + ".") + opLabel(op);
      const int k = seen[base]++;
      op.name = k == 0 ? base : base + "_" + std::to_string(k);
    }
  }
  // Unsupported contractions: named like ops with several per module, and never like an op.
  for (UnsupportedContraction& u : unsupported_) {
    const std::string base = (u.modulePath.empty() ? "" : u.modulePath + ".") + contractionLabel(u.atenName);
    std::string name;
    do {
      const int k = seen[base]++;
      name = k == 0 ? base : base + "_" + std::to_string(k);
    } while (hasOp(name));
    u.name = name;
  }
}

torch::Tensor QuantizableGraph::weight(const QuantOp& op) const {
  if (op.weightInputIndex < 0) return {};
  return torch::jit::toIValue(node(op)->input(static_cast<size_t>(op.weightInputIndex)))->toTensor();
}

int QuantizableGraph::biasInputIndex(const QuantOp& op) const {
  // aten::linear(input, weight, bias) and every convolution form (input, weight, bias, ...).
  if (op.atenName == "aten::linear" || op.kind == OpKind::Conv || op.kind == OpKind::ConvTranspose) return 2;
  return -1;
}

bool QuantizableGraph::biasIsConstant(const QuantOp& op) const {
  const int i = biasInputIndex(op);
  return i >= 0 && torch::jit::toIValue(node(op)->input(static_cast<size_t>(i))).has_value();
}

c10::optional<torch::Tensor> QuantizableGraph::bias(const QuantOp& op) const {
  const int i = biasInputIndex(op);
  if (i < 0) return c10::nullopt;
  const auto value = torch::jit::toIValue(node(op)->input(static_cast<size_t>(i)));
  if (!value || !value->isTensor()) return c10::nullopt;
  return value->toTensor();
}

Precision precisionOf(const QuantConfig& config, const QuantOp& op) { return config.precisionOf(op.name, op.edge()); }

bool QuantizableGraph::hasOp(const std::string& name) const {
  for (const auto& op : ops_)
    if (op.name == name) return true;
  return false;
}

const QuantOp& QuantizableGraph::op(const std::string& name) const {
  for (const auto& op : ops_)
    if (op.name == name) return op;
  std::string known;
  int listed = 0;
  for (const auto& op : ops_) {
    if (listed++ == 8) {
      known += ", ...";
      break;
    }
    known += (known.empty() ? "" : ", ") + op.name;
  }
  throw Error(source_ + ": no quantizable op named '" + name + "' (" + std::to_string(ops_.size()) +
              " ops: " + known + "; see medquanbench-cli inspect)");
}

QuantizableGraph::GraphCopy QuantizableGraph::copyGraph() const {
  GraphCopy c;
  c.graph = graph_->copy();
  c.nodes = quantizableNodes(*c.graph);
  if (c.nodes.size() != ops_.size()) throw Error(source_ + ": internal error copying the graph");
  return c;
}

}  // namespace mqb::quant
