#pragma once
// Statistics of every quantized op input over the calibration patches, collected once
// with FP32 weights and activations (SPEC section 3), from which any calibrator, bit-width
// and per-tensor / per-channel static grid is derived. Saved and reloaded as JSON so a
// run is reproducible.
#include <memory>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <functional>
#include <limits>
#include <vector>

#include "support/Feedback.h"
#include "inference/VolumePreparation.h"
#include "quant/Calibrator.h"
#include "quant/QuantizableGraph.h"

namespace mqb::quant {

struct SlotStatistics {
  std::unique_ptr<Calibrator> perTensor;
  std::unique_ptr<Calibrator> perChannel;  // conv inputs only (channel axis 1)
};

class CalibrationData {
 public:
  std::vector<std::array<SlotStatistics, 2>> slots;  // [op][slot]
  std::vector<std::string> opNames;
  int patches = 0;
  uint32_t seed = 0;

  const SlotStatistics& at(int op, int slot) const;
  nlohmann::json toJson() const;
  // Throws mqb::Error (naming `source`) when the file does not match the model's ops.
  static CalibrationData fromJson(const nlohmann::json& j, const QuantizableGraph& graph, const std::string& source);
};

// Patches of the model's patch size from a prepared volume, reproducible for a seed; when
// model-space labels are given, half of them are centred on a random foreground voxel.
std::vector<torch::Tensor> sampleCalibrationPatches(const PreparedVolume& volume, const torch::Tensor& modelSpaceLabels,
                                                    const std::array<int64_t, 3>& patch, int count, uint32_t seed);

class HookObserver;

// The FP32 forwards of the patches run on as many threads as the caller has LibTorch
// threads (inference/ParallelWindows.h); the statistics see the patches one after the other in their
// order, as in a serial loop, so the result does not depend on the thread count.
// `alsoObserve(i)` (optional), called for i < alsoObservedPatches (default: every patch) in
// patch order, may return an observer that sees the FP32 run of patch i next to the
// calibration statistics (e.g. quant::calibrateWithCapture), or nullptr; those patches run
// on the calling thread, so name how many need it.
CalibrationData calibrate(const QuantizableGraph& graph, const std::vector<torch::Tensor>& patches, uint32_t seed,
                          const FeedbackStage& stage, const std::function<HookObserver*(size_t)>& alsoObserve = {},
                          size_t alsoObservedPatches = std::numeric_limits<size_t>::max());

}  // namespace mqb::quant
