// Real INT8 execution (SPEC section 9): integer kernels against the simulated W8A8 result of
// the same configuration, coverage of ops without a kernel, and the exported model file.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "support/Error.h"
#include "metrics/SegmentationMetrics.h"
#include "model/SegmentationModel.h"
#include "inference/SlidingWindowInference.h"
#include "TestModels.h"
#include "TestSupport.h"
#include "quant/CalibrationData.h"
#include "quant/FakeQuant.h"
#include "study/Int8Build.h"
#include "quant/int8/Int8Kernels.h"
#include "quant/int8/Int8Model.h"
#include "quant/int8/Int8OutputRanges.h"
#include "quant/int8/Int8Packing.h"
#include "quant/QuantizedModel.h"

#ifndef MQB_ZOO_DIR
#define MQB_ZOO_DIR ""
#endif

using namespace mqb;
using namespace mqb::quant;
namespace fs = std::filesystem;

namespace {

QuantConfig w8a8(Granularity g) {
  QuantConfig c;
  c.precision = Precision::integer(8, 8);
  c.granularity = g;
  return c;
}

Int8GraphOptions graphOptions(bool fast, bool fuse) {
  Int8GraphOptions o;
  o.fastTransitions = fast;
  o.fuseNormActivation = fuse;
  return o;
}

// A model with the given parameters and forward body; discovered, calibrated and with its
// output ranges recorded on `patches`.
struct Case {
  std::shared_ptr<QuantizableGraph> graph;
  std::vector<torch::Tensor> patches;
  CalibrationData calibration;
  Int8OutputRanges outputs;
};

Case makeCase(const std::string& type, const std::vector<std::pair<std::string, torch::Tensor>>& params,
              const std::string& forward, std::vector<int64_t> inputShape, int patches = 3) {
  torch::jit::Module m(type);
  for (const auto& [name, t] : params) m.register_parameter(name, t, false);
  m.define(forward);
  m.eval();
  Case c;
  c.graph = std::make_shared<QuantizableGraph>(m, type);
  for (int i = 0; i < patches; ++i) c.patches.push_back(torch::randn(inputShape));
  c.calibration = calibrate(*c.graph, c.patches, 0, FeedbackStage(nullptr, 0, 1, ""));
  c.outputs = recordOutputRanges(*c.graph, c.patches);
  return c;
}

// Real INT8 against simulated W8A8 (same config) on a calibration patch, in units of the
// last op's output quantization step.
struct StepError {
  double max = 0, mean = 0;
  double beyondOneStep = 0;  // fraction of outputs more than one step away
  bool maySaturate = false;  // the engine's int16 pair sums may saturate on this CPU
};

StepError stepError(const torch::Tensor& real, const torch::Tensor& reference, double step, bool maySaturate) {
  const torch::Tensor d = (real - reference).abs() / step;
  return {d.max().item<double>(), d.mean().item<double>(), (d > 1.0).to(torch::kDouble).mean().item<double>(),
          maySaturate};
}

StepError compareWithSimulated(Case& c, const QuantConfig& config, Int8GraphOptions options, int outputOp,
                               const std::string& engine = "") {
  QuantizedModel simulated(c.graph, ModelMetadata{}, config, &c.calibration);
  Int8Model real(*c.graph, ModelMetadata{}, config, c.calibration, c.outputs, engine, options);
  const OutputRange& r = c.outputs.ops[static_cast<size_t>(outputOp)];
  return stepError(real.predict(c.patches[0]), simulated.predict(c.patches[0]), outputQParams(r.min, r.max).scale,
                   real.accumulatorMaySaturate());
}

// Within one output step everywhere (the output is requantized to uint8: half a step of
// rounding, plus float accumulation order), except where onednn's int16 pair sums
// saturate on CPUs without VNNI: then only in rare outputs.
void expectWithinOneStep(const StepError& e) {
  EXPECT_LT(e.mean, 0.35);
  if (!e.maySaturate) {
    EXPECT_LE(e.max, 1.0);
  } else {
    EXPECT_LE(e.beyondOneStep, 2e-3) << "max " << e.max << " steps";
  }
}

torch::Tensor he(std::vector<int64_t> shape, int64_t fanIn) {
  return torch::randn(shape) * std::sqrt(2.0 / double(fanIn));
}

}  // namespace

