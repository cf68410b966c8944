#pragma once
// Model-space input built from a CT volume (SPEC section 7): reorientation to the model's
// orientation, linear resampling to its target spacing, intensity preprocessing, and
// padding up to at least one patch. Kept as one object so FP32 and quantized runs, and
// calibration sampling, reuse the same prepared tensor.
#include <torch/torch.h>

#include "support/Feedback.h"
#include "model/ModelMetadata.h"
#include "io/Reorientation.h"
#include "io/Volume.h"

namespace mqb {

// Model space is the model's own tensor layout (ModelMetadata::axisOrder): [D, H, W] =
// oriented [z, y, x] for "zyx" models, [x, y, z] for "xyz" models. Every model-space
// quantity below (input, sizes, offsets, label tensors) is in that order.
struct PreparedVolume {
  torch::Tensor input;                     // [1, C, A0, A1, A2] float32, padded, preprocessed
  std::array<int64_t, 3> resampledSize{};  // A0, A1, A2 before padding
  std::array<int64_t, 3> padBefore{};      // A0, A1, A2 offset of the data inside `input`
  bool xyzAxes = false;                    // model axes are oriented x, y, z (else z, y, x)
  AxisReorientation reorientation;
  ImageGeometry originalGeometry;
  ImageGeometry orientedGeometry;  // original grid after reorientation (x,y,z)

  // Label map computed in model space (D,H,W of resampledSize) back onto the original grid
  // by nearest-neighbour resampling and the inverse reorientation.
  LabelVolume toOriginalGrid(const torch::Tensor& modelSpaceLabels) const;
  // A label map on the original grid brought into model space ([D,H,W] uint8, unpadded),
  // by reorientation and nearest-neighbour resampling (e.g. ground truth for sampling
  // foreground-centred calibration patches).
  torch::Tensor toModelSpace(const LabelVolume& labels) const;
  // The oriented grid axis (0 = x, 1 = y, 2 = z) that model axis 0, 1 or 2 runs along, and back.
  int orientedAxisOf(int modelAxis) const { return xyzAxes ? modelAxis : 2 - modelAxis; }
  int modelAxisOf(int orientedAxis) const { return xyzAxes ? orientedAxis : 2 - orientedAxis; }
  // Model-space [first, last) range (unpadded) along model axis `modelAxis` (0, 1, 2) that
  // covers slices [first, last] of the matching axis of the oriented grid
  // (orientedAxisOf); used to restrict inference to the slice on screen, whichever view.
  std::array<int64_t, 2> modelRangeForOrientedSlices(int modelAxis, int64_t first, int64_t last) const;
  // The same along D (oriented z).
  std::array<int64_t, 2> modelRangeForOrientedSlices(int64_t first, int64_t last) const {
    return modelRangeForOrientedSlices(0, first, last);
  }
};

PreparedVolume prepareVolume(const ImageVolume& volume, const ModelMetadata& metadata, const FeedbackStage& stage);

// Applies the model's intensity preprocessing in place.
void applyIntensityPreprocessing(torch::Tensor& image, const IntensityPreprocessing& p);

}  // namespace mqb
