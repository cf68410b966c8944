#include <gtest/gtest.h>
#include <omp.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <numeric>
#include <random>
#include <set>
#include <thread>

#include "support/Error.h"
#include "inference/ParallelWindows.h"
#include "io/Reorientation.h"
#include "model/SegmentationModel.h"
#include "inference/SlidingWindowInference.h"
#include "TestModels.h"
#include "TestSupport.h"
#include "quant/CalibrationData.h"
#include "quant/QuantizableGraph.h"
#include "quant/QuantizedModel.h"

using namespace mqb;

namespace {

// A box volume with two spheres: "low" and "high" band intensities.
ImageVolume spheresVolume(std::array<int64_t, 3> size, std::array<double, 3> spacing,
                          std::array<double, 9> direction = {1, 0, 0, 0, 1, 0, 0, 0, 1}) {
  ImageVolume v;
  v.geometry.size = size;
  v.geometry.spacing = spacing;
  v.geometry.direction = direction;
  v.voxels.assign(static_cast<size_t>(v.geometry.voxelCount()), test::kBandBackgroundHu);
  for (int64_t z = 0; z < size[2]; ++z)
    for (int64_t y = 0; y < size[1]; ++y)
      for (int64_t x = 0; x < size[0]; ++x) {
        const double px = x * spacing[0], py = y * spacing[1], pz = z * spacing[2];
        const double d1 = std::hypot(px - 20, py - 22, pz - 18);
        const double d2 = std::hypot(px - 44, py - 40, pz - 30);
        if (d1 < 12) v.at(x, y, z) = test::kBandLowHu;
        if (d2 < 10) v.at(x, y, z) = test::kBandHighHu;
      }
  return v;
}

LabelVolume expectedBands(const ImageVolume& v) {
  LabelVolume l;
  l.geometry = v.geometry;
  l.voxels.resize(v.voxels.size());
  for (size_t i = 0; i < v.voxels.size(); ++i)
    l.voxels[i] = v.voxels[i] == test::kBandLowHu ? 1 : v.voxels[i] == test::kBandHighHu ? 2 : 0;
  return l;
}

SegmentationModel bandModel(int patch, double spacing) {
  const std::string path = test::tempDir() + "/band.pt";
  test::writeBandModel(path, test::bandModelMetadata(patch, spacing));
  return SegmentationModel::load(path);
}

}  // namespace

TEST(WindowPlan, CoversTheVolumeWithRequestedOverlap) {
  WindowPlan p = planWindows({40, 20, 16}, {16, 16, 16}, 0.5);
  // D: ceil((40-16)/8)+1 = 4 starts 0,8,16,24; H: ceil(4/8)+1 = 2 starts 0,4; W: 1 start.
  ASSERT_EQ(p.starts.size(), 8u);
  EXPECT_EQ(p.starts.front(), (std::array<int64_t, 3>{0, 0, 0}));
  EXPECT_EQ(p.starts.back(), (std::array<int64_t, 3>{24, 4, 0}));
  EXPECT_THROW(planWindows({40, 20, 16}, {16, 16, 16}, 1.0), Error);
}

TEST(GaussianImportance, PeaksAtCentreAndStaysPositive) {
  torch::Tensor g = gaussianImportanceMap({16, 16, 16});
  EXPECT_FLOAT_EQ(g.max().item<float>(), 1.0f);
  EXPECT_GT(g.min().item<float>(), 0.0f);
  // sigma = 2 voxels: one sigma from the centre along one axis weighs exp(-1/2).
  // sigma = 16/8 = 2 voxels, centre 7.5: offsets 0.5 and 2.5 along W give
  // exp(-(0.25 - 6.25) / (2 * 2^2)) = exp(0.75).
  EXPECT_NEAR(g[7][7][7].item<float>() / g[7][7][5].item<float>(), std::exp(0.75), 1e-4);
  EXPECT_NEAR(g[0][0][0].item<float>(), g[15][15][15].item<float>(), 1e-12);
}

TEST(SlidingWindow, PointwiseModelReproducesThresholdingExactly) {
  // Spacing equal to the model's: no resampling, so every voxel's label is known.
  ImageVolume v = spheresVolume({33, 29, 27}, {2, 2, 2});
  SegmentationModel m = bandModel(16, 2.0);
  InferenceResult r = segmentVolume(m, v);
  EXPECT_EQ(r.labels.voxels, expectedBands(v).voxels);
  EXPECT_EQ(r.windows, 4 * 3 * 3);
  EXPECT_TRUE(r.labels.geometry.sameGrid(v.geometry));
}

