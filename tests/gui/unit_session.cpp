// The Qt-free layer of the desktop application: AnalysisSession (caching, previews,
// cancellation, scores), session files and table export; and that the desktop path computes
// what the CLI computes.
// LibTorch's headers before any Qt header (Qt's `slots` macro breaks them).
#include "model/SegmentationModel.h"
#include "study/QuantizationStudy.h"

#include "AnalysisSession.h"
#include "BandCase.h"
#include "CommandRun.h"
#include "ExecutionSummary.h"
#include "GuiTestSupport.h"
#include "SessionController.h"
#include "SessionFile.h"
#include "TableExport.h"
#include "TestModels.h"
#include "TestSupport.h"

#include <gtest/gtest.h>

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QSignalSpy>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "support/Error.h"

using namespace mqb;
using namespace mqb::gui;

namespace {

quant::QuantConfig w4a4(quant::Granularity granularity = quant::Granularity::PerChannel) {
  quant::QuantConfig s;
  s.precision = quant::Precision::integer(4, 4);
  s.granularity = granularity;
  s.calibrationPatches = 4;
  return s;
}

class SessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = test::tempDir();
    model = dir + "/band.pt";
    test::writeBandModel(model, test::bandModelMetadata(16, 2.0));
    phantom = guitest::makePhantom();
    session.loadModel(model);
    session.setVolume(phantom.image, "phantom");
  }
  std::vector<RunUpdate> run(const quant::QuantConfig& s, int previewSlice = -1, Feedback* fb = nullptr,
                             int previewAxis = 2) {
    std::vector<RunUpdate> updates;
    RunRequest r;
    r.settings = s;
    r.previewSlice = previewSlice;
    r.previewAxis = previewAxis;
    session.run(r, fb, [&](const RunUpdate& u) { updates.push_back(u); });
    return updates;
  }
  std::string dir, model;
  guitest::Phantom phantom;
  AnalysisSession session;
};

const RunUpdate* find(const std::vector<RunUpdate>& u, RunUpdate::Kind k) {
  for (const auto& x : u)
    if (x.kind == k) return &x;
  return nullptr;
}

}  // namespace

TEST_F(SessionTest, ModelInfoListsTheQuantizableOps) {
  auto info = session.modelInfo();
  ASSERT_TRUE(info);
  EXPECT_EQ(info->metadata.name, "band-test-model");
  ASSERT_EQ(info->ops.size(), 2u);
  EXPECT_EQ(info->ops[0].kind, "conv");
  EXPECT_TRUE(info->ops[0].pointwise);
  EXPECT_EQ(info->ops[0].shapeText(), "2x1x1x1x1");
  EXPECT_EQ(info->ops[1].shapeText(), "3x2x1x1x1");
  EXPECT_GT(info->parameterCount, 0);
  // The coverage shown under the op list: both contractions, all of the MACs.
  EXPECT_NE(info->coverage.find("2/2 contractions"), std::string::npos) << info->coverage;
  EXPECT_NE(info->coverage.find("100.0 %"), std::string::npos) << info->coverage;
  EXPECT_TRUE(info->fp32Contractions.empty());
}

TEST_F(SessionTest, RunsFp32AndW4A4AndCachesWhatTheChangeAllows) {
  auto updates = run(w4a4());
  const RunUpdate* fp32 = find(updates, RunUpdate::Kind::Fp32);
  const RunUpdate* quant = find(updates, RunUpdate::Kind::Quant);
  const RunUpdate* scores = find(updates, RunUpdate::Kind::Scores);
  ASSERT_TRUE(fp32 && quant && scores);
  EXPECT_FALSE(fp32->fromCache);
  ASSERT_TRUE(quant->quantized && quant->difference);
  EXPECT_EQ(quant->quantized->geometry.size, phantom.image->geometry.size);
  // W4A4 moves the band model's decision thresholds: some voxels change class.
  EXPECT_GT(quant->differingVoxels, 0);
  int64_t ones = 0;
  for (auto v : quant->difference->voxels) ones += v;
  EXPECT_EQ(ones, quant->differingVoxels);
  EXPECT_EQ(session.counters().fp32, 1);
  EXPECT_EQ(session.counters().calibrate, 1);
  EXPECT_EQ(session.counters().prepare, 1);
  EXPECT_TRUE(session.calibrationCached(w4a4()));

  // Another granularity / calibrator / bit-width: FP32, preparation and calibration reused.
  quant::QuantConfig s2 = w4a4(quant::Granularity::PerTensor);
  s2.calibrator = quant::CalibrationMethod::parse("mse");
  s2.precision.weightBits = 8;
  updates = run(s2);
  EXPECT_TRUE(find(updates, RunUpdate::Kind::Fp32)->fromCache);
  EXPECT_EQ(session.counters().fp32, 1);
  EXPECT_EQ(session.counters().prepare, 1);
  EXPECT_EQ(session.counters().calibrate, 1);
  EXPECT_EQ(session.counters().quantized, 2);

  // Back to the first configuration: the quantized result comes from the cache.
  updates = run(w4a4());
  EXPECT_TRUE(find(updates, RunUpdate::Kind::Quant)->fromCache);
  EXPECT_EQ(session.counters().quantized, 2);

  // More calibration patches: a new calibration.
  quant::QuantConfig s3 = w4a4();
  s3.calibrationPatches = 6;
  run(s3);
  EXPECT_EQ(session.counters().calibrate, 2);

  // FP32 "quantization" is the FP32 result itself.
  quant::QuantConfig fp;
  fp.precision = quant::Precision::fp32();
  updates = run(fp);
  EXPECT_EQ(find(updates, RunUpdate::Kind::Quant)->differingVoxels, 0);
  EXPECT_EQ(session.counters().fp32, 1);
}

