#include "runtime/FastConvolutions.h"

#include "runtime/EnvSwitch.h"
#include "runtime/JitGraph.h"
#include "runtime/StrideTransposedConvolution.h"

#include <ATen/Context.h>
#include <torch/csrc/jit/passes/frozen_ops_to_mkldnn.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace mqb {
namespace {

std::atomic<bool>& fastSwitch() {
  static std::atomic<bool> enabled{!envSwitchOff("MQB_FAST_CONV")};
  return enabled;
}

// LibTorch turns aten::_convolution (what tracing records) into aten::conv3d before it
// looks for oneDNN candidates, through a subgraph rewrite whose matcher also compares the
// number of node attributes. A convolution that carries one (QuantizableGraph names its ops
// with a module-path attribute, which every graph copied from it keeps) is not rewritten,
// so it silently stays on LibTorch's native kernels. The attribute has served its purpose
// once the graph is copied: drop it.
void dropConvolutionAttributes(torch::jit::Block* block) {
  for (torch::jit::Node* node : nodesOfKind(block, c10::Symbol::fromQualString("aten::_convolution")))
    for (c10::Symbol name : node->attributeNames()) node->removeAttribute(name);
}

}  // namespace

bool fastConvolutionsEnabled() { return fastSwitch().load(); }
void setFastConvolutions(bool enabled) { fastSwitch().store(enabled); }

int useFastConvolutions(std::shared_ptr<torch::jit::Graph>& graph) {
  if (!fastConvolutionsEnabled() || !at::hasMKLDNN()) return 0;
  dropConvolutionAttributes(graph->block());
  // Before the oneDNN pass: the pointwise convolutions it creates go to oneDNN too.
  static const bool transposedRoute = !envSwitchOff("MQB_STRIDE_TRANSPOSED");
  if (transposedRoute) useStrideTransposedConvolutions(*graph);
  torch::jit::ConvertFrozenOpsToMKLDNN(graph);
  // Each rewritten transposed convolution is one oneDNN (pointwise) convolution now.
  return static_cast<int>(nodesOfKind(graph->block(), c10::Symbol::fromQualString("prim::mkldnn_convolution")).size());
}

}  // namespace mqb
