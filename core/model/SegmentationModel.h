#pragma once
// A TorchScript segmentation model with its metadata, validated on load.
#include <torch/script.h>

#include <string>

#include "model/PatchPredictor.h"

namespace mqb {

// "cpu", "cuda" or "cuda:N"; throws mqb::Error when the device is not available in the
// LibTorch this program was built with.
torch::Device parseDevice(const std::string& name);

class SegmentationModel : public PatchPredictor {
 public:
  // Loads the file, reads medquanbench.json (embedded, else <model>.json beside it), and
  // runs one validation forward on a patch: wrong input channels, an output whose shape
  // does not match the class list, or non-finite outputs are reported as mqb::Error.
  static SegmentationModel load(const std::string& path, const std::string& device = "cpu");

  torch::Tensor predict(const torch::Tensor& batch) override;
  const ModelMetadata& metadata() const override { return metadata_; }
  torch::Device device() const override { return device_; }
  bool allowsConcurrentPredict() const override { return true; }

  const std::string& path() const { return path_; }
  int64_t parameterCount() const { return parameterCount_; }
  // Convolutions the FP32 forward runs in oneDNN (runtime/FastConvolutions.h); 0 when switched off.
  int fastConvolutions() const { return fastConvolutions_; }
  // mqb::cancel_point nodes in the forward (runtime/CancelPoint.h): where a cancel takes effect.
  int cancelPoints() const { return cancelPoints_; }
  // The module as loaded (eval mode, not frozen): the quantization engine rewrites a copy.
  const torch::jit::Module& module() const { return module_; }

 private:
  SegmentationModel(torch::jit::Module m, ModelMetadata md, std::string path, torch::Device d);
  torch::jit::Module module_;
  torch::jit::Module frozen_;
  ModelMetadata metadata_;
  std::string path_;
  torch::Device device_;
  int64_t parameterCount_ = 0;
  int fastConvolutions_ = 0;
  int cancelPoints_ = 0;
};

}  // namespace mqb
