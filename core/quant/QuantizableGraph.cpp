#include "quant/QuantizableGraph.h"

#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/ir/alias_analysis.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/inliner.h>

#include <functional>
#include <map>

#include "Error.h"

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

namespace {

bool isConstantTensor(Value* v) {
  auto iv = torch::jit::toIValue(v);
  return iv && iv->isTensor();
}

torch::Tensor constantTensor(Value* v) { return torch::jit::toIValue(v)->toTensor(); }

bool constantBool(Value* v, bool fallback) {
  auto iv = torch::jit::toIValue(v);
  return iv && iv->isBool() ? iv->toBool() : fallback;
}

// Classifies a node; false when it is not a quantizable op.
bool classify(Node* n, QuantOp& op) {
  const std::string kind = n->kind().toQualString();
  op.atenName = kind;
  auto weightOp = [&](OpKind k, int activationIndex, int weightIndex) {
    if (!isConstantTensor(n->input(weightIndex))) return false;
    op.kind = k;
    op.slotInputIndex = {activationIndex};
    op.activationSlots = 1;
    op.weightInputIndex = weightIndex;
    torch::Tensor w = constantTensor(n->input(weightIndex));
    op.weightShape = w.sizes().vec();
    op.parameters = w.numel();
    return true;
  };
  if (kind == "aten::conv1d" || kind == "aten::conv2d" || kind == "aten::conv3d" ||
      kind == "aten::conv_transpose1d" || kind == "aten::conv_transpose2d" ||
      kind == "aten::conv_transpose3d" || kind == "aten::_convolution") {
    bool transposed = kind.find("transpose") != std::string::npos;
    if (kind == "aten::_convolution") transposed = constantBool(n->input(6), false);
    if (!weightOp(transposed ? OpKind::ConvTranspose : OpKind::Conv, 0, 1)) return false;
    op.spatialDims = static_cast<int>(op.weightShape.size()) - 2;
    op.weightChannelAxis = transposed ? 1 : 0;  // ConvTranspose weights are [Ci, Co/g, k...]
    bool ones = true;
    for (size_t i = 2; i < op.weightShape.size(); ++i) ones = ones && op.weightShape[i] == 1;
    op.pointwise = ones && !transposed;
    return true;
  }
  if (kind == "aten::linear") {
    if (!weightOp(OpKind::Linear, 0, 1)) return false;
    op.weightChannelAxis = 0;  // [Co, Ci]
    return true;
  }
  if (kind == "aten::addmm") {  // bias + x @ W^T as traced linear layers appear
    if (!weightOp(OpKind::Linear, 1, 2)) return false;
    op.weightChannelAxis = 1;  // the constant is W^T: [Ci, Co]
    return true;
  }
  if (kind == "aten::matmul" || kind == "aten::bmm") {
    if (isConstantTensor(n->input(1))) {
      if (!weightOp(OpKind::Linear, 0, 1)) return false;
      op.weightChannelAxis = static_cast<int64_t>(op.weightShape.size()) - 1;  // x @ W, W [.., Ci, Co]
      return true;
    }
    if (isConstantTensor(n->input(0))) return false;
    op.kind = OpKind::ActivationMatmul;
    op.activationSlots = 2;
    op.slotInputIndex = {0, 1};
    return true;
  }
  return false;
}

void collect(torch::jit::Block* block, std::vector<Node*>& out) {
  for (Node* n : block->nodes()) {
    QuantOp probe;
    if (classify(n, probe)) out.push_back(n);
    for (torch::jit::Block* b : n->blocks()) collect(b, out);
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
      if (j == m.names.size()) ok = false;
      else ++j;
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
  collect(graph.block(), nodes);
  return nodes;
}

QuantizableGraph::QuantizableGraph(const torch::jit::Module& module, const std::string& source)
    : source_(source) {
  try {
    torch::jit::Module copy = module.clone();
    copy.eval();
    frozen_ = torch::jit::freeze(copy);
    graph_ = frozen_.get_method("forward").graph();
    torch::jit::Inline(*graph_);
  } catch (const std::exception& e) {
    std::string what = e.what();
    throw Error(source + ": cannot freeze the model's graph for quantization (" +
                what.substr(0, what.find('\n')) + ")");
  }
  std::vector<Node*> nodes = quantizableNodes(*graph_);
  if (nodes.empty())
    throw Error(source + ": the model has no quantizable operation (conv, linear or matmul)");

  std::vector<ModulePath> modules;
  listModules(module, {}, modules);
  for (Node* n : nodes) {
    QuantOp op;
    classify(n, op);
    op.index = static_cast<int>(ops_.size());
    op.modulePath = modulePathOf(n, modules);
    ops_.push_back(op);
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

  // A module holding one op is named by its path; several ops in one module (attention)
  // get their kind and an occurrence number.
  std::map<std::string, int> perModule;
  for (const QuantOp& op : ops_) perModule[op.modulePath]++;
  std::map<std::string, int> seen;
  for (QuantOp& op : ops_) {
    if (!op.modulePath.empty() && perModule[op.modulePath] == 1) {
      op.name = op.modulePath;
    } else {
      const std::string base = (op.modulePath.empty() ? "" : op.modulePath + ".") + opKindName(op.kind);
      const int k = seen[base]++;
      op.name = k == 0 ? base : base + "_" + std::to_string(k);
    }
  }
}

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
