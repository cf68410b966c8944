#pragma once
// Model-space input built from a CT volume (SPEC section 7): reorientation to the model's
// orientation, linear resampling to its target spacing, intensity preprocessing, and
// padding up to at least one patch. Kept as one object so FP32 and quantized runs, and
// calibration sampling, reuse the same prepared tensor.
#include <torch/torch.h>

#include "Feedback.h"
#include "ModelMetadata.h"
#include "Reorientation.h"
#include "Volume.h"

namespace mqb {

struct PreparedVolume {
  torch::Tensor input;                     // [1, C, D, H, W] float32, padded, preprocessed
  std::array<int64_t, 3> resampledSize{};  // D, H, W before padding
  std::array<int64_t, 3> padBefore{};      // D, H, W offset of the data inside `input`
  AxisReorientation reorientation;
  ImageGeometry originalGeometry;
  ImageGeometry orientedGeometry;          // original grid after reorientation (x,y,z)

  // Label map computed in model space (D,H,W of resampledSize) back onto the original grid
  // by nearest-neighbour resampling and the inverse reorientation.
  LabelVolume toOriginalGrid(const torch::Tensor& modelSpaceLabels) const;
  // A label map on the original grid brought into model space ([D,H,W] uint8, unpadded),
  // by reorientation and nearest-neighbour resampling (e.g. ground truth for sampling
  // foreground-centred calibration patches).
  torch::Tensor toModelSpace(const LabelVolume& labels) const;
  // Model-space [first, last) range (unpadded) along model axis `modelAxis` (0 = D, 1 = H,
  // 2 = W) that covers slices [first, last] of the matching axis of the oriented grid
  // (z, y, x); used to restrict inference to the slice on screen, whichever view it is in.
  std::array<int64_t, 2> modelRangeForOrientedSlices(int modelAxis, int64_t first, int64_t last) const;
  // The same along D (oriented z).
  std::array<int64_t, 2> modelRangeForOrientedSlices(int64_t first, int64_t last) const {
    return modelRangeForOrientedSlices(0, first, last);
  }
};

PreparedVolume prepareVolume(const ImageVolume& volume, const ModelMetadata& metadata,
                             const FeedbackStage& stage);

// Applies the model's intensity preprocessing in place.
void applyIntensityPreprocessing(torch::Tensor& image, const IntensityPreprocessing& p);

}  // namespace mqb
