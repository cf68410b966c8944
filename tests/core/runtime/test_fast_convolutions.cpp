// The oneDNN route for convolutions (core/FastConvolutions.h) must change nothing a user
// sees: same labels as LibTorch's own kernels, quantization hooks still applied, and the
// preview schedule of the desktop app covering what it claims.
#include <gtest/gtest.h>

#include <set>

#include "runtime/FastConvolutions.h"
#include "demo/Phantom.h"
#include "model/SegmentationModel.h"
#include "inference/SlidingWindowInference.h"
#include "runtime/StrideTransposedConvolution.h"
#include "TestModels.h"
#include "TestSupport.h"
#include "quant/CalibrationData.h"
#include "quant/QuantizableGraph.h"
#include "quant/QuantizedModel.h"

using namespace mqb;

namespace {

// Loads `path` with the oneDNN route on or off, restoring the process-wide switch.
SegmentationModel loadWith(const std::string& path, bool fast) {
  const bool saved = fastConvolutionsEnabled();
  setFastConvolutions(fast);
  SegmentationModel m = SegmentationModel::load(path);
  setFastConvolutions(saved);
  return m;
}

std::string mixedModelPath() {
  static const std::string path = [] {
    const std::string p = test::tempDir() + "/fast-mixed.pt";
    test::writeMixedOpsModel(p, 11);
    return p;
  }();
  return path;
}

ImageVolume phantom() {
  PhantomOptions o;
  o.size = {40, 36, 30};
  o.spacing = {2.0, 2.0, 2.0};
  return generateAbdominalPhantom(o).ct;
}

}  // namespace

TEST(FastConvolutions, EveryConvolutionWithAConstantWeightRunsInOneDnn) {
  SegmentationModel fast = loadWith(mixedModelPath(), true);
  SegmentationModel native = loadWith(mixedModelPath(), false);
  // enc (3x3x3), down (2x2x2 stride 2), head (1x1x1) in oneDNN; the transposed conv (no
  // oneDNN kernel in LibTorch 1.13) as a pointwise oneDNN convolution and a scatter, its
  // kernel being its stride.
  EXPECT_EQ(fast.fastConvolutions(), 4);
  EXPECT_EQ(native.fastConvolutions(), 0);
  torch::manual_seed(5);
  const torch::Tensor x = torch::rand({1, 1, 16, 16, 16});
  const torch::Tensor a = fast.predict(x), b = native.predict(x);
  ASSERT_EQ(a.sizes(), b.sizes());
  EXPECT_TRUE(torch::allclose(a, b, 1e-4, 1e-5)) << (a - b).abs().max().item<float>();
  // Batches of several windows go through the same graph.
  const torch::Tensor x2 = torch::cat({x, x.flip(2)}, 0);
  EXPECT_TRUE(torch::allclose(fast.predict(x2)[0], a, 1e-4, 1e-5));
}

TEST(FastConvolutions, WholeVolumeLabelsAreIdenticalToLibTorchsOwnKernels) {
  SegmentationModel fast = loadWith(mixedModelPath(), true);
  SegmentationModel native = loadWith(mixedModelPath(), false);
  const ImageVolume v = phantom();
  const InferenceResult a = segmentVolume(fast, v), b = segmentVolume(native, v);
  ASSERT_EQ(a.labels.voxels.size(), b.labels.voxels.size());
  EXPECT_EQ(a.labels.voxels, b.labels.voxels);
  // Not vacuous: the random-weight model predicts more than one class here.
  std::set<uint8_t> classes(a.labels.voxels.begin(), a.labels.voxels.end());
  EXPECT_GE(classes.size(), 2u);
}