TEST_F(SessionTest, PreviewOfTheOnScreenSliceComesFirst) {
  const int slice = 20;
  std::vector<double> progress;
  Feedback fb([&](double f, const std::string&) { progress.push_back(f); });
  auto updates = run(w4a4(), slice, &fb);
  // One bar over previews, calibration and the whole volume: it never steps back.
  ASSERT_FALSE(progress.empty());
  EXPECT_TRUE(std::is_sorted(progress.begin(), progress.end()));
  EXPECT_NEAR(progress.back(), 1.0, 1e-9);
  ASSERT_GE(updates.size(), 5u);
  // Both previews come before the whole-volume runs.
  EXPECT_EQ(updates[0].kind, RunUpdate::Kind::Fp32Preview);
  EXPECT_EQ(updates[1].kind, RunUpdate::Kind::QuantPreview);
  EXPECT_EQ(updates[2].kind, RunUpdate::Kind::Fp32);
  EXPECT_EQ(updates[3].kind, RunUpdate::Kind::Quant);
  EXPECT_EQ(updates[4].kind, RunUpdate::Kind::Scores);
  const auto& g = phantom.image->geometry;
  // The previewed slice equals the final result there; far away slices are still empty.
  const auto& prevQ = *updates[1].quantized;
  const auto& fullQ = *updates[3].quantized;
  int64_t sliceEqual = 0, farNonZero = 0;
  for (int y = 0; y < g.size[1]; ++y)
    for (int x = 0; x < g.size[0]; ++x) {
      sliceEqual += prevQ.at(x, y, slice) == fullQ.at(x, y, slice);
      farNonZero += prevQ.at(x, y, 0) != 0;
    }
  EXPECT_EQ(sliceEqual, g.size[0] * g.size[1]);
  EXPECT_EQ(farNonZero, 0);
  EXPECT_EQ(session.counters().previews, 2);
  // The preview difference covers only the previewed slice.
  int64_t previewDiff = 0;
  for (int64_t z = 0; z < g.size[2]; ++z)
    if (z != slice)
      for (int y = 0; y < g.size[1]; ++y)
        for (int x = 0; x < g.size[0]; ++x) previewDiff += updates[1].difference->at(x, y, z);
  EXPECT_EQ(previewDiff, 0);
  // The preview difference on the slice is the final difference there.
  int64_t a = 0, b = 0;
  for (int y = 0; y < g.size[1]; ++y)
    for (int x = 0; x < g.size[0]; ++x) {
      a += updates[1].difference->at(x, y, slice);
      b += updates[3].difference->at(x, y, slice);
    }
  EXPECT_EQ(a, b);
  EXPECT_EQ(updates[1].differingVoxels, a);
}

TEST_F(SessionTest, PreviewOfACoronalOrSagittalSliceComputesTheWindowsThroughIt) {
  const auto& g = phantom.image->geometry;  // 64 x 48 x 40 voxels
  for (int axis : {1, 0}) {
    AnalysisSession fresh;  // no cached FP32: both previews run
    fresh.loadModel(model);
    fresh.setVolume(phantom.image, "phantom");
    // Model space is 32 x 24 x 40 (W, H, D; 2 mm) with 16^3 patches: a slice near the far
    // end of y / x runs only the last window along that axis, which does not reach `near`.
    const int slice = axis == 1 ? 40 : 56;
    const int nearSlice = axis == 1 ? 4 : 8;  // inside the body
    std::vector<RunUpdate> updates;
    RunRequest r;
    r.settings = w4a4();
    r.previewSlice = slice;
    r.previewAxis = axis;
    fresh.run(r, nullptr, [&](const RunUpdate& u) { updates.push_back(u); });
    ASSERT_GE(updates.size(), 5u);
    ASSERT_EQ(updates[0].kind, RunUpdate::Kind::Fp32Preview) << "axis " << axis;
    ASSERT_EQ(updates[1].kind, RunUpdate::Kind::QuantPreview);
    EXPECT_EQ(updates[1].previewAxis, axis);
    EXPECT_EQ(fresh.counters().previews, 2);
    const auto& prevQ = *updates[1].quantized;
    const auto& fullQ = *updates[3].quantized;
    auto at = [&](const LabelVolume& v, int s, int a, int b) {  // voxel (a, b) of slice s normal to axis
      return axis == 1 ? v.at(a, s, b) : v.at(s, a, b);
    };
    const int na = static_cast<int>(axis == 1 ? g.size[0] : g.size[1]);
    const int nb = static_cast<int>(g.size[2]);
    int64_t equal = 0, farNonZero = 0, farFull = 0, differOutside = 0;
    for (int b = 0; b < nb; ++b)
      for (int a = 0; a < na; ++a) {
        equal += at(prevQ, slice, a, b) == at(fullQ, slice, a, b);
        farNonZero += at(prevQ, nearSlice, a, b) != 0;  // no window through it ran
        farFull += at(fullQ, nearSlice, a, b) != 0;
      }
    EXPECT_EQ(equal, int64_t(na) * nb) << "the previewed slice is final";
    EXPECT_EQ(farNonZero, 0);
    EXPECT_GT(farFull, 0) << "the far-slice check is not vacuous";
    // The preview difference is restricted to the previewed slice.
    const auto& d = *updates[1].difference;
    for (int64_t z = 0; z < g.size[2]; ++z)
      for (int64_t y = 0; y < g.size[1]; ++y)
        for (int64_t x = 0; x < g.size[0]; ++x)
          if ((axis == 1 ? y : x) != slice) differOutside += d.at(x, y, z);
    EXPECT_EQ(differOutside, 0);
  }
}

