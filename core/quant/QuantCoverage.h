#pragma once
// What a configuration quantizes of a model (SPEC section 4): every contraction of the
// frozen graph, quantized or left in FP32 with the reason (unsupported by the engine,
// excluded, FP32 by a per-op precision, activation matmuls switched off), the counts, and
// the share of the model's multiply-accumulates per patch that runs quantized, measured
// from the shapes one forward pass on a patch produces. Shown by `inspect`, the
// quantize / sweep reports (key "coverage") and the benchmark table's footnote, so a
// number for a model whose attention stayed FP32 is never mistaken for a fully
// quantized one.
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/ModelMetadata.h"
#include "quant/QuantConfig.h"
#include "quant/QuantizableGraph.h"

namespace mqb::quant {

struct ContractionCoverage {
  std::string name;  // the op name (or the unsupported contraction's name)
  std::string kind;  // "conv", "linear", "matmul", "einsum", ...
  std::string atenName;
  bool quantized = false;
  std::string reason;  // why it runs in FP32; empty when quantized
  int64_t macs = -1;   // multiply-accumulates per patch; -1 when it did not run on the probe
};

struct Coverage {
  std::vector<ContractionCoverage> contractions;  // graph order
  bool configured = false;                        // false: what the engine can quantize, no configuration given
  int total() const { return static_cast<int>(contractions.size()); }
  int quantized() const;
  int64_t macs() const;  // of the contractions that ran on the probe patch
  int64_t quantizedMacs() const;
  bool macsMeasured() const;                           // some contraction has a MAC count
  double macShare() const;                             // quantizedMacs / macs (NaN without MACs)
  std::vector<ContractionCoverage> leftovers() const;  // the FP32 ones, graph order
  // "81/105 contractions quantized (92.1 % of MACs per patch); 24 FP32: 24 unsupported"
  std::string summary() const;
  nlohmann::json toJson() const;
};

// Multiply-accumulates of every contraction (indexed by QuantOp::position /
// UnsupportedContraction::position) in one FP32 forward pass of `input` [N,C,D,H,W];
// -1 for contractions that did not run (an untaken branch).
std::vector<int64_t> measureContractionMacs(const QuantizableGraph& graph, const torch::Tensor& input);

// The coverage of `config` on the graph (config == nullptr: the engine's reach, every
// supported contraction counted as quantized). `macs` from measureContractionMacs, or
// empty when not measured.
Coverage coverageOf(const QuantizableGraph& graph, const QuantConfig* config, const std::vector<int64_t>& macs);
// The same with the MACs measured on one patch of the model's patch size (zeros: only the
// shapes matter).
Coverage coverageOf(const QuantizableGraph& graph, const QuantConfig* config, const ModelMetadata& metadata);

}  // namespace mqb::quant