TEST(Int8Ops, QuantizeGivesNaNTheLevelOfZeroAndSaturatesInfinities) {
  // Plain and channels-last layouts take different loops; both must agree.
  for (const auto& shape : std::vector<std::vector<int64_t>>{{7}, {1, 4, 3, 3, 3}}) {
    torch::Tensor x = torch::zeros(shape);
    x.view(-1)[0] = std::numeric_limits<float>::quiet_NaN();
    x.view(-1)[1] = std::numeric_limits<float>::infinity();
    x.view(-1)[2] = -std::numeric_limits<float>::infinity();
    x.view(-1)[3] = 0.5f;
    const torch::Tensor q = mqb::quant::int8Quantize(x, 0.1, 100).int_repr().contiguous().view(-1);
    EXPECT_EQ(q[0].item<int>(), 100);  // the zero point: real 0
    EXPECT_EQ(q[1].item<int>(), 255);
    EXPECT_EQ(q[2].item<int>(), 0);
    EXPECT_EQ(q[3].item<int>(), 105);
  }
}

TEST(Int8Ops, Conv3dEqualsSimulatedW8A8WithinOneStep) {
  torch::manual_seed(1);
  const torch::Tensor w = he({16, 8, 3, 3, 3}, 216), b = torch::randn({16}) * 0.1;
  Case c = makeCase("OneConv", {{"w", w}, {"b", b}},
                    "def forward(self, x):\n  return torch.conv3d(x, self.w, self.b, [1, 1, 1], [1, 1, 1])\n",
                    {2, 8, 12, 12, 12});
  for (const auto& options : {graphOptions(true, true), graphOptions(false, false)}) {
    SCOPED_TRACE(options.id());
    expectWithinOneStep(compareWithSimulated(c, w8a8(Granularity::PerTensor), options, 0));
  }
  // qnnpack accumulates in int32 on every CPU: exact up to the output rounding.
  const StepError onQnnpack = compareWithSimulated(c, w8a8(Granularity::PerTensor), {}, 0, "qnnpack");
  EXPECT_FALSE(onQnnpack.maySaturate);
  EXPECT_LE(onQnnpack.max, 1.0);
  // Per-channel weights with the per-tensor activation grid (what the kernels take): the
  // simulated counterpart is built from the same quantizers by hand.
  const QuantConfig perChannel = w8a8(Granularity::PerChannel);
  Int8Model real(*c.graph, ModelMetadata{}, perChannel, c.calibration, c.outputs);
  const QuantGrid input = planFor(c.graph->ops()[0], 0, w8a8(Granularity::PerTensor), &c.calibration).grid;
  const torch::Tensor x = c.patches[0];
  const torch::Tensor ref = torch::conv3d(fakeQuant(x, input), fakeQuantWeight(w, 0, 8), b, 1, 1);
  const double step = outputQParams(c.outputs.ops[0].min, c.outputs.ops[0].max).scale;
  // Every output channel has weights at level +-127 here, so onednn's int16 pair sums
  // saturate far more often than with per-tensor weights on CPUs without VNNI: the exact
  // engine must match, the saturating one is only held to its mean.
  Int8Model exact(*c.graph, ModelMetadata{}, perChannel, c.calibration, c.outputs, "qnnpack");
  const StepError e = stepError(exact.predict(x), ref, step, exact.accumulatorMaySaturate());
  EXPECT_FALSE(e.maySaturate);
  expectWithinOneStep(e);
  const StepError fast = stepError(real.predict(x), ref, step, real.accumulatorMaySaturate());
  if (fast.maySaturate) {
    EXPECT_LT(fast.mean, 0.5);
    std::printf("%s per-channel weights: %.2f%% of outputs beyond one step (max %.1f steps)\n", real.engine().c_str(),
                100 * fast.beyondOneStep, fast.max);
  } else {
    expectWithinOneStep(fast);
  }
}

