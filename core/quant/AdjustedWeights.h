#pragma once
// What a quantization method chose for a configuration's weights (quant/WeightMethods.h):
// replacement weights on the op's grid and corrected biases, by op index, with a report of
// every op it applied to or had to skip. QuantizedModel builds its graph from it.
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "quant/QuantMethod.h"

namespace mqb::quant {

struct MethodOpReport {
  std::string op;
  std::string applied;   // "gptq", "gptq+bias-correction", "bias-correction", or "" when skipped
  std::string skipped;   // the reason, when a method could not apply
  double seconds = 0;    // this op's share of the method's time (forwards included)
  double dampening = 0;  // GPTQ: the relative dampening used
  // GPTQ: output channels that kept round-to-nearest because GPTQ's levels had the larger
  // error on the calibration inputs (possible on a coarse grid that clamps its updates).
  int64_t rowsKeptRtn = 0;
};

struct AdjustedWeights {
  QuantMethod method;
  std::map<int, torch::Tensor> weights;  // op index -> fake-quantized weight (on the op's grid)
  std::map<int, torch::Tensor> biases;   // op index -> bias after correction
  std::vector<MethodOpReport> ops;       // graph order, every op with a weight
  double seconds = 0;
  int patches = 0;

  int skippedCount() const;
  // "gptq+bias-correction on 18/19 ops (1 skipped: einsum) in 41.2 s, 16 calibration patches"
  std::string summary() const;
  // {"method", "ops": [{"op", "applied" | "skipped", "seconds", ...}], "seconds", "patches"}
  nlohmann::json toJson() const;
};

}  // namespace mqb::quant
