#pragma once
// Sliding-window inference (SPEC section 7): windows of the model's patch size with a
// configurable overlap (default 0.5), Gaussian importance weighting (sigma = patch/8),
// argmax. Logits are accumulated in place into one buffer for the whole volume; window
// outputs are never all held at once.
#include <optional>
#include <vector>

#include "support/Feedback.h"
#include "model/PatchPredictor.h"
#include "inference/VolumePreparation.h"

namespace mqb {

struct InferenceOptions {
  double overlap = 0.5;
  int windowBatch = 1;
  // Threads running windows at once, each forward on one intra-op thread (ParallelWindows.h);
  // 0 = the calling thread's LibTorch thread count. Used only when the model allows
  // concurrent forwards; logits are accumulated in window order either way.
  int windowWorkers = 0;
  // Restrict to windows intersecting this model-space range [first, last) of the unpadded
  // volume along model axis rangeAxis (0 = D, 1 = H, 2 = W): fast preview of the slice on
  // screen in any view; voxels no kept window reaches keep label 0.
  std::optional<std::array<int64_t, 2>> depthRange;
  int rangeAxis = 0;
  // With depthRange: the cheap preview schedule. Along the range axis only the windows
  // that tile the range, centred on it and without overlap (one window for a slice), so
  // the slice sits where the Gaussian weight is highest; `overlap` still applies to the
  // other two axes. Labels may differ slightly from the exact schedule: show them as a
  // preview.
  bool previewSchedule = false;
};

struct WindowPlan {
  std::vector<std::array<int64_t, 3>> starts;  // D,H,W start of each window in the padded input
};

struct InferenceResult {
  LabelVolume labels;              // on the original grid
  torch::Tensor modelSpaceLabels;  // [D,H,W] uint8 in model space (unpadded)
  int windows = 0;
  double seconds = 0;         // whole call
  double forwardSeconds = 0;  // time inside the model's forwards, summed over window workers
  int windowWorkers = 1;      // threads that ran windows at once
};

WindowPlan planWindows(const std::array<int64_t, 3>& volumeSize, const std::array<int64_t, 3>& patch, double overlap);
// Starts along one axis of `size` for windows of `patch` that tile [first, last) without
// overlap, centred on it and kept inside the axis.
std::vector<int64_t> tileRange(int64_t size, int64_t patch, int64_t first, int64_t last);
// [D,H,W] importance map, max 1, strictly positive everywhere.
torch::Tensor gaussianImportanceMap(const std::array<int64_t, 3>& patch, double sigmaScale = 1.0 / 8.0);

// The windows runSlidingWindow runs for `options` on a prepared volume (starts in the padded
// input).
WindowPlan planInference(const PreparedVolume& pv, const std::array<int64_t, 3>& patch,
                         const InferenceOptions& options);

InferenceResult runSlidingWindow(PatchPredictor& model, const PreparedVolume& volume, const InferenceOptions& options,
                                 const FeedbackStage& stage);

// prepareVolume + runSlidingWindow with a single progress bar.
InferenceResult segmentVolume(PatchPredictor& model, const ImageVolume& volume, const InferenceOptions& options = {},
                              Feedback* feedback = nullptr);

}  // namespace mqb