TEST(Int8Ops, ConvTranspose3dEqualsSimulatedW8A8WithinOneStep) {
  torch::manual_seed(2);
  Case c = makeCase("OneUp", {{"w", he({16, 8, 2, 2, 2}, 128)}, {"b", torch::randn({8}) * 0.1}},
                    "def forward(self, x):\n  return torch.conv_transpose3d(x, self.w, self.b, [2, 2, 2])\n",
                    {2, 16, 6, 6, 6});
  expectWithinOneStep(compareWithSimulated(c, w8a8(Granularity::PerTensor), {}, 0));
  Int8Model real(*c.graph, ModelMetadata{}, w8a8(Granularity::PerTensor), c.calibration, c.outputs);
  EXPECT_TRUE(real.coverage().ops.at(0).integer);
  EXPECT_EQ(real.coverage().ops.at(0).kernel, "quantized::conv_transpose3d");
}

TEST(Int8Ops, LinearEqualsSimulatedW8A8WithinOneStep) {
  torch::manual_seed(3);
  Case c = makeCase("OneLinear", {{"w", he({24, 16}, 16)}, {"b", torch::randn({24}) * 0.1}},
                    "def forward(self, x):\n  return torch.linear(x, self.w, self.b)\n", {2, 30, 16});
  // Per-tensor: the simulated per-channel scheme quantizes linear inputs per token instead.
  expectWithinOneStep(compareWithSimulated(c, w8a8(Granularity::PerTensor), {}, 0));
  const StepError exact = compareWithSimulated(c, w8a8(Granularity::PerTensor), {}, 0, "qnnpack");
  EXPECT_LE(exact.max, 1.0);
}

TEST(Int8Model, InstanceNormFoldedIntoDequantizationMatchesLibTorchOps) {
  torch::manual_seed(4);
  Case c = makeCase("ConvNormAct",
                    {{"w1", he({16, 4, 3, 3, 3}, 108)},
                     {"b1", torch::randn({16}) * 0.1},
                     {"g", 1 + 0.1 * torch::randn({16})},
                     {"beta", 0.1 * torch::randn({16})},
                     {"w2", he({5, 16, 1, 1, 1}, 16)},
                     {"b2", torch::randn({5}) * 0.1}},
                    "def forward(self, x):\n"
                    "  y = torch.conv3d(x, self.w1, self.b1, [1, 1, 1], [1, 1, 1])\n"
                    "  y = torch.instance_norm(y, self.g, self.beta, None, None, True, 0.1, 1e-05, False)\n"
                    "  y = torch.leaky_relu(y, 0.01)\n"
                    "  return torch.conv3d(y, self.w2, self.b2)\n",
                    {2, 4, 12, 12, 12});
  const QuantConfig config = w8a8(Granularity::PerTensor);
  Int8Model fused(*c.graph, ModelMetadata{}, config, c.calibration, c.outputs, "", graphOptions(true, true));
  Int8Model plain(*c.graph, ModelMetadata{}, config, c.calibration, c.outputs, "", graphOptions(false, false));
  EXPECT_EQ(fused.foldedNorms(), 1);
  EXPECT_EQ(plain.foldedNorms(), 0);
  const double step = outputQParams(c.outputs.ops[1].min, c.outputs.ops[1].max).scale;
  const torch::Tensor d = (fused.predict(c.patches[1]) - plain.predict(c.patches[1])).abs() / step;
  EXPECT_LE(d.max().item<double>(), 2.0);  // an input level may flip where float sums differ
  EXPECT_LT(d.mean().item<double>(), 0.05);
  // And both stay next to the simulated W8A8 model.
  EXPECT_LE(compareWithSimulated(c, config, graphOptions(true, true), 1).mean, 0.5);
}