TEST_F(SessionTest, NewGroundTruthRecalibratesButKeepsFp32) {
  run(w4a4());
  EXPECT_EQ(session.counters().calibrate, 1);
  session.setGroundTruth(phantom.labels, "phantom labels");
  EXPECT_FALSE(session.calibrationCached(w4a4()));
  EXPECT_EQ(session.quantizedResult(w4a4()), nullptr);
  auto updates = run(w4a4());
  EXPECT_TRUE(find(updates, RunUpdate::Kind::Fp32)->fromCache);
  EXPECT_EQ(session.counters().fp32, 1);
  EXPECT_EQ(session.counters().calibrate, 2);
}

TEST_F(SessionTest, LayerAnalysisAndKeepMostSensitive) {
  ASSERT_TRUE(AnalysisSession::layerAnalysisAvailable());
  EXPECT_THROW(session.keepMostSensitiveInFp32(w4a4(), 1), Error);
  auto a = session.analyzeLayers(w4a4(), nullptr);
  ASSERT_TRUE(a);
  ASSERT_EQ(a->layers.size(), 2u);
  EXPECT_EQ(a->layers[0].op, session.modelInfo()->ops[0].name);
  for (const auto& l : a->layers) {
    EXPECT_TRUE(std::isnan(l.isolatedSqnrDb) || l.isolatedSqnrDb > 0) << l.op;
    EXPECT_TRUE(std::isfinite(l.cumulativeMse));
  }
  ASSERT_EQ(a->sensitivity.size(), 2u);
  ASSERT_EQ(a->histograms.size(), 2u);
  const auto& h = a->histograms[1];
  EXPECT_GE(h.counts.size(), 256u);
  EXPECT_EQ(h.edges.size(), h.counts.size() + 1);
  EXPECT_FALSE(h.scheme.empty());
  // Calibration of the analysis is the run's calibration.
  EXPECT_TRUE(session.calibrationCached(w4a4()));
  const quant::QuantConfig kept = session.keepMostSensitiveInFp32(w4a4(), 1);
  EXPECT_EQ(kept.excludedOps, (std::set<std::string>{a->sensitivity[0]}));
  quant::QuantConfig fp;
  fp.precision = quant::Precision::fp32();
  EXPECT_THROW(session.analyzeLayers(fp, nullptr), Error);
}

TEST_F(SessionTest, CancelLeavesNoHalfResult) {
  Feedback fb;
  fb.setProgressCallback([&](double f, const std::string&) {
    if (f > 0.3) fb.cancel();
  });
  EXPECT_THROW(run(w4a4(), -1, &fb), Canceled);
  EXPECT_EQ(session.quantizedResult(w4a4()), nullptr);
  // A fresh run afterwards completes.
  auto updates = run(w4a4());
  EXPECT_TRUE(find(updates, RunUpdate::Kind::Quant) != nullptr);
  EXPECT_NE(session.quantizedResult(w4a4()), nullptr);
}