TEST(SlidingWindow, WindowBatchDoesNotChangeTheResult) {
  ImageVolume v = spheresVolume({33, 29, 27}, {2, 2, 2});
  SegmentationModel m = bandModel(16, 2.0);
  InferenceOptions o;
  o.windowBatch = 5;
  EXPECT_EQ(segmentVolume(m, v, o).labels.voxels, expectedBands(v).voxels);
}

TEST(SlidingWindow, VolumeSmallerThanPatchIsPadded) {
  ImageVolume v = spheresVolume({30, 30, 12}, {2, 2, 2});
  SegmentationModel m = bandModel(16, 2.0);
  EXPECT_EQ(segmentVolume(m, v).labels.voxels, expectedBands(v).voxels);
}

TEST(SlidingWindow, FlippedAndPermutedAxesComeBackOnTheOriginalGrid) {
  // RAS-stored volume (x,y flipped), and one with x/z swapped: the label map must still
  // land voxel for voxel on the input grid.
  for (auto dir :
       {std::array<double, 9>{-1, 0, 0, 0, -1, 0, 0, 0, 1}, std::array<double, 9>{0, 0, 1, 0, 1, 0, 1, 0, 0}}) {
    ImageVolume v = spheresVolume({33, 29, 21}, {2, 2, 2}, dir);
    SegmentationModel m = bandModel(16, 2.0);
    InferenceResult r = segmentVolume(m, v);
    EXPECT_EQ(r.labels.voxels, expectedBands(v).voxels);
    EXPECT_EQ(r.labels.geometry.direction, dir);
  }
}

TEST(SlidingWindow, ResamplingToTargetSpacingIsLinearDownNearestUp) {
  // 1 mm volume, 2 mm model. Linear resampling by an exact factor 2 with voxel edges
  // aligned averages each 2x2x2 block; nearest upsampling copies the block label back.
  ImageVolume v = spheresVolume({64, 60, 50}, {1, 1, 1});
  SegmentationModel m = bandModel(16, 2.0);
  InferenceResult r = segmentVolume(m, v);
  auto band = [](double hu) {
    const double x = (std::clamp(hu, -175.0, 250.0) + 175.0) / 425.0;
    const double h0 = std::max(0.0, x - 0.35), h1 = std::max(0.0, x - 0.65);
    const double l[3] = {0.05, 10 * h0 - 40 * h1, 40 * h1 - 1};
    return static_cast<uint8_t>(std::max_element(l, l + 3) - l);
  };
  int64_t mismatches = 0;
  for (int64_t z = 0; z < 50; ++z)
    for (int64_t y = 0; y < 60; ++y)
      for (int64_t x = 0; x < 64; ++x) {
        const int64_t bx = x / 2 * 2, by = y / 2 * 2, bz = z / 2 * 2;
        double mean = 0;
        for (int dz = 0; dz < 2; ++dz)
          for (int dy = 0; dy < 2; ++dy)
            for (int dx = 0; dx < 2; ++dx) mean += v.at(bx + dx, by + dy, bz + dz) / 8.0;
        mismatches += r.labels.at(x, y, z) != band(mean);
      }
  EXPECT_EQ(mismatches, 0);
}

TEST(SlidingWindow, ProgressIsMonotoneAndCancellationLeavesNoResult) {
  ImageVolume v = spheresVolume({33, 29, 27}, {2, 2, 2});
  SegmentationModel m = bandModel(16, 2.0);
  std::vector<double> seen;
  Feedback fb([&](double f, const std::string&) { seen.push_back(f); });
  segmentVolume(m, v, {}, &fb);
  ASSERT_FALSE(seen.empty());
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_DOUBLE_EQ(seen.back(), 1.0);

  Feedback cancelling;
  int calls = 0;
  cancelling.setProgressCallback([&](double, const std::string&) {
    if (++calls == 5) cancelling.cancel();
  });
  EXPECT_THROW(segmentVolume(m, v, {}, &cancelling), Canceled);
}

TEST(SlidingWindow, DepthRangeRestrictsToTheWindowsOnScreen) {
  ImageVolume v = spheresVolume({33, 29, 40}, {2, 2, 2});
  SegmentationModel m = bandModel(16, 2.0);
  InferenceOptions o;
  o.depthRange = std::array<int64_t, 2>{0, 4};
  InferenceResult r = segmentVolume(m, v, o);
  EXPECT_LT(r.windows, 5 * 3 * 3);
  const LabelVolume truth = expectedBands(v);
  // Slices 0..3 exact; the far end (z >= 32) not computed, left background.
  for (int64_t z = 0; z < 4; ++z)
    for (int64_t y = 0; y < 29; ++y)
      for (int64_t x = 0; x < 33; ++x) EXPECT_EQ(r.labels.at(x, y, z), truth.at(x, y, z));
  int64_t farForeground = 0;
  for (int64_t z = 32; z < 40; ++z)
    for (int64_t y = 0; y < 29; ++y)
      for (int64_t x = 0; x < 33; ++x) farForeground += r.labels.at(x, y, z) != 0;
  EXPECT_EQ(farForeground, 0);
}

