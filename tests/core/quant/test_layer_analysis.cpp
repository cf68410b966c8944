#include <gtest/gtest.h>

#include "support/Error.h"
#include "model/SegmentationModel.h"
#include "TestModels.h"
#include "TestSupport.h"
#include "quant/LayerAnalysis.h"
#include "quant/QuantRuntime.h"

#include <functional>
#include <optional>

using namespace mqb;
using namespace mqb::quant;

namespace {

struct Fixture {
  SegmentationModel model;
  std::shared_ptr<QuantizableGraph> graph;
  std::vector<torch::Tensor> patches;
  CalibrationData calibration;
};

Fixture& fixture() {
  static Fixture* f = [] {
    const std::string path = test::tempDir() + "/mixed.pt";
    test::writeMixedOpsModel(path, 11);
    SegmentationModel model = SegmentationModel::load(path);
    auto graph = std::make_shared<QuantizableGraph>(model.module(), path);
    torch::manual_seed(5);
    std::vector<torch::Tensor> patches;
    for (int i = 0; i < 3; ++i) patches.push_back(torch::rand({1, 1, 16, 16, 16}));
    CalibrationData cal = calibrate(*graph, patches, 0, FeedbackStage(nullptr, 0, 1, ""));
    return new Fixture{std::move(model), graph, patches, std::move(cal)};
  }();
  return *f;
}

LayerAnalysis analyze(const QuantConfig& c) {
  auto& f = fixture();
  return analyzeLayers(*f.graph, f.model.metadata(), c, f.calibration, {f.patches[0]},
                       FeedbackStage(nullptr, 0, 1, ""));
}

QuantConfig config(const char* precision, Granularity g) {
  QuantConfig c;
  c.precision = Precision::parse(precision);
  c.granularity = g;
  return c;
}

}  // namespace

TEST(LayerAnalysis, ErrorsOrderedByBitWidthAndFirstOpIsolatedEqualsCumulative) {
  LayerAnalysis w8 = analyze(config("W8A8", Granularity::PerChannel));
  LayerAnalysis w3 = analyze(config("W3A3", Granularity::PerChannel));
  ASSERT_EQ(w8.ops.size(), 10u);
  for (size_t i = 0; i < w8.ops.size(); ++i) {
    EXPECT_GT(w8.ops[i].isolated.sqnrDb, 25.0) << w8.ops[i].name;
    EXPECT_GT(w8.ops[i].isolated.sqnrDb, w3.ops[i].isolated.sqnrDb + 10) << w8.ops[i].name;
    EXPECT_GT(w8.ops[i].isolated.cosine, 0.99) << w8.ops[i].name;
    EXPECT_GT(w8.ops[i].isolated.mse, 0.0);
  }
  // The first op sees the model input in both runs: isolated and cumulative coincide.
  EXPECT_NEAR(w8.ops[0].isolated.sqnrDb, w8.ops[0].cumulative.sqnrDb, 1e-6);
  // Errors accumulate: the last op is worse in the full quantized run than alone.
  EXPECT_LT(w3.ops.back().cumulative.sqnrDb, w3.ops.back().isolated.sqnrDb);
}

TEST(LayerAnalysis, Fp32ConfigHasNoError) {
  LayerAnalysis a = analyze(config("FP32", Granularity::PerTensor));
  for (const auto& op : a.ops) {
    EXPECT_TRUE(std::isinf(op.isolated.sqnrDb)) << op.name;
    EXPECT_TRUE(std::isinf(op.cumulative.sqnrDb)) << op.name;
    EXPECT_FALSE(op.quantized);
  }
}

TEST(LayerAnalysis, HistogramsShowTheGridAndClipping) {
  LayerAnalysis a = analyze(config("W8A8", Granularity::PerTensor));
  const OpAnalysis& down = a.ops[1];
  ASSERT_EQ(down.inputs.size(), 1u);
  const InputDistribution& d = down.inputs[0];
  EXPECT_EQ(d.scheme, "static per-tensor");
  EXPECT_GE(d.calibration.counts.size(), 256u);
  EXPECT_EQ(d.levels.size(), 255u);  // -127..127
  EXPECT_NEAR(d.clipHigh, -d.clipLow, 1e-6);
  EXPECT_NEAR(d.levels.back(), d.clipHigh, 1e-6);
  EXPECT_DOUBLE_EQ(d.clippedFraction, 0.0);  // min-max never clips calibration data
  QuantConfig pct = config("W8A8", Granularity::PerTensor);
  pct.calibrator = CalibrationMethod::parse("percentile:99");
  // Kept alive: a reference into the temporary analysis dangled (found by AddressSanitizer).
  const LayerAnalysis pctAnalysis = analyze(pct);
  const InputDistribution& clipped = pctAnalysis.ops[1].inputs[0];
  EXPECT_GT(clipped.clippedFraction, 0.001);
  EXPECT_LT(clipped.clippedFraction, 0.05);
  // The attention matmul has two inputs; the distribution shift grows with fewer bits.
  EXPECT_EQ(a.ops[5].inputs.size(), 2u);
  LayerAnalysis w3 = analyze(config("W3A3", Granularity::PerTensor));
  EXPECT_GT(w3.ops.back().inputs[0].wasserstein1, a.ops.back().inputs[0].wasserstein1);
  EXPECT_EQ(a.ops.back().inputs[0].fp32Run.counts.size(), 256u);
  // Weight ranges per output channel: 3 for the head, 8 for the transposed conv (axis 1).
  EXPECT_EQ(a.ops.back().weightChannelMin.size(), 3u);
  EXPECT_EQ(a.ops[8].weightChannelMax.size(), 8u);
}

