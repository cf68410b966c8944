#include "FastConvolutions.h"

#include <ATen/Context.h>
#include <torch/csrc/jit/passes/frozen_ops_to_mkldnn.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace mqb {
namespace {

std::atomic<bool>& fastSwitch() {
  static std::atomic<bool> enabled{[] {
    const char* v = std::getenv("MQB_FAST_CONV");
    return !(v && std::strcmp(v, "0") == 0);
  }()};
  return enabled;
}

int countIn(torch::jit::Block* block, c10::Symbol kind) {
  int n = 0;
  for (torch::jit::Node* node : block->nodes()) {
    if (node->kind() == kind) ++n;
    for (torch::jit::Block* sub : node->blocks()) n += countIn(sub, kind);
  }
  return n;
}

}  // namespace

bool fastConvolutionsEnabled() { return fastSwitch().load(); }
void setFastConvolutions(bool enabled) { fastSwitch().store(enabled); }

int useFastConvolutions(std::shared_ptr<torch::jit::Graph>& graph) {
  if (!fastConvolutionsEnabled() || !at::hasMKLDNN()) return 0;
  torch::jit::ConvertFrozenOpsToMKLDNN(graph);
  return countIn(graph->block(), c10::Symbol::fromQualString("prim::mkldnn_convolution"));
}

}  // namespace mqb