TEST(Int8Model, Uint8ChainsAndSkipJoinGiveTheSameOutputAsTheFloatTransitions) {
  // A two-level U-Net: conv -> norm -> act feeds both the strided conv (a chain) and the
  // skip join; the decoder concatenates the transposed convolution's output with the skip.
  torch::manual_seed(6);
  auto norm = [](int c) { return 1 + 0.1 * torch::randn({c}); };
  Case c = makeCase("TinyUNet",
                    {{"w1", he({8, 3, 3, 3, 3}, 81)},
                     {"b1", torch::randn({8}) * 0.1},
                     {"g1", norm(8)},
                     {"e1", 0.1 * torch::randn({8})},
                     {"w2", he({16, 8, 3, 3, 3}, 216)},
                     {"b2", torch::randn({16}) * 0.1},
                     {"g2", norm(16)},
                     {"e2", 0.1 * torch::randn({16})},
                     {"w3", he({16, 8, 2, 2, 2}, 128)},
                     {"b3", torch::randn({8}) * 0.1},
                     {"w4", he({4, 16, 3, 3, 3}, 432)},
                     {"b4", torch::randn({4}) * 0.1}},
                    "def forward(self, x):\n"
                    "  a = torch.conv3d(x, self.w1, self.b1, [1, 1, 1], [1, 1, 1])\n"
                    "  a = torch.instance_norm(a, self.g1, self.e1, None, None, True, 0.1, 1e-05, False)\n"
                    "  a = torch.leaky_relu(a, 0.01)\n"
                    "  d = torch.conv3d(a, self.w2, self.b2, [2, 2, 2], [1, 1, 1])\n"
                    "  d = torch.instance_norm(d, self.g2, self.e2, None, None, True, 0.1, 1e-05, False)\n"
                    "  d = torch.leaky_relu(d, 0.01)\n"
                    "  u = torch.conv_transpose3d(d, self.w3, self.b3, [2, 2, 2])\n"
                    "  j = torch.cat([u, a], 1)\n"
                    "  return torch.conv3d(j, self.w4, self.b4, [1, 1, 1], [1, 1, 1])\n",
                    {2, 3, 8, 8, 8});
  const QuantConfig config = w8a8(Granularity::PerTensor);
  Int8GraphOptions floatBetween = graphOptions(true, true);
  floatBetween.chainRequantize = false;
  Int8Model chained(*c.graph, ModelMetadata{}, config, c.calibration, c.outputs, "", graphOptions(true, true));
  Int8Model fused(*c.graph, ModelMetadata{}, config, c.calibration, c.outputs, "", floatBetween);
  EXPECT_EQ(chained.graphOptions().id(), "chained");
  EXPECT_EQ(chained.coverage().integerOps(), 4);
  EXPECT_EQ(chained.foldedNorms(), 2);
  EXPECT_EQ(chained.chainedTransitions(), 2);  // a -> strided conv, d -> transposed conv
  EXPECT_EQ(chained.uint8Cats(), 1);
  EXPECT_EQ(fused.chainedTransitions(), 0);
  EXPECT_EQ(fused.uint8Cats(), 0);
  for (const auto& patch : c.patches) {
    const torch::Tensor a = chained.predict(patch), b = fused.predict(patch);
    EXPECT_TRUE(torch::equal(a, b)) << "max difference " << (a - b).abs().max().item<double>();
  }
  // Four requantized layers deep: still within about a step of the simulated model.
  EXPECT_LE(compareWithSimulated(c, config, graphOptions(true, true), 3).mean, 1.0);
}