TEST_F(SessionTest, ScoresAgainstGroundTruthAndFp32) {
  // The phantom's ball (400 HU) is "high" (class 2) for the band model, the box (80 HU) "low" (1).
  session.setGroundTruth(phantom.labels, "phantom labels");
  auto updates = run(w4a4());
  const RunUpdate* scores = find(updates, RunUpdate::Kind::Scores);
  ASSERT_TRUE(scores && scores->table);
  const ComparisonTable& t = *scores->table;
  EXPECT_TRUE(t.haveTruth);
  EXPECT_EQ(t.precision, "INT W4A4");
  ASSERT_EQ(t.organs.size(), 2u);
  EXPECT_EQ(t.organs[0].name, "low");
  EXPECT_EQ(t.organs[1].name, "high");
  EXPECT_EQ(t.organs[1].color, (std::array<uint8_t, 3>{0, 255, 0}));
  // The ball is segmented well by FP32 (label 1 of the truth vs class 2 of the model: the
  // ids differ, so scores are per id; just check ranges and agreement).
  for (const auto& o : t.organs) {
    EXPECT_TRUE(std::isnan(o.agreeDsc) || (o.agreeDsc >= 0 && o.agreeDsc <= 1));
    EXPECT_TRUE(std::isnan(o.fp32Dsc) || (o.fp32Dsc >= 0 && o.fp32Dsc <= 1));
  }
  EXPECT_LT(t.meanAgreeDsc, 1.0);
  EXPECT_GT(t.meanAgreeDsc, 0.0);
  EXPECT_EQ(t.toleranceMm, kDefaultNsdToleranceMm);
}

TEST_F(SessionTest, ErrorsNameTheProblem) {
  AnalysisSession empty;
  RunRequest r;
  try {
    empty.run(r, nullptr, {});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no model"), std::string::npos) << e.what();
  }
  EXPECT_THROW(empty.loadModel(dir + "/missing.pt"), Error);
  quant::QuantConfig s = w4a4();
  s.excludedOps = {"no.such.op"};
  try {
    run(s);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no.such.op"), std::string::npos) << e.what();
  }
  auto other = std::make_shared<LabelVolume>();
  other->geometry.size = {3, 3, 3};
  other->voxels.assign(27, 0);
  EXPECT_THROW(session.setGroundTruth(other, "small.nii.gz"), Error);
  EXPECT_THROW(session.loadVolume(dir + "/missing.nii.gz"), Error);
  // A failed load leaves the previous volume in place.
  EXPECT_TRUE(session.hasVolume());
}

quant::QuantConfig realInt8W8A8(quant::Granularity granularity = quant::Granularity::PerTensor) {
  quant::QuantConfig s;
  s.precision = quant::Precision::integer(8, 8);
  s.granularity = granularity;
  s.calibrationPatches = 4;
  s.execution = quant::Execution::RealInt8;
  return s;
}

TEST_F(SessionTest, RealInt8RunIsMeasuredAndItsBenchmarkRowsCarrySpeedUpAndSize) {
  session.setGroundTruth(phantom.labels, "phantom labels");
  const quant::QuantConfig config = realInt8W8A8();
  const auto updates = run(config);
  const RunUpdate* q = find(updates, RunUpdate::Kind::Quant);
  ASSERT_TRUE(q && q->quantized);
  ASSERT_TRUE(q->realInt8.has_value());
  const quant::RealInt8Measurement& m = *q->realInt8;
  EXPECT_FALSE(m.engine.empty());
  EXPECT_GT(m.integerOps, 0);
  EXPECT_GT(m.windows, 0);
  EXPECT_EQ(m.fp32Windows, m.windows);  // the same windows, so per volume and per window agree
  EXPECT_GT(m.speedup(), 0.0);
  EXPECT_GT(m.modelBytes, 0);
  EXPECT_GT(m.fp32ModelBytes, 0);
  ASSERT_TRUE(session.realInt8Measurement(config).has_value());
  quant::QuantConfig simulated = config;
  simulated.execution = quant::Execution::Simulated;
  EXPECT_FALSE(session.realInt8Measurement(simulated).has_value());
  EXPECT_EQ(session.quantizedResult(simulated), nullptr);  // a different cached result

  const std::string line = describeExecution(config, &m);
  EXPECT_EQ(line.rfind("W8A8 per-tensor, real INT8 (" + m.engine + "): ", 0), 0u) << line;
  EXPECT_NE(line.find(", FP32 "), std::string::npos) << line;
  EXPECT_EQ(describeExecution(simulated, nullptr), "W8A8 per-tensor, simulated");

  const RunUpdate* scores = find(updates, RunUpdate::Kind::Scores);
  ASSERT_TRUE(scores && scores->table);
  // INT8 labels agree with FP32 (the phantom's intensity ramps put a few voxels on a class border).
  EXPECT_GE(scores->table->meanAgreeDsc, 0.95);
  for (TableFormat f : {TableFormat::Markdown, TableFormat::Csv, TableFormat::Latex, TableFormat::Json}) {
    // Column names as core's BenchmarkTable writes them: headings, or CSV / JSON keys.
    const bool keys = f == TableFormat::Csv || f == TableFormat::Json;
    const std::string speedup = keys ? "speedup" : "Speed-up", size = keys ? "size_ratio" : "Size";
    const std::string real = formatBenchmarkRows(*scores->table, config, f, &m);
    EXPECT_NE(real.find(speedup), std::string::npos) << real;
    EXPECT_NE(real.find(size), std::string::npos) << real;
    const std::string sim = formatBenchmarkRows(*scores->table, simulated, f);
    EXPECT_EQ(sim.find(speedup), std::string::npos) << sim;
  }
  const nlohmann::json rows = nlohmann::json::parse(formatBenchmarkRows(*scores->table, config, TableFormat::Json, &m));
  const std::string dump = rows.dump();
  EXPECT_NE(dump.find("real-int8"), std::string::npos) << dump;
}