TEST(SlidingWindow, RangeAlongHeightRestrictsToTheCoronalSliceOnScreen) {
  // y is the model's H axis: a coronal slice (fixed y) maps onto an H range.
  ImageVolume v = spheresVolume({33, 40, 29}, {2, 2, 2});
  SegmentationModel m = bandModel(16, 2.0);
  const PreparedVolume pv = prepareVolume(v, m.metadata(), FeedbackStage(nullptr, 0, 1, ""));
  // Same spacing as the model: oriented slice y maps onto H range [y, y + 1).
  EXPECT_EQ(pv.modelRangeForOrientedSlices(1, 24, 24), (std::array<int64_t, 2>{24, 25}));
  EXPECT_EQ(pv.modelRangeForOrientedSlices(2, 3, 5), (std::array<int64_t, 2>{3, 6}));
  EXPECT_EQ(pv.modelRangeForOrientedSlices(0, 0, 0), pv.modelRangeForOrientedSlices(0, 0));
  EXPECT_THROW(pv.modelRangeForOrientedSlices(3, 0, 0), Error);
  InferenceOptions o;
  o.depthRange = pv.modelRangeForOrientedSlices(1, 24, 24);  // through the "high" sphere
  o.rangeAxis = 1;
  InferenceResult r = runSlidingWindow(m, pv, o, FeedbackStage(nullptr, 0, 1, ""));
  const InferenceResult full = runSlidingWindow(m, pv, InferenceOptions{}, FeedbackStage(nullptr, 0, 1, ""));
  EXPECT_LT(r.windows, full.windows);
  // The coronal slice on screen is exact; the far end along y (never covered) stays 0.
  const LabelVolume truth = expectedBands(v);
  for (int64_t z = 0; z < 29; ++z)
    for (int64_t x = 0; x < 33; ++x) EXPECT_EQ(r.labels.at(x, 24, z), truth.at(x, 24, z));
  // Windows start at y 0, 8, 16, 24: only 16 and 24 reach y = 24, so y < 16 is never
  // computed although the "low" sphere lies there.
  int64_t farForeground = 0, farTruth = 0;
  for (int64_t z = 0; z < 29; ++z)
    for (int64_t y = 0; y < 16; ++y)
      for (int64_t x = 0; x < 33; ++x) {
        farForeground += r.labels.at(x, y, z) != 0;
        farTruth += truth.at(x, y, z) != 0;
      }
  EXPECT_EQ(farForeground, 0);
  EXPECT_GT(farTruth, 0);
  int64_t truthOnSlice = 0;
  for (int64_t z = 0; z < 29; ++z)
    for (int64_t x = 0; x < 33; ++x) truthOnSlice += truth.at(x, 24, z) != 0;
  EXPECT_GT(truthOnSlice, 0);  // the exactness check above is not vacuous
}

TEST(Reorientation, CodeAndRoundTrip) {
  ImageGeometry g;
  g.size = {4, 3, 2};
  g.direction = {-1, 0, 0, 0, -1, 0, 0, 0, 1};
  EXPECT_EQ(orientationCode(g), "RAS");
  LabelVolume l;
  l.geometry = g;
  for (int i = 0; i < 24; ++i) l.voxels.push_back(static_cast<uint8_t>(i));
  auto r = reorientationTo(g, "LPS");
  LabelVolume lps = reorient(l, r);
  EXPECT_EQ(orientationCode(lps.geometry), "LPS");
  EXPECT_EQ(lps.at(0, 0, 0), l.at(3, 2, 0));
  EXPECT_EQ(restoreOrientation(lps, r, g).voxels, l.voxels);
}

// ---- windows on several threads ----------------------------------------------------------

