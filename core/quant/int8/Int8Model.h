#pragma once
// A model executed on LibTorch's integer kernels (SPEC section 9): every conv / transposed
// conv / linear of the frozen graph that has an integer kernel becomes
//   quantize_per_tensor (uint8, calibrated input grid) -> quantized::convNd / linear with
//   packed int8 weights -> dequantize,
// and everything else (norms, activations, attention matmuls, ops the kernels cannot run)
// stays float32 and is listed in the coverage with the reason. The rewritten graph is the
// forward of a real TorchScript module holding the packed weights as attributes, so the
// same object runs the sliding window here and is saved as a model file `segment` loads.
#include <nlohmann/json.hpp>
#include <torch/script.h>

#include <string>
#include <vector>

#include "model/PatchPredictor.h"
#include "quant/CalibrationData.h"
#include "quant/int8/Int8OutputRanges.h"
#include "quant/QuantConfig.h"
#include "quant/QuantizableGraph.h"

namespace mqb::quant {

struct Int8OpStatus {
  std::string name;
  std::string kind;      // conv, conv_transpose, linear, matmul
  bool integer = false;  // runs on an integer kernel
  std::string kernel;    // e.g. quantized::conv3d, when integer
  std::string reason;    // why it stays float32, when not
  int64_t parameters = 0;
};

struct Int8Coverage {
  std::vector<Int8OpStatus> ops;  // graph order
  int integerOps() const;
  // {"integer_ops", "total_ops", "integer_parameter_share", "fp32_ops": [{"name","kind","reason"}]}
  nlohmann::json toJson() const;
};

// How the integer ops are stitched into the float graph (both ways are measured in bench/).
struct Int8GraphOptions {
  // mqb::int8_quantize / int8_dequantize (one pass, channels-last) instead of LibTorch's
  // aten::quantize_per_tensor / dequantize (scalar loops without fbgemm, plus layout copies).
  bool fastTransitions = true;
  // An instance_norm (and the LeakyReLU after it) reading an integer op's output is folded
  // into its dequantization (mqb::int8_dequantize_norm). Needs fastTransitions.
  bool fuseNormActivation = true;
  // A folded norm whose result is only quantized again for the next integer op becomes
  // one uint8 -> uint8 table pass (mqb::int8_norm_requantize). Needs fuseNormActivation.
  bool chainRequantize = true;
  // MQB_INT8_GRAPH=aten (LibTorch ops only: a file any LibTorch loads), qdq (fast
  // transitions, no folding), fused (folded norms, float between the ops) or chained (the
  // default: also uint8 between the ops of a conv -> norm -> activation -> conv chain).
  static Int8GraphOptions fromEnvironment();
  std::string id() const;  // "aten", "qdq", "fused", "chained"
};

class Int8Model : public PatchPredictor {
 public:
  // `inputs`: the calibration statistics of the op inputs (static per-tensor grids);
  // `outputs`: the FP32 output ranges the kernels requantize to. `engine` "" = chosen for
  // this machine (chooseInt8Engine). Throws mqb::Error for configs integer kernels cannot
  // run (see checkConfig) and for unknown op names in the config.
  Int8Model(const QuantizableGraph& graph, ModelMetadata metadata, const QuantConfig& config,
            const CalibrationData& inputs, const Int8OutputRanges& outputs, const std::string& engine = "",
            Int8GraphOptions options = Int8GraphOptions::fromEnvironment());

  torch::Tensor predict(const torch::Tensor& batch) override;
  const ModelMetadata& metadata() const override { return metadata_; }
  torch::Device device() const override { return torch::kCPU; }
  bool allowsConcurrentPredict() const override { return true; }

  const Int8Coverage& coverage() const { return coverage_; }
  const std::string& engine() const { return engine_; }
  // The engine's integer pair sums may saturate on this CPU (int8AccumulatorMaySaturate).
  bool accumulatorMaySaturate() const { return maySaturate_; }
  const QuantConfig& config() const { return config_; }
  const Int8GraphOptions& graphOptions() const { return options_; }
  int foldedNorms() const { return foldedNorms_; }  // instance norms folded into dequantization
  // Quantize ops of the float graph replaced by requantizing folded norms (uint8 chains).
  int chainedTransitions() const { return chainedTransitions_; }
  // Channel concatenations (U-Net skip joins) run on uint8 instead of float.
  int uint8Cats() const { return uint8Cats_; }
  // The TorchScript module (packed int8 weights as attributes, forward = rewritten graph).
  torch::jit::Module& module() { return module_; }

  // Writes the module as a TorchScript file with the metadata embedded (medquanbench.json
  // with an "int8" block: engine, config, coverage); the file is loaded like any model.
  // Written to a temporary name and renamed, so a failure leaves no half file.
  void save(const std::string& path);
  // The size of the file save() writes, measured by serializing to memory.
  int64_t serializedBytes();

  // W8A8 with per-tensor (weights and activations per tensor) or per-channel (weights per
  // output channel, activations per tensor: the kernels take one activation scale)
  // granularity; anything else is an mqb::Error saying what to use.
  static void checkConfig(const QuantConfig& config);

 private:
  torch::jit::ExtraFilesMap extraFiles() const;  // the embedded metadata save() writes

  ModelMetadata metadata_;
  QuantConfig config_;
  std::string engine_;
  bool maySaturate_ = false;
  Int8Coverage coverage_;
  Int8GraphOptions options_;
  int foldedNorms_ = 0;
  int chainedTransitions_ = 0;
  int uint8Cats_ = 0;
  torch::jit::Module module_;
};

}  // namespace mqb::quant
