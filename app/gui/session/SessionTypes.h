#pragma once
// What the desktop application shows of a loaded model. Nothing here includes torch or Qt
// headers, so the widgets can include it (torch uses the identifier `slots`, which Qt
// defines as a macro). Configurations, layer-analysis results and score tables are core's
// own torch-free value types (quant/QuantConfig.h, quant/LayerAnalysisResult.h,
// metrics/ComparisonTable.h).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "metrics/ComparisonTable.h"
#include "model/ModelMetadata.h"
#include "io/Volume.h"
#include "quant/LayerAnalysisResult.h"
#include "quant/QuantConfig.h"

namespace mqb::gui {

// One quantizable operation of the loaded model (QuantizableGraph::ops()).
struct OpInfo {
  int index = 0;
  std::string name;  // "encoder.2.conv1"
  std::string kind;  // "conv", "conv_transpose", "linear", "matmul"
  std::string modulePath;
  std::vector<int64_t> weightShape;  // empty for activation matmuls
  int64_t parameters = 0;
  bool pointwise = false;
  std::string shapeText() const;  // "32x16x3x3x3" or "--"
};

struct ModelInfo {
  std::string path;
  ModelMetadata metadata;
  int64_t parameterCount = 0;
  std::vector<OpInfo> ops;
  // What the engine can quantize of the model (SPEC section 4, quant::coverageOf without a
  // configuration): "81/105 contractions quantized (92.1 % of the MACs per patch); ...",
  // and every contraction that stays FP32 whatever the configuration, with the reason.
  std::string coverage;
  std::vector<std::pair<std::string, std::string>> fp32Contractions;  // name, reason
};

}  // namespace mqb::gui
