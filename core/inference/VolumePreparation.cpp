#include "inference/VolumePreparation.h"

#include <cmath>

#include "support/Error.h"

namespace mqb {
namespace {

// Nearest-neighbour index table along one axis, voxel edges aligned (same convention as
// the linear resampling below: align_corners = false).
std::vector<int64_t> nearestIndices(int64_t fromSize, int64_t toSize) {
  std::vector<int64_t> idx(static_cast<size_t>(toSize));
  const double scale = double(fromSize) / double(toSize);
  for (int64_t i = 0; i < toSize; ++i)
    idx[i] = std::min<int64_t>(fromSize - 1, static_cast<int64_t>(std::floor((i + 0.5) * scale)));
  return idx;
}

}  // namespace

void applyIntensityPreprocessing(torch::Tensor& image, const IntensityPreprocessing& p) {
  switch (p.kind) {
    case IntensityPreprocessing::Kind::ClipScale: {
      const double a = (p.rangeHigh - p.rangeLow) / (p.clipHigh - p.clipLow);
      image.clamp_(p.clipLow, p.clipHigh).sub_(p.clipLow).mul_(a).add_(p.rangeLow);
      break;
    }
    case IntensityPreprocessing::Kind::ZScore: {
      if (p.zscoreClip) image.clamp_(p.clipLow, p.clipHigh);
      double mean = p.mean, std = p.std;
      if (!(std > 0)) {
        mean = image.mean().item<double>();
        std = std::max(image.std().item<double>(), 1e-6);
      }
      image.sub_(mean).div_(std);
      break;
    }
    case IntensityPreprocessing::Kind::None: break;
  }
}

PreparedVolume prepareVolume(const ImageVolume& volume, const ModelMetadata& md, const FeedbackStage& stage) {
  if (md.inputChannels != 1)
    throw Error("model '" + md.name + "' expects " + std::to_string(md.inputChannels) +
                " input channels; a single CT volume provides 1");
  if (static_cast<int64_t>(volume.voxels.size()) != volume.geometry.voxelCount())
    throw Error("volume data does not match its geometry");
  stage.report(0.0, "reorienting");
  PreparedVolume pv;
  pv.originalGeometry = volume.geometry;
  pv.reorientation = reorientationTo(volume.geometry, md.orientation);
  ImageVolume oriented = reorient(volume, pv.reorientation);
  pv.orientedGeometry = oriented.geometry;
  stage.throwIfCanceled();

  const auto& g = oriented.geometry;
  // Model axes: z,y,x or x,y,z (the voxel buffer is x-fastest, i.e. a [z, y, x] array).
  pv.xyzAxes = md.xyzAxes();
  std::array<int64_t, 3> src{g.size[2], g.size[1], g.size[0]};
  std::array<double, 3> srcSpacing{g.spacing[2], g.spacing[1], g.spacing[0]};
  if (pv.xyzAxes) {
    src = g.size;
    srcSpacing = g.spacing;
  }
  std::array<int64_t, 3> dst{};
  for (int a = 0; a < 3; ++a)
    dst[a] = std::max<int64_t>(1, std::llround(src[a] * srcSpacing[a] / md.targetSpacing[a]));
  ImageGeometry resampledGeometry;  // only its voxel count matters here
  resampledGeometry.size = {dst[2], dst[1], dst[0]};
  resampledGeometry.spacing = {md.targetSpacing[2], md.targetSpacing[1], md.targetSpacing[0]};
  // working tensors: resampled image + padded copy
  checkAllocatable(resampledGeometry, 12.0, "resampled volume for model '" + md.name + "'");

  torch::Tensor image =
      torch::from_blob(oriented.voxels.data(), {1, 1, g.size[2], g.size[1], g.size[0]}, torch::kFloat32);
  if (pv.xyzAxes) image = image.permute({0, 1, 4, 3, 2}).contiguous();
  stage.report(0.3, "resampling to " + std::to_string(md.targetSpacing[2]) + " mm");
  if (dst != src) {
    namespace F = torch::nn::functional;
    image = F::interpolate(image, F::InterpolateFuncOptions()
                                      .size(std::vector<int64_t>(dst.begin(), dst.end()))
                                      .mode(torch::kTrilinear)
                                      .align_corners(false));
  } else {
    image = image.clone();  // `oriented` dies with this scope
  }
  stage.throwIfCanceled();
  stage.report(0.7, "intensity preprocessing");
  applyIntensityPreprocessing(image, md.preprocessing);

  pv.resampledSize = dst;
  std::array<int64_t, 3> padded{};
  for (int a = 0; a < 3; ++a) {
    padded[a] = std::max(dst[a], md.patchSize[a]);
    pv.padBefore[a] = (padded[a] - dst[a]) / 2;
  }
  if (padded != dst) {
    // Pad with the darkest preprocessed value (air), as a patch outside the body would be.
    const float fill = image.min().item<float>();
    torch::Tensor p = torch::full({1, 1, padded[0], padded[1], padded[2]}, fill, torch::kFloat32);
    p.slice(2, pv.padBefore[0], pv.padBefore[0] + dst[0])
        .slice(3, pv.padBefore[1], pv.padBefore[1] + dst[1])
        .slice(4, pv.padBefore[2], pv.padBefore[2] + dst[2])
        .copy_(image);
    image = p;
  }
  pv.input = image.contiguous();
  stage.report(1.0);
  return pv;
}

LabelVolume PreparedVolume::toOriginalGrid(const torch::Tensor& labelsDHW) const {
  torch::Tensor lab = labelsDHW.to(torch::kCPU).to(torch::kUInt8);
  if (lab.dim() != 3 || lab.size(0) != resampledSize[0] || lab.size(1) != resampledSize[1] ||
      lab.size(2) != resampledSize[2])
    throw Error("label tensor does not match the prepared volume");
  // Back to a [z, y, x] array whatever the model's axes.
  const std::array<int64_t, 3> zyxSize =
      xyzAxes ? std::array<int64_t, 3>{resampledSize[2], resampledSize[1], resampledSize[0]} : resampledSize;
  lab = (xyzAxes ? lab.permute({2, 1, 0}) : lab).contiguous();
  const auto& og = orientedGeometry;
  const auto iz = nearestIndices(zyxSize[0], og.size[2]);
  const auto iy = nearestIndices(zyxSize[1], og.size[1]);
  const auto ix = nearestIndices(zyxSize[2], og.size[0]);
  LabelVolume oriented;
  oriented.geometry = og;
  oriented.voxels.resize(static_cast<size_t>(og.voxelCount()));
  const uint8_t* src = lab.data_ptr<uint8_t>();
  const int64_t H = zyxSize[1], W = zyxSize[2];
  size_t o = 0;
  for (int64_t z = 0; z < og.size[2]; ++z)
    for (int64_t y = 0; y < og.size[1]; ++y) {
      const uint8_t* row = src + (iz[z] * H + iy[y]) * W;
      for (int64_t x = 0; x < og.size[0]; ++x) oriented.voxels[o++] = row[ix[x]];
    }
  return restoreOrientation(oriented, reorientation, originalGeometry);
}

torch::Tensor PreparedVolume::toModelSpace(const LabelVolume& labels) const {
  if (!labels.geometry.sameGrid(originalGeometry)) throw Error("label map is not on the grid of the prepared volume");
  LabelVolume oriented = reorient(labels, reorientation);
  const auto& og = oriented.geometry;
  const std::array<int64_t, 3> zyxSize =
      xyzAxes ? std::array<int64_t, 3>{resampledSize[2], resampledSize[1], resampledSize[0]} : resampledSize;
  const auto iz = nearestIndices(og.size[2], zyxSize[0]);
  const auto iy = nearestIndices(og.size[1], zyxSize[1]);
  const auto ix = nearestIndices(og.size[0], zyxSize[2]);
  torch::Tensor out = torch::empty({zyxSize[0], zyxSize[1], zyxSize[2]}, torch::kUInt8);
  uint8_t* dst = out.data_ptr<uint8_t>();
  for (int64_t z = 0; z < zyxSize[0]; ++z)
    for (int64_t y = 0; y < zyxSize[1]; ++y) {
      const uint8_t* row = oriented.voxels.data() + (iz[z] * og.size[1] + iy[y]) * og.size[0];
      for (int64_t x = 0; x < zyxSize[2]; ++x) *dst++ = row[ix[x]];
    }
  return xyzAxes ? out.permute({2, 1, 0}).contiguous() : out;
}

std::array<int64_t, 2> PreparedVolume::modelRangeForOrientedSlices(int modelAxis, int64_t first, int64_t last) const {
  if (modelAxis < 0 || modelAxis > 2) throw Error("model axis must be 0 (D), 1 (H) or 2 (W)");
  const int64_t model = resampledSize[static_cast<size_t>(modelAxis)];
  const double scale = double(model) / double(orientedGeometry.size[static_cast<size_t>(orientedAxisOf(modelAxis))]);
  int64_t a = static_cast<int64_t>(std::floor(first * scale));
  int64_t b = static_cast<int64_t>(std::ceil((last + 1) * scale));
  return {std::clamp<int64_t>(a, 0, model - 1), std::clamp<int64_t>(b, 1, model)};
}

}  // namespace mqb