TEST(Int8Model, OpsWithoutIntegerKernelStayFp32AndAreReported) {
  const std::string path = test::tempDir() + "/mixed.pt";
  test::writeMixedOpsModel(path);
  SegmentationModel model = SegmentationModel::load(path);
  auto graph = std::make_shared<QuantizableGraph>(model.module(), path);
  torch::manual_seed(5);
  std::vector<torch::Tensor> patches;
  for (int i = 0; i < 3; ++i) patches.push_back(torch::rand({1, 1, 16, 16, 16}));
  CalibrationData cal = calibrate(*graph, patches, 0, FeedbackStage(nullptr, 0, 1, ""));
  Int8OutputRanges outputs = recordOutputRanges(*graph, patches);

  QuantConfig config = w8a8(Granularity::PerTensor);
  config.excludedOps = {"head"};
  Int8Model real(*graph, model.metadata(), config, cal, outputs);
  std::map<std::string, Int8OpStatus> byName;
  for (const auto& op : real.coverage().ops) byName[op.name] = op;
  for (const char* matmul : {"attn.matmul", "attn.matmul_1"}) {
    EXPECT_FALSE(byName[matmul].integer) << matmul;
    EXPECT_NE(byName[matmul].reason.find("no integer kernel"), std::string::npos) << byName[matmul].reason;
  }
  EXPECT_NE(byName["head"].reason.find("excluded"), std::string::npos);
  for (const char* op : {"enc", "down", "attn.q", "attn.proj", "up"}) EXPECT_TRUE(byName[op].integer) << op;
  EXPECT_EQ(real.coverage().integerOps(), 7);
  const auto j = real.coverage().toJson();
  EXPECT_EQ(j["fp32_ops"].size(), 3u);

  // The model runs with those ops in FP32 and stays next to the simulated model that keeps
  // the same ops in FP32.
  QuantConfig simulatedConfig = config;
  simulatedConfig.quantizeActivationMatmul = false;
  QuantizedModel simulated(graph, model.metadata(), simulatedConfig, &cal);
  const torch::Tensor ref = simulated.predict(patches[0]);
  const torch::Tensor out = real.predict(patches[0]);
  EXPECT_LT((out - ref).norm().item<double>() / ref.norm().item<double>(), 0.03);

  // Per-channel weights: LibTorch has no per-channel transposed convolution kernel.
  Int8Model perChannel(*graph, model.metadata(), w8a8(Granularity::PerChannel), cal, outputs);
  for (const auto& op : perChannel.coverage().ops)
    if (op.name == "up") {
      EXPECT_FALSE(op.integer);
      EXPECT_NE(op.reason.find("per-channel"), std::string::npos) << op.reason;
    }
  EXPECT_EQ(perChannel.predict(torch::rand({3, 1, 16, 16, 16})).size(0), 3);  // batches of windows

  // qnnpack's transposed convolution is broken in LibTorch 1.13: kept FP32 there, and said so.
  Int8Model onQnnpack(*graph, model.metadata(), w8a8(Granularity::PerTensor), cal, outputs, "qnnpack");
  EXPECT_EQ(onQnnpack.engine(), "qnnpack");
  for (const auto& op : onQnnpack.coverage().ops)
    if (op.name == "up") EXPECT_NE(op.reason.find("qnnpack"), std::string::npos) << op.reason;
  EXPECT_EQ(onQnnpack.predict(patches[0]).sizes(), real.predict(patches[0]).sizes());
}

TEST(Int8Model, RejectsConfigurationsTheKernelsCannotRun) {
  EXPECT_THROW(Int8Model::checkConfig(w8a8(Granularity::Adaptive)), Error);
  EXPECT_THROW(Int8Model::checkConfig(w8a8(Granularity::PerVoxel)), Error);
  QuantConfig w4 = w8a8(Granularity::PerTensor);
  w4.precision = Precision::integer(4, 4);
  try {
    Int8Model::checkConfig(w4);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("W8A8"), std::string::npos);
  }
  EXPECT_NO_THROW(Int8Model::checkConfig(w8a8(Granularity::PerChannel)));
}