TEST_F(SessionTest, RealInt8WithACombinationTheKernelsLackStartsNothing) {
  quant::QuantConfig w4 = realInt8W8A8();
  w4.precision = quant::Precision::integer(4, 4);
  for (const quant::QuantConfig& config : {w4, realInt8W8A8(quant::Granularity::PerVoxel)}) {
    try {
      run(config, 10);
      FAIL() << "expected mqb::Error for " << config.describe();
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("W8A8"), std::string::npos) << e.what();
    }
  }
  const auto c = session.counters();
  EXPECT_EQ(c.prepare + c.fp32 + c.previews + c.calibrate + c.quantized, 0);
}

TEST(SessionFileTest, ExecutionIsStoredAndOldSessionsLoadAsSimulated) {
  namespace fs = std::filesystem;
  const std::string dir = test::tempDir();
  std::ofstream(dir + "/model.pt") << "x";
  std::ofstream(dir + "/ct.nii.gz") << "x";
  SessionState s;
  s.model = dir + "/model.pt";
  s.volume = dir + "/ct.nii.gz";
  s.settings = realInt8W8A8(quant::Granularity::PerChannel);
  s.save(dir + "/session.json");
  EXPECT_EQ(SessionState::load(dir + "/session.json").settings.execution, quant::Execution::RealInt8);
  // A session written before the execution choice existed.
  nlohmann::json j = nlohmann::json::parse(std::ifstream(dir + "/session.json"));
  ASSERT_TRUE(j.at("quantization").contains("execution"));
  j["quantization"].erase("execution");
  std::ofstream(dir + "/old.json") << j.dump(2);
  const SessionState old = SessionState::load(dir + "/old.json");
  EXPECT_EQ(old.settings.execution, quant::Execution::Simulated);
  EXPECT_EQ(old.settings.precision, s.settings.precision);
}

TEST(DifferenceVolumeTest, CountsAndSliceRestriction) {
  LabelVolume a, b;
  a.geometry.size = b.geometry.size = {4, 3, 2};
  a.voxels.assign(24, 0);
  b.voxels.assign(24, 0);
  b.at(1, 1, 0) = 2;
  b.at(3, 2, 1) = 1;
  int64_t n = 0;
  auto d = differenceVolume(a, b, -1, &n);
  EXPECT_EQ(n, 2);
  EXPECT_EQ(d->at(1, 1, 0), 1);
  EXPECT_EQ(d->at(3, 2, 1), 1);
  d = differenceVolume(a, b, 1, &n);
  EXPECT_EQ(n, 1);
  EXPECT_EQ(d->at(1, 1, 0), 0);
  LabelVolume c;
  c.geometry.size = {2, 2, 2};
  c.voxels.assign(8, 0);
  EXPECT_THROW(differenceVolume(a, c), Error);
}

