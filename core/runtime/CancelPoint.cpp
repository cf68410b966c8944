#include "runtime/CancelPoint.h"

#include "runtime/EnvSwitch.h"

#include <cstdlib>
#include <string>

#include <ATen/core/Tensor.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/library.h>

#include <unordered_set>

namespace mqb {
namespace {

thread_local const Feedback* t_watched = nullptr;

at::Tensor cancelPoint(const at::Tensor& x) {
  const Feedback* f = t_watched;
  if (f && f->isCanceled()) TORCH_CHECK(false, kCancelPointMessage);
  return x;
}

const c10::Symbol& cancelPointSymbol() {
  static const c10::Symbol s = c10::Symbol::fromQualString("mqb::cancel_point");
  return s;
}

// The nodes that take long enough to be worth a check after them. Everything else in a
// segmentation network (activations, norms, adds, resampling) costs a fraction of the
// convolution before it.
bool isHeavy(const torch::jit::Node* n) {
  static const std::unordered_set<std::string> kinds = {"aten::conv1d",
                                                        "aten::conv2d",
                                                        "aten::conv3d",
                                                        "aten::_convolution",
                                                        "aten::convolution",
                                                        "aten::conv_transpose1d",
                                                        "aten::conv_transpose2d",
                                                        "aten::conv_transpose3d",
                                                        "aten::linear",
                                                        "aten::matmul",
                                                        "aten::bmm",
                                                        "aten::mm",
                                                        "aten::addmm",
                                                        "aten::einsum",
                                                        "prim::mkldnn_convolution",
                                                        "mqb::act",
                                                        "mqb::act_leaky",
                                                        "mqb::act_norm",
                                                        "mqb::out",
                                                        "mqb::einsum",
                                                        "quantized::conv1d",
                                                        "quantized::conv2d",
                                                        "quantized::conv3d",
                                                        "quantized::conv_transpose1d",
                                                        "quantized::conv_transpose2d",
                                                        "quantized::conv_transpose3d",
                                                        "quantized::linear"};
  return kinds.count(n->kind().toQualString()) != 0;
}

int insertIn(torch::jit::Block* block, torch::jit::Graph& graph) {
  int inserted = 0;
  std::vector<torch::jit::Node*> heavy;
  for (torch::jit::Node* n : block->nodes()) {
    for (torch::jit::Block* sub : n->blocks()) inserted += insertIn(sub, graph);
    if (isHeavy(n) && n->outputs().size() == 1 && n->output()->type()->kind() == c10::TypeKind::TensorType)
      heavy.push_back(n);
  }
  for (torch::jit::Node* n : heavy) {
    torch::jit::Value* y = n->output();
    torch::jit::Node* point = graph.create(cancelPointSymbol(), {y});
    point->insertAfter(n);
    point->output()->setType(y->type());
    y->replaceAllUsesWith(point->output());
    point->replaceInput(0, y);
    ++inserted;
  }
  return inserted;
}

int countIn(const torch::jit::Block* block) {
  int n = 0;
  for (const torch::jit::Node* node : block->nodes()) {
    if (node->kind() == cancelPointSymbol()) ++n;
    for (const torch::jit::Block* sub : node->blocks()) n += countIn(sub);
  }
  return n;
}

}  // namespace

// FROM_SCHEMA with an alias annotation: the output is the input, so alias analysis (and the
// in-place ops after a convolution) see one tensor and no copy is made. A catch-all kernel:
// the input may be a dense, oneDNN or quantized tensor.
TORCH_LIBRARY_FRAGMENT(mqb, m) {
  m.def(torch::schema("mqb::cancel_point(Tensor(a) x) -> Tensor(a)", c10::AliasAnalysisKind::FROM_SCHEMA), cancelPoint);
}

int insertCancelPoints(torch::jit::Graph& graph) {
  // MQB_CANCEL_POINTS=0: graphs without the points, for A/B timing (Cancel then waits for
  // the window, as before the points existed).
  static const bool enabled = !envSwitchOff("MQB_CANCEL_POINTS");
  return enabled ? insertIn(graph.block(), graph) : 0;
}

int countCancelPoints(const torch::jit::Graph& graph) { return countIn(graph.block()); }

CancelScope::CancelScope(const Feedback* feedback) : previous_(t_watched) { t_watched = feedback; }

CancelScope::~CancelScope() { t_watched = previous_; }

const Feedback* watchedFeedback() { return t_watched; }

}  // namespace mqb