TEST(Int8Export, SavedModelLoadsRunsLikeTheInMemoryModelAndIsSmaller) {
  const std::string zoo = std::string(MQB_ZOO_DIR) + "/MQB-nnUNet-S.pt";
  if (!fs::exists(zoo)) GTEST_SKIP() << "zoo model " << zoo << " not found";
  SegmentationModel model = SegmentationModel::load(zoo);
  auto graph = std::make_shared<QuantizableGraph>(model.module(), zoo);
  torch::manual_seed(6);
  std::vector<torch::Tensor> patches;
  for (int i = 0; i < 2; ++i) patches.push_back(torch::rand({1, 1, 48, 48, 48}));
  CalibrationData cal = calibrate(*graph, patches, 0, FeedbackStage(nullptr, 0, 1, ""));
  Int8OutputRanges outputs = recordOutputRanges(*graph, patches);
  for (const auto& options : {graphOptions(true, true), graphOptions(false, false)}) {
    SCOPED_TRACE(options.id());
    Int8Model real(*graph, model.metadata(), w8a8(Granularity::PerTensor), cal, outputs, "", options);
    EXPECT_EQ(real.coverage().integerOps(), static_cast<int>(graph->ops().size()));
    const std::string out = test::tempDir() + "/int8-" + options.id() + ".pt";
    real.save(out);
    SegmentationModel loaded = SegmentationModel::load(out);  // validates like any model
    EXPECT_EQ(loaded.metadata().raw["int8"]["engine"], real.engine());
    EXPECT_EQ(loaded.metadata().raw["int8"]["coverage"]["integer_ops"], real.coverage().integerOps());
    const torch::Tensor x = patches[0];
    const torch::Tensor a = real.predict(x), b = loaded.predict(x);
    EXPECT_LT((a - b).abs().max().item<double>(), 1e-4 * a.abs().max().item<double>() + 1e-5);
    EXPECT_LE(double(fs::file_size(out)), 0.3 * double(fs::file_size(zoo)));
  }
}

TEST(Int8Segmentation, ZooCnnLabelsAgreeWithSimulatedW8A8) {
  const std::string zoo = std::string(MQB_ZOO_DIR) + "/MQB-nnUNet-S.pt";
  if (!fs::exists(zoo)) GTEST_SKIP() << "zoo model " << zoo << " not found";
  MQB_REQUIRE_DATA(ct, "abdomen-ct/example_ct_sm.nii.gz");
  StudyInputs in;
  in.modelPath = zoo;
  in.volumePath = ct;
  in.inference.windowBatch = 2;
  QuantizationStudy study(in);
  QuantConfig config = w8a8(Granularity::PerTensor);
  config.calibrationPatches = 8;
  const QuantizedRun simulated = study.runQuantized(config);
  std::unique_ptr<Int8Model> real = buildInt8Model(study, config, nullptr);
  EXPECT_EQ(real->coverage().integerOps(), static_cast<int>(study.graph().ops().size()));
  InferenceOptions options;
  options.windowBatch = 2;
  const InferenceResult r = runSlidingWindow(*real, study.prepared(), options, FeedbackStage(nullptr, 0, 1, ""));
  const auto& classes = study.model().metadata().classes;
  const double withSimulated = scoreSegmentation(r.labels, simulated.inference.labels, classes, 2.0).meanDsc;
  const double withFp32 = scoreSegmentation(r.labels, study.fp32().labels, classes, 2.0).meanDsc;
  EXPECT_GE(withSimulated, 0.99);
  EXPECT_GE(withFp32, 0.97);
  RecordProperty("agreement_with_simulated", std::to_string(withSimulated));
  std::printf("real INT8 vs simulated W8A8 mean DSC %.4f, vs FP32 %.4f\n", withSimulated, withFp32);
}