TEST(LayerAnalysis, KeepMostSensitiveInFp32IsOneAction) {
  QuantConfig c = config("W4A4", Granularity::PerTensor);
  LayerAnalysis a = analyze(c);
  const auto ranking = a.sensitivityRanking();
  ASSERT_EQ(ranking.size(), 10u);
  for (size_t i = 1; i < ranking.size(); ++i) {
    auto sqnr = [&](const std::string& n) {
      for (const auto& op : a.ops)
        if (op.name == n) return op.isolated.sqnrDb;
      return 0.0;
    };
    EXPECT_LE(sqnr(ranking[i - 1]), sqnr(ranking[i]));
  }
  QuantConfig mixed = keepMostSensitiveInFp32(c, a, 2);
  EXPECT_EQ(mixed.excludedOps, (std::set<std::string>{ranking[0], ranking[1]}));
  LayerAnalysis b = analyze(mixed);
  for (const auto& op : b.ops)
    if (op.name == ranking[0]) EXPECT_FALSE(op.quantized);
  const nlohmann::json j = b.toJson();
  EXPECT_EQ(j["ops"].size(), 10u);
  EXPECT_EQ(j["sensitivity_ranking"].size(), 8u);
}

// The calibration runs the FP32 model on the analysis patches anyway: recording the FP32
// side there must leave the calibration unchanged and give the analysis a fresh run gives.
TEST(LayerAnalysis, CaptureRecordedDuringCalibrationGivesTheSameAnalysis) {
  auto& f = fixture();
  const FeedbackStage none(nullptr, 0, 1, "");
  Fp32Capture capture;
  const CalibrationData withCapture = calibrateWithCapture(*f.graph, f.patches, 0, none, capture, 2);
  ASSERT_TRUE(capture.complete());
  const std::vector<torch::Tensor> two{f.patches[0], f.patches[1]};
  EXPECT_TRUE(capture.matches(two));
  EXPECT_EQ(withCapture.toJson(), f.calibration.toJson()) << "recording changed the calibration";
  for (const auto& precision : {"W8A8", "W4A4"}) {
    const QuantConfig c = config(precision, Granularity::PerChannel);
    const LayerAnalysis reused = analyzeLayers(*f.graph, f.model.metadata(), c, withCapture, two, none, &capture);
    const LayerAnalysis fresh = analyzeLayers(*f.graph, f.model.metadata(), c, f.calibration, two, none);
    ASSERT_EQ(reused.ops.size(), fresh.ops.size());
    for (size_t i = 0; i < fresh.ops.size(); ++i) {
      EXPECT_EQ(reused.ops[i].isolated.sqnrDb, fresh.ops[i].isolated.sqnrDb) << fresh.ops[i].name;
      EXPECT_EQ(reused.ops[i].cumulative.mse, fresh.ops[i].cumulative.mse) << fresh.ops[i].name;
      for (size_t s = 0; s < fresh.ops[i].inputs.size(); ++s)
        EXPECT_EQ(reused.ops[i].inputs[s].fp32Run.counts, fresh.ops[i].inputs[s].fp32Run.counts);
    }
  }
  // Over budget: nothing is kept and the calibration is still complete.
  Fp32Capture tiny(1024);
  const CalibrationData cal = calibrateWithCapture(*f.graph, f.patches, 0, none, tiny, 1);
  EXPECT_FALSE(tiny.complete());
  EXPECT_EQ(tiny.bytes(), 0u);
  EXPECT_EQ(cal.toJson(), f.calibration.toJson());
}

