// Cancellation inside a model's forward (core/CancelPoint.h): a cancel from another thread
// (GUI Cancel, the CLI's signal watcher) ends a long window within 2 s as mqb::Canceled, in
// the FP32, fake-quantized and INT8 graphs, and the points cost nothing a user would see.
#include <gtest/gtest.h>

#include <torch/csrc/jit/passes/freeze_module.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <thread>

#include "runtime/CancelPoint.h"
#include "support/Error.h"
#include "runtime/FastConvolutions.h"
#include "demo/Phantom.h"
#include "model/SegmentationModel.h"
#include "inference/SlidingWindowInference.h"
#include "TestModels.h"
#include "TestSupport.h"
#include "quant/CalibrationData.h"
#include "quant/int8/Int8Engine.h"
#include "quant/int8/Int8Model.h"
#include "quant/int8/Int8OutputRanges.h"
#include "quant/QuantizableGraph.h"
#include "quant/QuantizedModel.h"

#ifndef MQB_ZOO_DIR
#define MQB_ZOO_DIR ""
#endif

using namespace mqb;
using Clock = std::chrono::steady_clock;

namespace {

double secondsBetween(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// 64 convolutions 16 -> 16 on a 64^3 window: a forward of several seconds (about 4 s on a
// quiet 2-core AVX2 machine) made of short ops.
// A chain long enough that one 64^3 window takes over 3 s on this machine: machines differ
// (a fast one ran a fixed 64-layer chain in 2.3 s, under the cancel tests' premise), so the
// length is set by timing a forward.
const std::string& longWindowModel() {
  static const std::string path = [] {
    const std::string p = test::tempDir() + "/conv-chain.pt";
    int layers = 64;
    for (int attempt = 0; attempt < 3; ++attempt) {
      test::writeConvChainModel(p, 64, 16, layers);
      SegmentationModel m = SegmentationModel::load(p);
      const auto t0 = Clock::now();
      m.predict(torch::rand({1, 1, 64, 64, 64}));
      const double seconds = secondsBetween(t0, Clock::now());
      if (seconds > 3.0) break;
      layers = std::min(1024, static_cast<int>(layers * 4.0 / std::max(seconds, 0.1)) + 1);
    }
    return p;
  }();
  return path;
}

// Cancels `feedback` `delay` after construction; joins on destruction.
class CancelLater {
 public:
  CancelLater(Feedback& feedback, std::chrono::milliseconds delay)
      : at_(Clock::now() + delay), thread_([this, &feedback] {
          std::this_thread::sleep_until(at_);
          feedback.cancel();
        }) {}
  ~CancelLater() { thread_.join(); }
  Clock::time_point at() const { return at_; }

 private:
  Clock::time_point at_;
  std::thread thread_;
};

}  // namespace

TEST(CancelPoint, FollowsEveryHeavyOpOfTheForward) {
  const std::string path = test::tempDir() + "/mixed.pt";
  test::writeMixedOpsModel(path, 4);
  SegmentationModel m = SegmentationModel::load(path);
  // enc, down, head (oneDNN), q, k, v, proj (linear), two matmuls, the transposed conv
  // (its pointwise oneDNN convolution: the scatter after it is one pass over memory).
  EXPECT_EQ(m.cancelPoints(), 10);
}

TEST(CancelPoint, ACancelInsideOneLongWindowEndsItWithinTwoSeconds) {
  SegmentationModel model = SegmentationModel::load(longWindowModel());
  PhantomOptions o;
  o.size = {48, 48, 48};
  o.spacing = {2.0, 2.0, 2.0};
  const ImageVolume ct = generateAbdominalPhantom(o).ct;

  // The premise: the one window takes well over the 0.5 s + 2 s of the test.
  const auto f0 = Clock::now();
  model.predict(torch::rand({1, 1, 64, 64, 64}));
  const double forward = secondsBetween(f0, Clock::now());
  ASSERT_GT(forward, 2.5) << "the test model is too fast on this machine to prove anything";

  Feedback feedback;
  Clock::time_point end;
  Clock::time_point cancelAt;
  {
    CancelLater later(feedback, std::chrono::milliseconds(500));
    cancelAt = later.at();
    EXPECT_THROW(segmentVolume(model, ct, {}, &feedback), Canceled);
    end = Clock::now();
  }
  EXPECT_LT(secondsBetween(cancelAt, end), 2.0) << "uncancelled forward: " << forward << " s";
  std::cout << "uncancelled forward " << forward << " s; cancel took effect after " << secondsBetween(cancelAt, end)
            << " s\n";
  EXPECT_GT(secondsBetween(cancelAt, end), -0.1);  // it ended because of the cancel
}

TEST(CancelPoint, TheFakeQuantizedGraphStopsWithinTwoSecondsToo) {
  SegmentationModel model = SegmentationModel::load(longWindowModel());
  auto graph = std::make_shared<quant::QuantizableGraph>(model.module(), longWindowModel());
  quant::QuantConfig w8;
  w8.precision = quant::Precision::integer(8, 8);
  w8.granularity = quant::Granularity::PerVoxel;  // dynamic scales: no calibration forward
  quant::QuantizedModel q(graph, model.metadata(), w8, nullptr);
  const torch::Tensor x = torch::rand({1, 1, 64, 64, 64});
  Feedback feedback;
  Clock::time_point end, cancelAt;
  {
    CancelLater later(feedback, std::chrono::milliseconds(500));
    cancelAt = later.at();
    EXPECT_THROW(runCancellable(&feedback, [&] { return q.predict(x); }), Canceled);
    end = Clock::now();
  }
  EXPECT_LT(secondsBetween(cancelAt, end), 2.0);
  std::cout << "fake-quantized: cancel took effect after " << secondsBetween(cancelAt, end) << " s\n";
  EXPECT_GT(secondsBetween(cancelAt, end), -0.1);
}

TEST(CancelPoint, TheInt8GraphChecksTooButItsPortableFormStaysLibTorchOnly) {
  if (quant::availableInt8Engines().empty()) GTEST_SKIP() << "no INT8 engine in this LibTorch";
  const std::string path = test::tempDir() + "/mixed-int8.pt";
  test::writeMixedOpsModel(path, 5);
  SegmentationModel model = SegmentationModel::load(path);
  auto graph = std::make_shared<quant::QuantizableGraph>(model.module(), path);
  std::vector<torch::Tensor> patches;
  for (int i = 0; i < 2; ++i) patches.push_back(torch::rand({1, 1, 16, 16, 16}));
  const quant::CalibrationData cal = quant::calibrate(*graph, patches, 0, FeedbackStage(nullptr, 0, 1, ""));
  const quant::Int8OutputRanges ranges = quant::recordOutputRanges(*graph, patches);
  quant::QuantConfig w8;
  w8.precision = quant::Precision::integer(8, 8);
  w8.granularity = quant::Granularity::PerTensor;
  quant::Int8Model int8(*graph, model.metadata(), w8, cal, ranges);
  Feedback feedback;
  const torch::Tensor y = runCancellable(&feedback, [&] { return int8.predict(patches[0]); });
  EXPECT_EQ(y.size(1), 3);
  feedback.cancel();
  EXPECT_THROW(runCancellable(&feedback, [&] { return int8.predict(patches[0]); }), Canceled);
  // Cancellation of other jobs does not leak into a forward run without a scope.
  EXPECT_NO_THROW(int8.predict(patches[0]));
  // The LibTorch-only graph (export-int8 --portable) has no mqb::cancel_point to check.
  quant::Int8GraphOptions portable;
  portable.fastTransitions = portable.fuseNormActivation = false;
  quant::Int8Model aten(*graph, model.metadata(), w8, cal, ranges, "", portable);
  EXPECT_NO_THROW(runCancellable(&feedback, [&] { return aten.predict(patches[0]); }));
}

TEST(CancelPoint, AnErrorThatIsNotACancelKeepsItsReason) {
  Feedback feedback;
  feedback.cancel();
  try {
    runCancellable(&feedback, []() -> int { throw std::runtime_error("shape mismatch in conv3d"); });
    FAIL() << "no exception";
  } catch (const Canceled&) {
    FAIL() << "a foreign error became a cancel";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "shape mismatch in conv3d");
  }
}
