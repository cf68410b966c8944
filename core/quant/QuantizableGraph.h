#pragma once
// The quantizable operations of ANY TorchScript model (SPEC section 4), found in its
// frozen, inlined forward graph: conv (incl. transposed), linear / addmm, matmul / mm /
// bmm / baddbmm with a constant operand (a weight) or between two activations, and einsum
// with two operands. Each gets a stable readable name from its module path through every
// container (e.g. "encoder.stages.2.0.convs.1.conv"). Contractions the engine cannot map
// are kept too (unsupported(), with the reason), so coverage is never silent. No
// model-specific code.
#include <torch/script.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "quant/QuantConfig.h"

namespace mqb::quant {

enum class OpKind { Conv, ConvTranspose, Linear, ActivationMatmul };
std::string opKindName(OpKind k);  // "conv", "conv_transpose", "linear", "matmul"

struct QuantOp {
  int index = 0;           // position in graph order
  std::string name;        // stable, human-readable
  std::string modulePath;  // "" for ops in the top-level forward
  OpKind kind = OpKind::Conv;
  std::string atenName;              // "aten::conv3d", ...
  int spatialDims = 0;               // 3 for conv3d
  bool pointwise = false;            // 1x1x1 convolution: a linear layer at every voxel
  std::vector<int64_t> weightShape;  // empty for activation matmuls
  int64_t weightChannelAxis = 0;     // "per output channel" axis of the weight
  int activationSlots = 1;           // node inputs quantized as activations (2 for matmul)
  std::vector<int> slotInputIndex;   // node input index of each slot
  int weightInputIndex = -1;
  int64_t parameters = 0;  // weight elements
  // Dims each activation slot's dynamic (per-token / per-column) scale reduces over: the
  // contracted dims of that operand (-1 for a linear input, -2 for the right operand of a
  // matmul; an einsum operand's contracted indices, possibly several). Negative dims count
  // from the end. Unused for convolutions (they reduce over channels, dim 1).
  std::array<std::vector<int64_t>, 2> slotReduceDims;
  // einsum only: the equation, and the weight's free dims (one scale per combination of
  // them; empty for a weight summed over entirely, which gets one scale).
  std::string einsumEquation;
  std::vector<int64_t> weightFreeDims;
  int position = 0;  // among all contractions of the graph (supported or not), graph order
  // Decided once with the JIT alias analysis of the clean graph (see QuantizableGraph.cpp):
  // the op is the last reader of this slot's input, so quantization may overwrite it.
  std::array<bool, 2> inputOverwritable{false, false};
  // Nothing in the graph writes into the op's output after it is produced, so a reference
  // to it stays valid for the rest of the forward (no copy needed to keep it).
  bool outputStable = false;
  // Nothing writes into this slot's input after the op read it: a reference keeps the
  // FP32 value for the rest of the forward.
  std::array<bool, 2> inputStable{false, false};
  // Edge layers (SPEC section 10): no contraction lies between the model input and this
  // op's input / between its output and the model output (no contraction depends on it).
  bool readsModelInput = false;
  bool producesModelOutput = false;
  bool edge() const { return readsModelInput || producesModelOutput; }
};

// "einsum" for einsum ops, else opKindName(kind): the word op names and listings use.
std::string opLabel(const QuantOp& op);

// A contraction of the graph the engine cannot quantize: it runs in FP32 under any config.
struct UnsupportedContraction {
  int position = 0;  // among all contractions, graph order
  std::string name;  // module path and kind, like op names
  std::string modulePath;
  std::string atenName;
  std::string reason;  // "einsum with 3 operands", ...
};

class QuantizableGraph {
 public:
  // `module` in eval mode. Throws mqb::Error (naming `source`) when the model has no
  // quantizable operation or cannot be frozen.
  QuantizableGraph(const torch::jit::Module& module, const std::string& source);

  const std::vector<QuantOp>& ops() const { return ops_; }
  const std::vector<UnsupportedContraction>& unsupported() const { return unsupported_; }
  // Supported and unsupported contractions together.
  int contractionCount() const { return static_cast<int>(ops_.size() + unsupported_.size()); }
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

  // The op's node in the frozen graph (read only: rewrite a copyGraph()).
  torch::jit::Node* node(const QuantOp& op) const { return nodes_[static_cast<size_t>(op.index)]; }
  // The op's FP32 weight constant (undefined for activation matmuls).
  torch::Tensor weight(const QuantOp& op) const;
  // The node input holding the op's bias (convolutions and aten::linear: 2), or -1 when the
  // op has no bias argument; bias() is its constant tensor, nullopt for None or a
  // non-constant bias (biasIsConstant tells which).
  int biasInputIndex(const QuantOp& op) const;
  c10::optional<torch::Tensor> bias(const QuantOp& op) const;
  bool biasIsConstant(const QuantOp& op) const;

 private:
  torch::jit::Module frozen_;
  std::shared_ptr<torch::jit::Graph> graph_;
  std::vector<QuantOp> ops_;
  std::vector<torch::jit::Node*> nodes_;  // of graph_, indexed like ops_
  std::vector<UnsupportedContraction> unsupported_;
  std::string source_;
};

// The precision `config` gives `op` (its edge-layer status included).
Precision precisionOf(const QuantConfig& config, const QuantOp& op);

// The op's nodes of a graph in graph order (same traversal as discovery).
std::vector<torch::jit::Node*> quantizableNodes(torch::jit::Graph& graph);
// Every contraction node (quantizable or not) in graph order: index = `position`.
std::vector<torch::jit::Node*> contractionNodes(torch::jit::Graph& graph);

}  // namespace mqb::quant