TEST(FastConvolutions, QuantizationHooksStillApplyAroundOneDnnConvolutions) {
  SegmentationModel fast = loadWith(mixedModelPath(), true);
  auto graph = std::make_shared<quant::QuantizableGraph>(fast.module(), mixedModelPath());
  torch::manual_seed(9);
  std::vector<torch::Tensor> patches;
  for (int i = 0; i < 3; ++i) patches.push_back(torch::rand({1, 1, 16, 16, 16}));
  const quant::CalibrationData cal = quant::calibrate(*graph, patches, 0, FeedbackStage(nullptr, 0, 1, ""));
  quant::QuantConfig fp32;
  fp32.precision = quant::Precision::fp32();
  quant::QuantConfig w4;
  w4.precision = quant::Precision::integer(4, 4);
  w4.granularity = quant::Granularity::PerTensor;
  // The hooked graphs take the oneDNN route too: FP32 through them equals the model.
  quant::QuantizedModel identity(graph, fast.metadata(), fp32, nullptr);
  EXPECT_EQ(identity.fastConvolutions(), fast.fastConvolutions());
  EXPECT_TRUE(torch::allclose(identity.predict(patches[0]), fast.predict(patches[0]), 1e-5, 1e-6));
  // W4A4 on both routes: the same fake-quantized network, so the same outputs up to the
  // convolutions' float rounding, which can move a value across a rounding boundary of
  // the next quantizer now and then (one 4-bit step) but not change the result overall.
  quant::QuantizedModel q4fast(graph, fast.metadata(), w4, &cal);
  setFastConvolutions(false);
  quant::QuantizedModel q4native(graph, fast.metadata(), w4, &cal);
  setFastConvolutions(true);
  EXPECT_EQ(q4fast.fastConvolutions(), 4);
  EXPECT_EQ(q4native.fastConvolutions(), 0);
  const torch::Tensor a = q4fast.predict(patches[1]), b = q4native.predict(patches[1]);
  const torch::Tensor f = fast.predict(patches[1]);
  EXPECT_GT((a - f).abs().mean().item<float>(), 10 * (a - b).abs().mean().item<float>());
  EXPECT_GT((a.argmax(1) == b.argmax(1)).to(torch::kFloat).mean().item<float>(), 0.99f);
}

TEST(StrideTransposedConvolution, GivesLibTorchsValuesForEveryShape) {
  torch::NoGradGuard noGrad;
  torch::manual_seed(3);
  struct Case {
    std::vector<int64_t> input;  // N, Ci, D, H, W
    int64_t outChannels;
    std::array<int64_t, 3> kernel;
    bool bias;
  };
  // Odd sizes, batches of two, anisotropic and 3-wide kernels, no bias, one channel.
  for (const Case& c : {Case{{1, 32, 24, 24, 24}, 16, {2, 2, 2}, true}, Case{{2, 5, 3, 7, 5}, 3, {2, 2, 2}, true},
                        Case{{1, 4, 5, 6, 3}, 6, {1, 2, 3}, false}, Case{{1, 1, 2, 2, 2}, 1, {3, 3, 3}, true},
                        Case{{2, 8, 40, 9, 9}, 4, {2, 1, 2}, true}}) {
    const torch::Tensor x = torch::randn(c.input);
    const torch::Tensor w = torch::randn({c.input[1], c.outChannels, c.kernel[0], c.kernel[1], c.kernel[2]});
    const torch::Tensor b = c.bias ? torch::randn({c.outChannels}) : torch::Tensor();
    const torch::Tensor expected = torch::conv_transpose3d(x, w, b, {c.kernel[0], c.kernel[1], c.kernel[2]});
    const torch::Tensor got =
        strideTransposedScatter(torch::conv3d(x, strideTransposedPointwiseWeight(w)), b, c.kernel);
    ASSERT_EQ(got.sizes(), expected.sizes());
    EXPECT_TRUE(torch::allclose(got, expected, 1e-5, 1e-4)) << (got - expected).abs().max().item<float>();
  }
  // An unbatched input, which LibTorch's transposed convolution accepts.
  {
    const torch::Tensor u = torch::randn({3, 4, 5, 6});
    const torch::Tensor wu = torch::randn({3, 2, 2, 2, 2});
    EXPECT_TRUE(torch::allclose(strideTransposedScatter(torch::conv3d(u, strideTransposedPointwiseWeight(wu)), {},
                                                        {2, 2, 2}),
                                torch::conv_transpose3d(u, wu, {}, {2, 2, 2}), 1e-5, 1e-4));
  }
  // Non-contiguous products (the channels of output channel 1 only) are read correctly.
  const torch::Tensor x = torch::randn({1, 6, 4, 4, 4});
  const torch::Tensor w = torch::randn({6, 2, 2, 2, 2});
  const torch::Tensor products = torch::conv3d(x, strideTransposedPointwiseWeight(w)).narrow(1, 8, 8);
  EXPECT_TRUE(torch::allclose(strideTransposedScatter(products, {}, {2, 2, 2}),
                              torch::conv_transpose3d(x, w.narrow(1, 1, 1), {}, {2, 2, 2}), 1e-5, 1e-4));
}

