#pragma once
// What the sliding-window inference needs from a model: logits for a batch of patches.
// Implemented by the FP32 model and by its quantized execution, so both share one pipeline.
#include <torch/torch.h>

#include "model/ModelMetadata.h"

namespace mqb {

class PatchPredictor {
 public:
  virtual ~PatchPredictor() = default;
  // batch: [N, inputChannels, D, H, W] float32 on device(); returns [N, C, D, H, W] logits.
  virtual torch::Tensor predict(const torch::Tensor& batch) = 0;
  virtual const ModelMetadata& metadata() const = 0;
  virtual torch::Device device() const = 0;
  // Whether predict may run on several threads at once (window-parallel inference). Frozen
  // TorchScript forwards are; a quantized graph is not while an observer records its hooks.
  virtual bool allowsConcurrentPredict() const { return false; }
};

}  // namespace mqb
