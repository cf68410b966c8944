#pragma once
// A model executed with fake-quantized weights and activations for one QuantConfig:
// a copy of the frozen graph with mqb::act / mqb::out hooks around every quantizable op
// and the weights of quantized ops replaced by their fake-quantized constants (computed
// once here, not per window). Implements PatchPredictor, so the sliding-window pipeline
// runs it exactly like the FP32 model.
#include <torch/csrc/jit/api/function_impl.h>

#include <memory>

#include "model/PatchPredictor.h"
#include "quant/AdjustedWeights.h"
#include "quant/CalibrationData.h"
#include "quant/QuantConfig.h"
#include "quant/QuantRuntime.h"
#include "quant/QuantizableGraph.h"

namespace mqb::quant {

class QuantizedModel : public PatchPredictor {
 public:
  // Validates the config against the graph (unknown excluded/overridden op names are an
  // mqb::Error). `calibration` is required when some activation uses a static grid.
  // `foldActivations`: fold a LeakyReLU in front of a statically quantized input into that
  // input's quantization pass (same values, one pass less). MQB_FOLD_ACTIVATIONS=0 in the
  // environment turns it off for every model (A/B measurements).
  // `adjusted`: weights and biases a method chose (quant/WeightMethods.h) replace the
  // round-to-nearest weights and the graph's biases of the ops it names.
  QuantizedModel(std::shared_ptr<const QuantizableGraph> graph, ModelMetadata metadata, QuantConfig config,
                 const CalibrationData* calibration, bool foldActivations = true,
                 const AdjustedWeights* adjusted = nullptr);

  torch::Tensor predict(const torch::Tensor& batch) override;
  const ModelMetadata& metadata() const override { return metadata_; }
  torch::Device device() const override { return torch::kCPU; }
  // The hooks only read their plans; an observer (calibration, layer analysis) records state.
  bool allowsConcurrentPredict() const override { return !runtime_.observed(); }

  const QuantConfig& config() const { return config_; }
  const QuantizableGraph& graph() const { return *graph_; }
  // The fake-quantized weight of op i (undefined when the op keeps FP32 weights).
  const torch::Tensor& quantizedWeight(int op) const { return weights_[static_cast<size_t>(op)]; }
  const ActivationPlan& plan(int op, int slot) const { return runtime_.plans()[op][slot]; }
  QuantRuntime& runtime() { return runtime_; }
  // Convolutions of the hooked graph that run in oneDNN (runtime/FastConvolutions.h).
  int fastConvolutions() const { return fastConvolutions_; }
  // Folded activation hooks that also took in the instance norm in front of them.
  int foldedNorms() const { return foldedNorms_; }

  // Whether the config needs calibrated static activation grids.
  static bool needsCalibration(const QuantizableGraph& graph, const QuantConfig& config);

 private:
  std::shared_ptr<const QuantizableGraph> graph_;
  ModelMetadata metadata_;
  QuantConfig config_;
  QuantRuntime runtime_;
  std::vector<torch::Tensor> weights_;
  bool foldActivations_ = true;
  int fastConvolutions_ = 0;
  int foldedNorms_ = 0;
  std::unique_ptr<torch::jit::GraphFunction> function_;
};

// The activation plan of one op slot under a config (SPEC section 2 table).
ActivationPlan planFor(const QuantOp& op, int slot, const QuantConfig& config, const CalibrationData* calibration);

}  // namespace mqb::quant