TEST(SessionFileTest, SaveLoadRoundTripWithRelativeFallback) {
  namespace fs = std::filesystem;
  const std::string dir = test::tempDir();
  fs::create_directories(dir + "/data");
  std::ofstream(dir + "/data/model.pt") << "x";
  std::ofstream(dir + "/data/ct.nii.gz") << "x";
  SessionState s;
  s.model = dir + "/data/model.pt";
  s.volume = dir + "/data/ct.nii.gz";
  s.labelMap = "totalsegmentator-to-btcv";
  s.settings = w4a4(quant::Granularity::Adaptive);
  s.settings.excludedOps = {"enc.conv"};
  s.toleranceMm = 1.5;
  s.view.orientation = "coronal";
  s.view.slice = 12;
  s.view.window = 400;
  s.view.level = 50;
  s.view.zoom = 2;
  s.view.panX = 3;
  s.view.panY = -4;
  s.view.labelMode = "outline";
  s.view.hiddenLabels = {3, 5};
  s.view.show3d = true;
  s.view.cursor = std::array<int, 3>{1, 2, 3};
  s.save(dir + "/data/session.json");
  SessionState back = SessionState::load(dir + "/data/session.json");
  EXPECT_EQ(back.model, s.model);
  EXPECT_EQ(back.volume, s.volume);
  EXPECT_TRUE(back.labels.empty());
  EXPECT_EQ(back.labelMap, s.labelMap);
  EXPECT_EQ(back.settings, s.settings);
  EXPECT_EQ(back.toleranceMm, 1.5);
  EXPECT_EQ(back.view.orientation, "coronal");
  EXPECT_EQ(back.view.slice, 12);
  EXPECT_EQ(back.view.zoom, 2);
  EXPECT_EQ(back.view.panY, -4);
  EXPECT_EQ(back.view.labelMode, "outline");
  EXPECT_EQ(back.view.hiddenLabels, (std::vector<int>{3, 5}));
  EXPECT_TRUE(back.view.show3d);
  ASSERT_TRUE(back.view.cursor);
  EXPECT_EQ((*back.view.cursor)[2], 3);

  // The folder moves: absolute paths break, the relative ones still resolve.
  fs::rename(dir + "/data", dir + "/moved");
  back = SessionState::load(dir + "/moved/session.json");
  EXPECT_EQ(fs::path(back.model), fs::path(dir + "/moved/model.pt"));
  EXPECT_EQ(fs::path(back.volume), fs::path(dir + "/moved/ct.nii.gz"));

  // Not a session / bad values.
  std::ofstream(dir + "/bad.json") << R"({"format": "something-else"})";
  EXPECT_THROW(SessionState::load(dir + "/bad.json"), Error);
  std::ofstream(dir + "/bad2.json") << R"({"format": "medquanbench-session", "version": 1, "view": {"orientation": "oblique"}})";
  try {
    SessionState::load(dir + "/bad2.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("oblique"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("bad2.json"), std::string::npos);
  }
  std::ofstream(dir + "/bad3.json") << "{not json";
  EXPECT_THROW(SessionState::load(dir + "/bad3.json"), Error);
}

TEST(TableExportTest, ComparisonTableFormats) {
  ComparisonTable t;
  t.modelName = "net";
  t.precision = "INT W4A4";
  t.configuration = "W4A4 adaptive, symmetric, minmax";
  t.haveTruth = true;
  OrganComparison a;
  a.name = "spleen";
  a.fp32Dsc = 0.9;
  a.quantDsc = 0.45;
  a.fp32Nsd = 0.8;
  a.quantNsd = 0.88;
  a.agreeDsc = 0.5;
  a.agreeNsd = 0.6;
  OrganComparison b;
  b.name = "left_kidney & co";
  t.organs = {a, b};
  t.meanFp32Dsc = 0.9;
  t.meanQuantDsc = 0.45;
  t.meanFp32Nsd = 0.8;
  t.meanQuantNsd = 0.88;
  t.meanAgreeDsc = 0.5;
  t.meanAgreeNsd = 0.6;
  const std::string md = formatComparisonTable(t, TableFormat::Markdown);
  EXPECT_NE(md.find("| spleen | 0.900 | 0.450 (50.0%) | 0.800 | 0.880 (10.0%↑) | 0.500 | 0.600 |"), std::string::npos)
      << md;
  EXPECT_NE(md.find("| left_kidney & co | -- |"), std::string::npos) << md;
  EXPECT_NE(md.find("| mean |"), std::string::npos);
  const std::string csv = formatComparisonTable(t, TableFormat::Csv);
  EXPECT_NE(csv.find("spleen,0.9000,0.4500,50.00,0.8000,0.8800,-10.00,0.5000,0.6000"), std::string::npos) << csv;
  EXPECT_NE(csv.find("NaN"), std::string::npos);
  const std::string tex = formatComparisonTable(t, TableFormat::Latex);
  EXPECT_NE(tex.find("\\begin{tabular}"), std::string::npos);
  EXPECT_NE(tex.find("left\\_kidney \\& co"), std::string::npos) << tex;
  EXPECT_NE(tex.find("$\\uparrow$"), std::string::npos) << tex;
  EXPECT_EQ(tableFormatForPath("a/b.TEX"), TableFormat::Latex);
  EXPECT_EQ(tableFormatForPath("x.md"), TableFormat::Markdown);
  EXPECT_THROW(tableFormatForPath("x.xlsx"), Error);

  t.framework = "nnUNet";
  t.architecture = "nnU-Net";
  t.category = "CNN";
  t.parameterCount = 26'900'000;
  const std::string bench = formatBenchmarkRows(t, w4a4(quant::Granularity::Adaptive), TableFormat::Markdown);
  EXPECT_NE(bench.find("| nnUNet | nnU-Net | CNN | 26.9 M | FP32 | -- | 0.900 (--) | 0.800 (--) |"), std::string::npos)
      << bench;
  EXPECT_NE(bench.find("| INT W4A4 | Adaptive stratification | 0.450 (50.0%) | 0.880 (10.0%↑) |"), std::string::npos)
      << bench;
  EXPECT_NE(bench.find("NSD tolerance"), std::string::npos) << bench;
  const nlohmann::json bj =
      nlohmann::json::parse(formatBenchmarkRows(t, w4a4(quant::Granularity::Adaptive), TableFormat::Json));
  EXPECT_EQ(bj["rows"].size(), 2u);
  const nlohmann::json cj = nlohmann::json::parse(formatComparisonTable(t, TableFormat::Json));
  EXPECT_EQ(cj["organs"].size(), 2u);
  EXPECT_TRUE(cj["organs"][1]["fp32_dsc"].is_null());
  EXPECT_EQ(tableFormatForPath("t.json"), TableFormat::Json);
  t.haveTruth = false;
  EXPECT_THROW(formatBenchmarkRows(t, w4a4(), TableFormat::Csv), Error);
  const std::string noTruth = formatComparisonTable(t, TableFormat::Markdown);
  EXPECT_EQ(noTruth.find("FP32 DSC"), std::string::npos);
  EXPECT_NE(noTruth.find("Agreement DSC"), std::string::npos);
}

namespace {

// A one-window CT for a 64^3 model at 2 mm.
std::shared_ptr<ImageVolume> oneWindowCt() {
  auto v = std::make_shared<ImageVolume>();
  v->geometry.size = {48, 48, 48};
  v->geometry.spacing = {2, 2, 2};
  v->voxels.assign(static_cast<size_t>(v->geometry.voxelCount()), 40.0f);
  return v;
}

void processEventsFor(int ms) {
  QElapsedTimer t;
  t.start();
  while (t.elapsed() < ms) QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
}
}  // namespace

// ---- the desktop path and the CLI path compute the same thing -----------------------------

namespace {

nlohmann::json readJson(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  return nlohmann::json::parse(in);
}

// NaN (organ absent from both masks) is null in the CLI's JSON.
void expectSameNumber(const nlohmann::json& cli, double gui, const std::string& what) {
  if (cli.is_null()) {
    EXPECT_TRUE(std::isnan(gui)) << what << ": CLI null, desktop " << gui;
  } else {
    EXPECT_EQ(cli.get<double>(), gui) << what;  // to the last bit
  }
}

}  // namespace

// Cancel inside a window's forward (core/CancelPoint.h): the desktop app's Cancel does not
// wait for the window (several seconds here) and reports a cancel, not a failure.
TEST(SessionControllerCancel, CancelDuringALongWindowEndsTheRunWithinTwoSeconds) {
  const std::string model = test::tempDir() + "/chain.pt";
  test::writeConvChainModel(model, 64, 16, 64);  // forward several seconds even on a quiet machine
  SessionController c;
  QSignalSpy failed(&c, &SessionController::jobFailed);
  QSignalSpy finished(&c, &SessionController::runFinished);
  c.openModel(QString::fromStdString(model));
  ASSERT_TRUE(c.waitUntilIdle(120000));
  ASSERT_TRUE(c.modelInfo());
  c.setVolumeData(oneWindowCt(), "one window");
  ASSERT_TRUE(c.waitUntilIdle(60000));
  quant::QuantConfig fp;
  fp.precision.floatingPoint = true;
  c.run(fp);
  processEventsFor(500);
  QElapsedTimer sinceCancel;
  sinceCancel.start();
  c.cancel();
  ASSERT_TRUE(c.waitUntilIdle(20000));
  const qint64 ms = sinceCancel.elapsed();
  std::printf("GUI cancel during a window: idle %lld ms after Cancel\n", static_cast<long long>(ms));
  EXPECT_LT(ms, 2000);
  ASSERT_EQ(finished.count(), 1);
  EXPECT_FALSE(finished.first().first().toBool());
  EXPECT_EQ(failed.count(), 0) << qPrintable(failed.first().at(1).toString());
  EXPECT_FALSE(c.hasResults());
}

// A forward outside the sliding window (here a model's test forward on load) stops too, and
// the controller reports the cancel point's interpreter error as a cancel.
TEST(SessionControllerCancel, AForwardOutsideTheSlidingWindowStopsAsACancel) {
  const std::string model = test::tempDir() + "/chain.pt";
  test::writeConvChainModel(model, 64, 16, 64);
  SessionController c;
  QSignalSpy failed(&c, &SessionController::jobFailed);
  bool loaded = false;
  c.runJob("load", [&](AnalysisSession&, Feedback&) {
    SegmentationModel::load(model);
    loaded = true;
  });
  processEventsFor(1000);
  QElapsedTimer sinceCancel;
  sinceCancel.start();
  c.cancel();
  ASSERT_TRUE(c.waitUntilIdle(20000));
  EXPECT_LT(sinceCancel.elapsed(), 2000);
  EXPECT_FALSE(loaded);
  EXPECT_EQ(failed.count(), 0) << qPrintable(failed.first().at(1).toString());
}

TEST(DesktopAndCliPathsTest, SameCalibrationLayerAnalysisAndScores) {
  // The band model on its phantom with ground truth, as files, opened by both paths as a
  // user would: File > Open in the desktop application, the command line in the CLI.
  const test::BandCase band = test::makeBandCase();
  quant::QuantConfig config;
  config.precision = quant::Precision::integer(4, 4);
  config.granularity = quant::Granularity::PerTensor;
  config.calibrator = quant::CalibrationMethod::parse("percentile:99.9");
  config.calibrationPatches = 4;
  config.calibrationSeed = 3;
  const double tolerance = 1.5;

  AnalysisSession session;
  session.loadModel(band.model);
  session.loadVolume(band.ct);
  session.loadGroundTruth(band.truth);
  RunRequest request;
  request.settings = config;
  request.toleranceMm = tolerance;
  std::shared_ptr<const ComparisonTable> table;
  session.run(request, nullptr, [&](const RunUpdate& u) {
    if (u.kind == RunUpdate::Kind::Scores) table = u.table;
  });
  ASSERT_TRUE(table);
  const auto rows = session.analyzeLayers(config, nullptr);
  ASSERT_TRUE(rows && !rows->empty());
  ASSERT_TRUE(session.study());
  const auto calibration = session.study()->cachedCalibration(config.calibrationKey());
  ASSERT_TRUE(calibration);

  const std::string common = " --model " + band.model + " --volume " + band.ct + " --labels " + band.truth +
                             " --precision W4A4 --granularity per-tensor --calibrator percentile:99.9"
                             " --calibration-patches 4 --seed 3 --quiet";
  const std::string cli = MQB_CLI;
  const test::CommandRun q = test::runCommand(cli + " quantize" + common + " --tolerance-mm 1.5 --json " + band.dir +
                                              "/q.json --save-calibration " + band.dir + "/cal.json");
  ASSERT_EQ(q.code, 0) << q.out;
  const test::CommandRun a = test::runCommand(cli + " analyze" + common + " --json " + band.dir + "/layers.json");
  ASSERT_EQ(a.code, 0) << a.out;

  // Calibration: every statistic (ranges and histograms) equal.
  EXPECT_EQ(readJson(band.dir + "/cal.json"), calibration->toJson());

  // Layer analysis: per-op SQNR / MSE / cosine and each input's clip range and histogram.
  const nlohmann::json layers = readJson(band.dir + "/layers.json");
  const auto& ops = layers.at("ops");
  ASSERT_EQ(ops.size(), rows->layers.size());
  size_t h = 0;
  for (size_t i = 0; i < ops.size(); ++i) {
    const auto& op = ops[i];
    const quant::LayerErrorRow& row = rows->layers[i];
    ASSERT_EQ(op.at("name").get<std::string>(), row.op);
    ASSERT_TRUE(op.at("quantized").get<bool>());
    expectSameNumber(op.at("isolated").at("sqnr_db"), row.isolatedSqnrDb, row.op + " isolated SQNR");
    expectSameNumber(op.at("cumulative").at("sqnr_db"), row.cumulativeSqnrDb, row.op + " cumulative SQNR");
    expectSameNumber(op.at("isolated").at("mse"), row.isolatedMse, row.op + " isolated MSE");
    expectSameNumber(op.at("cumulative").at("mse"), row.cumulativeMse, row.op + " cumulative MSE");
    expectSameNumber(op.at("cumulative").at("cosine"), row.cumulativeCosine, row.op + " cumulative cosine");
    for (const auto& in : op.at("inputs")) {
      ASSERT_LT(h, rows->histograms.size());
      const quant::ActivationHistogram& hist = rows->histograms[h++];
      EXPECT_EQ(hist.op, row.op);
      EXPECT_EQ(in.at("scheme").get<std::string>(), hist.scheme);
      expectSameNumber(in.at("clip_range")[0], hist.clipLow, row.op + " clip low");
      expectSameNumber(in.at("clip_range")[1], hist.clipHigh, row.op + " clip high");
      EXPECT_EQ(in.at("levels").get<std::vector<double>>(), hist.levels) << row.op;
      EXPECT_EQ(in.at("calibration_histogram").at("counts").get<std::vector<double>>(), hist.counts) << row.op;
    }
  }
  EXPECT_EQ(h, rows->histograms.size());
  EXPECT_EQ(layers.at("sensitivity_ranking").get<std::vector<std::string>>(), rows->sensitivity);

  // Scores: Dice and NSD per organ and their means, FP32 and quantized vs ground truth and
  // quantized vs FP32.
  const nlohmann::json report = readJson(band.dir + "/q.json");
  EXPECT_EQ(report.at("tolerance_mm").get<double>(), table->toleranceMm);
  const auto& organs = report.at("organs");
  ASSERT_EQ(organs.size(), table->organs.size());
  ASSERT_FALSE(table->organs.empty());
  for (size_t i = 0; i < organs.size(); ++i) {
    const OrganComparison& row = table->organs[i];
    EXPECT_EQ(organs[i].at("id").get<int>(), row.id);
    expectSameNumber(organs[i].at("dsc"), row.quantDsc, row.name + " DSC");
    expectSameNumber(organs[i].at("nsd"), row.quantNsd, row.name + " NSD");
    expectSameNumber(report.at("fp32").at("organs")[i].at("dsc"), row.fp32Dsc, row.name + " FP32 DSC");
    expectSameNumber(report.at("fp32").at("organs")[i].at("nsd"), row.fp32Nsd, row.name + " FP32 NSD");
    expectSameNumber(report.at("agreement").at("organs")[i].at("dsc"), row.agreeDsc, row.name + " agreement DSC");
    expectSameNumber(report.at("agreement").at("organs")[i].at("nsd"), row.agreeNsd, row.name + " agreement NSD");
  }
  expectSameNumber(report.at("mean_dsc"), table->meanQuantDsc, "mean DSC");
  expectSameNumber(report.at("mean_nsd"), table->meanQuantNsd, "mean NSD");
  expectSameNumber(report.at("fp32").at("mean_dsc"), table->meanFp32Dsc, "FP32 mean DSC");
  expectSameNumber(report.at("agreement").at("mean_nsd"), table->meanAgreeNsd, "agreement mean NSD");
}
