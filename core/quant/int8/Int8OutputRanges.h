#pragma once
// The FP32 range of every quantizable op's OUTPUT over the calibration patches. Integer
// kernels requantize their output to uint8 (there is no int8-in / float-out convolution in
// LibTorch 1.13), so real INT8 execution needs an output scale that fake quantization
// (which keeps outputs in float) never did. Recorded with FP32 weights and activations,
// like the input statistics of CalibrationData.
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <vector>

#include "quant/QuantizableGraph.h"

namespace mqb::quant {

struct OutputRange {
  float min = 0.0f;
  float max = 0.0f;
  bool seen = false;
};

struct Int8OutputRanges {
  std::vector<OutputRange> ops;  // indexed like QuantizableGraph::ops()
  nlohmann::json toJson() const;
};

Int8OutputRanges recordOutputRanges(const QuantizableGraph& graph, const std::vector<torch::Tensor>& patches);

}  // namespace mqb::quant