TEST(ParallelWindows, ResultsArriveInOrderOnTheCallerWithOneIntraOpThreadPerWorker) {
  unsetenv("MQB_WINDOW_WORKERS");
  torch::NoGradGuard noGrad;
  const auto caller = std::this_thread::get_id();
  std::atomic<int> wrongThreads{0}, gradEnabled{0}, onCaller{0};
  std::vector<size_t> order;
  std::vector<torch::Tensor> results(40);
  runOrderedParallel(
      40, 3,
      [&](size_t i) {
        // Uneven durations: later windows often finish before earlier ones.
        std::this_thread::sleep_for(std::chrono::milliseconds((i * 7) % 5));
        if (omp_get_max_threads() != 1) ++wrongThreads;
        if (torch::GradMode::is_enabled()) ++gradEnabled;  // the caller's NoGradGuard carries over
        if (std::this_thread::get_id() == caller) ++onCaller;
        results[i] = torch::full({1}, double(i));
      },
      [&](size_t i) {
        EXPECT_EQ(std::this_thread::get_id(), caller);
        EXPECT_EQ(results[i].item<double>(), double(i));
        order.push_back(i);
      },
      nullptr);
  std::vector<size_t> expected(40);
  std::iota(expected.begin(), expected.end(), 0);
  EXPECT_EQ(order, expected);
  EXPECT_EQ(wrongThreads.load(), 0);
  EXPECT_EQ(gradEnabled.load(), 0);
  EXPECT_EQ(onCaller.load(), 0);
}

TEST(ParallelWindows, AFailingWindowStopsTheOthersAndItsErrorComesOut) {
  std::atomic<size_t> produced{0};
  size_t consumed = 0;
  try {
    runOrderedParallel(
        200, 2,
        [&](size_t i) {
          if (i == 13) throw Error("window 13 broke");
          ++produced;
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
        },
        [&](size_t) { ++consumed; }, nullptr);
    FAIL() << "the failure was swallowed";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "window 13 broke");
  }
  EXPECT_LE(consumed, 13u);
  EXPECT_LT(produced.load(), 30u);  // the workers stopped, they did not run all 200
}

TEST(ParallelWindows, ACancelEndsTheRunWithCanceled) {
  Feedback fb;
  size_t consumed = 0;
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(runOrderedParallel(
                   1000, 2, [&](size_t) { std::this_thread::sleep_for(std::chrono::milliseconds(5)); },
                   [&](size_t) {
                     if (++consumed == 10) fb.cancel();
                   },
                   &fb),
               Canceled);
  EXPECT_LT(consumed, 20u);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 2.0);
}

TEST(SlidingWindow, WindowsOnSeveralThreadsGiveTheLabelsOfOneAtATime) {
  unsetenv("MQB_WINDOW_WORKERS");
  // A network whose logits mix neighbourhoods (3x3x3 conv, attention, transposed conv), so
  // the blend of overlapping windows matters; FP32 and fake-quantized.
  const std::string path = test::tempDir() + "/mixed-parallel.pt";
  test::writeMixedOpsModel(path);
  SegmentationModel model = SegmentationModel::load(path);
  ImageVolume v = spheresVolume({41, 37, 33}, {2, 2, 2});
  std::mt19937 rng(5);
  std::normal_distribution<float> noise(0.0f, 60.0f);
  for (float& x : v.voxels) x += noise(rng);

  auto graph = std::make_shared<quant::QuantizableGraph>(model.module(), path);
  std::vector<torch::Tensor> patches;
  torch::manual_seed(3);
  for (int i = 0; i < 4; ++i) patches.push_back(torch::rand({1, 1, 16, 16, 16}));
  quant::CalibrationData cal = quant::calibrate(*graph, patches, 0, FeedbackStage(nullptr, 0, 1, ""));
  quant::QuantConfig config;
  config.precision = quant::Precision::parse("W4A4");
  config.granularity = quant::Granularity::PerTensor;
  quant::QuantizedModel w4a4(graph, model.metadata(), config, &cal);

  for (PatchPredictor* m : std::vector<PatchPredictor*>{&model, &w4a4}) {
    InferenceOptions one, three;
    one.windowWorkers = 1;
    three.windowWorkers = 3;
    InferenceResult a = segmentVolume(*m, v, one);
    InferenceResult b = segmentVolume(*m, v, three);
    EXPECT_EQ(a.windowWorkers, 1);
    EXPECT_EQ(b.windowWorkers, 3);
    EXPECT_EQ(a.windows, b.windows);
    EXPECT_EQ(a.labels.voxels, b.labels.voxels);
    std::set<uint8_t> classes(a.labels.voxels.begin(), a.labels.voxels.end());
    EXPECT_GE(classes.size(), 2u);  // not a trivially constant answer
  }
  // A graph whose hooks record (calibration, layer analysis) is never run on several threads.
  struct Recording : quant::HookObserver {
  } recording;
  w4a4.runtime().setObserver(&recording);
  EXPECT_FALSE(w4a4.allowsConcurrentPredict());
  w4a4.runtime().setObserver(nullptr);
  EXPECT_TRUE(w4a4.allowsConcurrentPredict());
}
