#pragma once
// The weights a configuration's method chooses (SPEC section 10), computed once on the
// calibration patches and then used by every model built for that configuration (preview,
// whole volume, analysis). Ops are processed in graph order and each sees the input the
// model really gives it with every earlier op already on its final weights and every
// activation quantized as configured (sequential), so later ops compensate earlier errors.
//
//  GPTQ             per op: H = 2 X X^T / n of the op's input columns after its activation
//                   quantizer (contractionColumns, sampled with the calibration seed), then
//                   gptqQuantizeWeight on the min-max grid of the configuration.
//  bias correction  after the weight method has finished for the whole model, per op in
//                   graph order: bias_c -= mean over the calibration patches (every output
//                   voxel / token) of (y_hat - y)_c, where y_hat - y is the op applied to its
//                   real input with (W_hat - W) and no bias. A bias is created where the op
//                   has none. Activation grids stay those of the FP32 calibration.
//
// An op a method cannot apply to (an einsum, a bias that is not a constant, an op the
// calibration patches never reach) keeps its round-to-nearest weight and is named in
// `ops` with the reason, never silently.
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "model/ModelMetadata.h"
#include "quant/AdjustedWeights.h"
#include "quant/CalibrationData.h"
#include "quant/ContractionColumns.h"
#include "quant/QuantConfig.h"
#include "quant/QuantizableGraph.h"
#include "support/Feedback.h"

namespace mqb::quant {

// Nothing to compute for round-to-nearest (returns null). `patches` are the calibration
// patches of config.calibrationKey(); `calibration` their statistics (static activation
// grids). Reports progress per op; cancellable within one forward.
std::shared_ptr<const AdjustedWeights> adjustWeights(
    std::shared_ptr<const QuantizableGraph> graph, const ModelMetadata& metadata, const QuantConfig& config,
    const CalibrationData* calibration, const std::vector<torch::Tensor>& patches, const FeedbackStage& stage);

// How op `op` applies its weight (stride, padding, ...), read from its graph node; an
// empty reason when it could be read, else why not.
std::string contractionOf(const QuantizableGraph& graph, const QuantOp& op, Contraction& out);

}  // namespace mqb::quant