TEST(PreviewSchedule, TilesTheRangeWithoutOverlapCentredOnIt) {
  EXPECT_EQ(tileRange(100, 16, 40, 41), (std::vector<int64_t>{33}));  // one window centred on slice 40
  EXPECT_EQ(tileRange(100, 16, 0, 1), (std::vector<int64_t>{0}));     // kept inside the axis
  EXPECT_EQ(tileRange(100, 16, 99, 100), (std::vector<int64_t>{84}));
  EXPECT_EQ(tileRange(100, 16, 40, 60), (std::vector<int64_t>{34, 50}));  // 20 slices: two tiles
  EXPECT_EQ(tileRange(16, 16, 5, 6), (std::vector<int64_t>{0}));
}

TEST(PreviewSchedule, OneLayerOfWindowsGivesTheSliceOnScreen) {
  // The pointwise band model labels each voxel from its own intensity, so wherever a
  // window ran, preview and exact schedule agree exactly: the slice must be covered.
  const std::string path = test::tempDir() + "/preview-band.pt";
  test::writeBandModel(path, test::bandModelMetadata(16, 2.0));
  SegmentationModel band = SegmentationModel::load(path);
  const ImageVolume v = phantom();
  const PreparedVolume pv = prepareVolume(v, band.metadata(), FeedbackStage(nullptr, 0, 1, ""));
  for (int axis = 0; axis < 3; ++axis) {
    InferenceOptions exact;
    InferenceOptions preview;
    preview.depthRange = pv.modelRangeForOrientedSlices(axis, 9, 9);
    preview.rangeAxis = axis;
    preview.previewSchedule = true;
    preview.overlap = 0.25;
    const auto full = planInference(pv, band.metadata().patchSize, exact).starts;
    const auto cheap = planInference(pv, band.metadata().patchSize, preview).starts;
    std::set<int64_t> along;
    for (const auto& s : cheap) along.insert(s[static_cast<size_t>(axis)]);
    EXPECT_EQ(along.size(), 1u) << "axis " << axis;
    const int64_t a = *along.begin();
    EXPECT_LE(a, (*preview.depthRange)[0] + pv.padBefore[static_cast<size_t>(axis)]);
    EXPECT_GE(a + band.metadata().patchSize[static_cast<size_t>(axis)],
              (*preview.depthRange)[1] + pv.padBefore[static_cast<size_t>(axis)]);
    EXPECT_LT(cheap.size(), full.size());
    const InferenceResult p = runSlidingWindow(band, pv, preview, FeedbackStage(nullptr, 0, 1, ""));
    const InferenceResult e = runSlidingWindow(band, pv, exact, FeedbackStage(nullptr, 0, 1, ""));
    EXPECT_EQ(p.windows, static_cast<int>(cheap.size()));
    const torch::Tensor sliceP = p.modelSpaceLabels.select(axis, (*preview.depthRange)[0]);
    const torch::Tensor sliceE = e.modelSpaceLabels.select(axis, (*preview.depthRange)[0]);
    EXPECT_TRUE(torch::equal(sliceP, sliceE)) << "axis " << axis;
    EXPECT_GT(sliceE.count_nonzero().item<int64_t>(), 0) << "not vacuous";
  }
}