// A study keeps the FP32 side of the analysis: a second configuration on the same patches
// reuses it and must give exactly what a fresh analysis gives; other patches invalidate it.
TEST(LayerAnalysis, ReusedFp32CaptureGivesTheSameAnalysis) {
  auto& f = fixture();
  const FeedbackStage none(nullptr, 0, 1, "");
  const std::vector<torch::Tensor> two{f.patches[0], f.patches[1]};
  Fp32Capture capture;
  const QuantConfig a = config("W8A8", Granularity::PerTensor), b = config("W4A4", Granularity::Adaptive);
  LayerAnalysis first = analyzeLayers(*f.graph, f.model.metadata(), a, f.calibration, two, none, &capture);
  ASSERT_TRUE(capture.complete());
  EXPECT_GT(capture.bytes(), 0u);
  LayerAnalysis reused = analyzeLayers(*f.graph, f.model.metadata(), b, f.calibration, two, none, &capture);
  LayerAnalysis fresh = analyzeLayers(*f.graph, f.model.metadata(), b, f.calibration, two, none);
  LayerAnalysis plainA = analyzeLayers(*f.graph, f.model.metadata(), a, f.calibration, two, none);
  ASSERT_EQ(reused.ops.size(), fresh.ops.size());
  for (size_t i = 0; i < fresh.ops.size(); ++i) {
    EXPECT_EQ(reused.ops[i].isolated.sqnrDb, fresh.ops[i].isolated.sqnrDb) << fresh.ops[i].name;
    EXPECT_EQ(reused.ops[i].cumulative.sqnrDb, fresh.ops[i].cumulative.sqnrDb) << fresh.ops[i].name;
    EXPECT_EQ(first.ops[i].isolated.mse, plainA.ops[i].isolated.mse) << fresh.ops[i].name;
    ASSERT_EQ(reused.ops[i].inputs.size(), fresh.ops[i].inputs.size());
    for (size_t s = 0; s < fresh.ops[i].inputs.size(); ++s) {
      EXPECT_EQ(reused.ops[i].inputs[s].fp32Run.counts, fresh.ops[i].inputs[s].fp32Run.counts);
      EXPECT_EQ(reused.ops[i].inputs[s].wasserstein1, fresh.ops[i].inputs[s].wasserstein1);
    }
  }
  EXPECT_TRUE(capture.matches(two));
  EXPECT_FALSE(capture.matches({f.patches[2], f.patches[1]}));
  // A capture too small for the model is dropped, and the analysis is still complete.
  Fp32Capture tiny(1024);
  LayerAnalysis small = analyzeLayers(*f.graph, f.model.metadata(), a, f.calibration, two, none, &tiny);
  EXPECT_FALSE(tiny.complete());
  for (size_t i = 0; i < small.ops.size(); ++i) EXPECT_EQ(small.ops[i].isolated.mse, plainA.ops[i].isolated.mse);
}

// Cancel inside a forward of the analysis (its observers) or of the calibration (the
// statistics of an op input) comes out as mqb::Canceled, not as the TorchScript
// interpreter's error text, and leaves no result (issue 13).
TEST(LayerAnalysisCancel, CancelDuringTheQuantizedRunIsCanceled) {
  auto& f = fixture();
  Feedback feedback([&](double, const std::string& stage) {
    if (stage.find("quantized run") != std::string::npos) feedback.cancel();
  });
  std::optional<LayerAnalysis> result;
  const QuantConfig w8 = config("W8A8", Granularity::PerChannel);
  const std::vector<torch::Tensor> onePatch{f.patches[0]};
  EXPECT_THROW(result = analyzeLayers(*f.graph, f.model.metadata(), w8, f.calibration, onePatch,
                                      FeedbackStage(&feedback, 0, 1, "")),
               Canceled);
  EXPECT_FALSE(result.has_value());
}

namespace {
// Cancels a Feedback when the calibration's FP32 run reaches the n-th op input.
class CancelAtInput : public HookObserver {
 public:
  CancelAtInput(Feedback& feedback, int n) : feedback_(feedback), left_(n) {}
  void onInput(int, int, const torch::Tensor&) override {
    if (--left_ == 0) feedback_.cancel();
  }
  void onOutput(int, const torch::Tensor&) override {}

 private:
  Feedback& feedback_;
  int left_;
};
}  // namespace

TEST(LayerAnalysisCancel, CancelInsideTheOnlyCalibrationForwardIsCanceled) {
  auto& f = fixture();
  Feedback feedback;
  CancelAtInput cancelAtThird(feedback, 3);
  std::optional<CalibrationData> data;
  // One patch: no check between patches can catch it, only those inside the forward.
  const std::function<HookObserver*(size_t)> alsoObserve = [&](size_t) -> HookObserver* { return &cancelAtThird; };
  const std::vector<torch::Tensor> onePatch{f.patches[0]};
  EXPECT_THROW(data = calibrate(*f.graph, onePatch, 0, FeedbackStage(&feedback, 0, 1, "calibration"), alsoObserve),
               Canceled);
  EXPECT_FALSE(data.has_value());
}
