#pragma once
// Layer-wise analysis of a quantization configuration (SPEC section 5): runs the FP32 and
// the quantized model op by op and fills a LayerAnalysis (quant/LayerAnalysisResult.h,
// the torch-free result the desktop application plots).
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <array>
#include <string>
#include <vector>

#include "support/Feedback.h"
#include "model/ModelMetadata.h"
#include "quant/AdjustedWeights.h"
#include "quant/CalibrationData.h"
#include "quant/Histogram.h"
#include "quant/LayerAnalysisResult.h"
#include "quant/QuantConfig.h"
#include "quant/QuantizableGraph.h"

namespace mqb::quant {

// The FP32 side of a layer analysis on given patches: every op's FP32 inputs and outputs
// and the FP32-run input histograms. It does not depend on the quantization config, so a
// study keeps it: a further analysis on the same patches then runs only the quantized model
// and each op once more on its quantized FP32 input (about 2 forwards instead of 3).
// Filled by analyzeLayers or, riding on the calibration's FP32 runs, by calibrateWithCapture;
// dropped (left empty) when it would exceed `budgetBytes`.
class Fp32Capture {
 public:
  explicit Fp32Capture(size_t budgetBytes = defaultBudget()) : budget_(budgetBytes) {}
  bool complete() const { return complete_; }
  size_t bytes() const { return bytes_; }
  bool matches(const std::vector<torch::Tensor>& patches) const;
  void clear();
  // A sixteenth of the physical memory.
  static size_t defaultBudget();

 private:
  friend LayerAnalysis analyzeLayers(const QuantizableGraph&, const ModelMetadata&, const QuantConfig&,
                                     const CalibrationData&, const std::vector<torch::Tensor>&, const FeedbackStage&,
                                     Fp32Capture*, const AdjustedWeights*);
  friend class Fp32PassObserver;
  friend class Fp32CaptureRecorder;
  friend CalibrationData calibrateWithCapture(const QuantizableGraph&, const std::vector<torch::Tensor>&, uint32_t,
                                              const FeedbackStage&, Fp32Capture&, size_t);
  struct Patch {
    std::vector<std::vector<std::array<torch::Tensor, 2>>> inputs;  // op -> call -> slot
    std::vector<std::vector<torch::Tensor>> outputs;                // op -> call
  };
  // Keeps one call's FP32 inputs in `record`, one of patches_ (by reference when nothing
  // writes into them later) and counts them and the kept output against the budget. Over budget it stops
  // recording and frees every patch's inputs; the outputs stay for the caller to use or drop.
  void keepInputs(Patch& record, const QuantOp& op, const std::array<torch::Tensor, 2>& inputs,
                  const torch::Tensor& keptOutput);
  size_t budget_;
  size_t bytes_ = 0;
  bool complete_ = false;
  bool overflow_ = false;
  std::vector<torch::Tensor> patchInputs_;
  std::vector<Patch> patches_;
  std::vector<std::array<Histogram, 2>> histograms_;
};

// `patches`: the patches the errors are measured on (e.g. one or a few calibration patches).
// `capture` (optional): reused when it holds these patches, else filled for the next call.
// `adjusted`: the weights the configuration's method chose (quant/WeightMethods.h), if any.
LayerAnalysis analyzeLayers(const QuantizableGraph& graph, const ModelMetadata& metadata, const QuantConfig& config,
                            const CalibrationData& calibration, const std::vector<torch::Tensor>& patches,
                            const FeedbackStage& stage, Fp32Capture* capture = nullptr,
                            const AdjustedWeights* adjusted = nullptr);

// calibrate() that also records the FP32 side of the first `capturePatches` patches into
// `capture` (the analysis patches are the first calibration patches): the calibration runs
// the FP32 model on them anyway, so the first analysis afterwards skips its own FP32 run.
CalibrationData calibrateWithCapture(const QuantizableGraph& graph, const std::vector<torch::Tensor>& patches,
                                     uint32_t seed, const FeedbackStage& stage, Fp32Capture& capture,
                                     size_t capturePatches);

// The config with the k most sensitive quantized ops excluded (kept FP32): mixed precision
// in one action.
QuantConfig keepMostSensitiveInFp32(const QuantConfig& config, const LayerAnalysis& analysis, int k);

}  // namespace mqb::quant
