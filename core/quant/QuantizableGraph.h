#pragma once
// The quantizable operations of ANY TorchScript model (SPEC section 4), found in its
// frozen, inlined forward graph: conv (incl. transposed), linear / addmm, and matmul /
// bmm between two activations. Each gets a stable readable name from the module path in
// the node's inlined call stack (e.g. "encoder.2.conv1"). No model-specific code.
#include <torch/script.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

namespace mqb::quant {

enum class OpKind { Conv, ConvTranspose, Linear, ActivationMatmul };
std::string opKindName(OpKind k);  // "conv", "conv_transpose", "linear", "matmul"

struct QuantOp {
  int index = 0;             // position in graph order
  std::string name;          // stable, human-readable
  std::string modulePath;    // "" for ops in the top-level forward
  OpKind kind = OpKind::Conv;
  std::string atenName;      // "aten::conv3d", ...
  int spatialDims = 0;       // 3 for conv3d
  bool pointwise = false;    // 1x1x1 convolution: a linear layer at every voxel
  std::vector<int64_t> weightShape;  // empty for activation matmuls
  int64_t weightChannelAxis = 0;     // "per output channel" axis of the weight
  int activationSlots = 1;           // node inputs quantized as activations (2 for matmul)
  std::vector<int> slotInputIndex;   // node input index of each slot
  int weightInputIndex = -1;
  int64_t parameters = 0;            // weight elements
  // Decided once with the JIT alias analysis of the clean graph (see QuantizableGraph.cpp):
  // the op is the last reader of this slot's input, so quantization may overwrite it.
  std::array<bool, 2> inputOverwritable{false, false};
  // Nothing in the graph writes into the op's output after it is produced, so a reference
  // to it stays valid for the rest of the forward (no copy needed to keep it).
  bool outputStable = false;
  // Nothing writes into this slot's input after the op read it: a reference keeps the
  // FP32 value for the rest of the forward.
  std::array<bool, 2> inputStable{false, false};
};

class QuantizableGraph {
 public:
  // `module` in eval mode. Throws mqb::Error (naming `source`) when the model has no
  // quantizable operation or cannot be frozen.
  QuantizableGraph(const torch::jit::Module& module, const std::string& source);

  const std::vector<QuantOp>& ops() const { return ops_; }
  const QuantOp& op(const std::string& name) const;  // mqb::Error listing close names
  bool hasOp(const std::string& name) const;
  const std::string& source() const { return source_; }

  // A fresh copy of the frozen forward graph and the node of each op in that copy.
  struct GraphCopy {
    std::shared_ptr<torch::jit::Graph> graph;
    std::vector<torch::jit::Node*> nodes;  // indexed like ops()
  };
  GraphCopy copyGraph() const;
  // The frozen module's object, passed as `self` when running a graph copy.
  torch::jit::IValue self() const { return frozen_._ivalue(); }

 private:
  torch::jit::Module frozen_;
  std::shared_ptr<torch::jit::Graph> graph_;
  std::vector<QuantOp> ops_;
  std::string source_;
};

// The op's nodes of a graph in graph order (same traversal as discovery).
std::vector<torch::jit::Node*> quantizableNodes(torch::jit::Graph& graph);

}  // namespace mqb::quant
