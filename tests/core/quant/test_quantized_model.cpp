#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <map>

#include "runtime/BlasThreads.h"
#include "support/Error.h"
#include "demo/Phantom.h"
#include "metrics/SegmentationMetrics.h"
#include "model/SegmentationModel.h"
#include "inference/SlidingWindowInference.h"
#include "TestModels.h"
#include "TestSupport.h"
#include "quant/CalibrationData.h"
#include "quant/FakeQuant.h"
#include "quant/QuantizedModel.h"

using namespace mqb;
using namespace mqb::quant;

namespace {

struct Mixed {
  SegmentationModel model;
  std::shared_ptr<QuantizableGraph> graph;
  std::vector<torch::Tensor> patches;
  CalibrationData calibration;
};

Mixed& mixed() {
  static Mixed* m = [] {
    const std::string path = test::tempDir() + "/mixed.pt";
    test::writeMixedOpsModel(path);
    SegmentationModel model = SegmentationModel::load(path);
    auto graph = std::make_shared<QuantizableGraph>(model.module(), path);
    std::vector<torch::Tensor> patches;
    torch::manual_seed(3);
    for (int i = 0; i < 4; ++i) patches.push_back(torch::rand({1, 1, 16, 16, 16}));
    CalibrationData cal = calibrate(*graph, patches, 0, FeedbackStage(nullptr, 0, 1, ""));
    return new Mixed{std::move(model), graph, patches, std::move(cal)};
  }();
  return *m;
}

QuantConfig config(const std::string& precision, Granularity g) {
  QuantConfig c;
  c.precision = Precision::parse(precision);
  c.granularity = g;
  return c;
}

double relativeError(const torch::Tensor& a, const torch::Tensor& ref) {
  return (a - ref).norm().item<double>() / ref.norm().item<double>();
}

}  // namespace

TEST(OpDiscovery, FindsEveryKindWithStableModulePathNames) {
  const auto& ops = mixed().graph->ops();
  std::vector<std::string> names;
  for (const auto& op : ops) names.push_back(op.name);
  EXPECT_EQ(names, (std::vector<std::string>{"enc", "down", "attn.q", "attn.k", "attn.v", "attn.matmul",
                                             "attn.matmul_1", "attn.proj", "up", "head"}));
  EXPECT_EQ(ops[0].kind, OpKind::Conv);
  EXPECT_EQ(ops[2].kind, OpKind::Linear);
  EXPECT_EQ(ops[5].kind, OpKind::ActivationMatmul);
  EXPECT_EQ(ops[5].activationSlots, 2);
  EXPECT_EQ(ops[8].kind, OpKind::ConvTranspose);
  EXPECT_EQ(ops[8].weightChannelAxis, 1);  // ConvTranspose3d weights are [Ci, Co, k, k, k]
  EXPECT_TRUE(ops[9].pointwise);
  EXPECT_FALSE(ops[0].pointwise);
  EXPECT_EQ(ops[1].weightShape, (std::vector<int64_t>{16, 8, 2, 2, 2}));
  // A second discovery of the same file gives the same names.
  QuantizableGraph again(mixed().model.module(), "again");
  for (size_t i = 0; i < ops.size(); ++i) EXPECT_EQ(again.ops()[i].name, ops[i].name);
}

TEST(QuantizedModel, ScaleShapesFollowTheGranularityTable) {
  auto& m = mixed();
  auto planOf = [&](Granularity g, const std::string& op, int slot) {
    QuantizedModel q(m.graph, m.model.metadata(), config("W8A8", g), &m.calibration);
    return q.plan(m.graph->op(op).index, slot);
  };
  using Mode = ActivationPlan::Mode;
  // per-tensor: one static scale everywhere, matmul operands included
  for (const char* op : {"enc", "down", "attn.q", "up", "head"}) {
    auto p = planOf(Granularity::PerTensor, op, 0);
    EXPECT_EQ(p.mode, Mode::Static) << op;
    EXPECT_EQ(p.grid.groups.size(), 1u) << op;
  }
  EXPECT_EQ(planOf(Granularity::PerTensor, "attn.matmul", 1).mode, Mode::Static);
  // per-channel/token: conv inputs one static scale per input channel; linear per token
  auto down = planOf(Granularity::PerChannel, "down", 0);
  EXPECT_EQ(down.mode, Mode::Static);
  EXPECT_EQ(down.grid.groups.size(), 8u);
  EXPECT_EQ(down.grid.axis, 1);
  EXPECT_EQ(planOf(Granularity::PerChannel, "up", 0).grid.groups.size(), 16u);
  auto q = planOf(Granularity::PerChannel, "attn.q", 0);
  EXPECT_EQ(q.mode, Mode::Dynamic);
  EXPECT_EQ(q.dynamicDim, -1);
  EXPECT_EQ(planOf(Granularity::PerChannel, "attn.matmul", 1).dynamicDim, -2);  // K^T [.., C, T]
  // per-voxel: every conv input dynamic over channels
  for (const char* op : {"enc", "down", "up", "head"}) {
    auto p = planOf(Granularity::PerVoxel, op, 0);
    EXPECT_EQ(p.mode, Mode::Dynamic) << op;
    EXPECT_EQ(p.dynamicDim, 1) << op;
  }
  // adaptive stratification: per-voxel for the 1x1x1 conv only, per-channel for the others
  EXPECT_EQ(planOf(Granularity::Adaptive, "head", 0).mode, Mode::Dynamic);
  EXPECT_EQ(planOf(Granularity::Adaptive, "down", 0).mode, Mode::Static);
  EXPECT_EQ(planOf(Granularity::Adaptive, "up", 0).grid.groups.size(), 16u);
  EXPECT_EQ(planOf(Granularity::Adaptive, "attn.v", 0).mode, Mode::Dynamic);
}

TEST(QuantizedModel, WeightsArePerOutputChannelIncludingConvTranspose) {
  auto& m = mixed();
  QuantizedModel perChannel(m.graph, m.model.metadata(), config("W4A8", Granularity::Adaptive), &m.calibration);
  QuantizedModel perTensor(m.graph, m.model.metadata(), config("W4A8", Granularity::PerTensor), &m.calibration);
  const int up = m.graph->op("up").index;
  torch::Tensor w = m.model.module().attr("up").toModule().attr("weight").toTensor();
  torch::Tensor qc = perChannel.quantizedWeight(up), qt = perTensor.quantizedWeight(up);
  ASSERT_TRUE(qc.defined());
  // Symmetric min-max: the largest |w| of each group is representable exactly.
  for (int64_t j = 0; j < w.size(1); ++j)
    EXPECT_NEAR(qc.select(1, j).abs().max().item<float>(), w.select(1, j).abs().max().item<float>(), 1e-6);
  EXPECT_NEAR(qt.abs().max().item<float>(), w.abs().max().item<float>(), 1e-6);
  // 4 bits: at most 15 distinct values per output channel (dim 1), 15 in the whole per-tensor weight.
  for (int64_t j = 0; j < w.size(1); ++j) EXPECT_LE(std::get<0>(at::_unique(qc.select(1, j))).numel(), 15);
  EXPECT_LE(std::get<0>(at::_unique(qt)).numel(), 15);
  EXPECT_TRUE(torch::allclose(qc, fakeQuantWeight(w, 1, 4, true)));
}

TEST(QuantizedModel, W16A16MatchesFp32AndFp32ConfigIsExact) {
  auto& m = mixed();
  for (Granularity g : {Granularity::PerTensor, Granularity::PerChannel, Granularity::PerVoxel, Granularity::Adaptive}) {
    QuantizedModel q(m.graph, m.model.metadata(), config("W16A16", g), &m.calibration);
    for (const auto& p : m.patches)
      EXPECT_LT(relativeError(q.predict(p), m.model.predict(p)), 1e-3) << granularityId(g);
  }
  QuantizedModel fp(m.graph, m.model.metadata(), config("FP32", Granularity::PerTensor), nullptr);
  EXPECT_TRUE(torch::equal(fp.predict(m.patches[0]), m.model.predict(m.patches[0])));
}

TEST(QuantizedModel, ErrorGrowsAsBitsShrinkAndRunsAreDeterministic) {
  auto& m = mixed();
  const torch::Tensor ref = m.model.predict(m.patches[1]);
  double previous = 0;
  for (const char* p : {"W16A16", "W8A8", "W4A4", "W2A2"}) {
    QuantizedModel q(m.graph, m.model.metadata(), config(p, Granularity::PerChannel), &m.calibration);
    const torch::Tensor out = q.predict(m.patches[1]);
    const double e = relativeError(out, ref);
    EXPECT_GT(e, previous) << p;
    previous = e;
    QuantizedModel again(m.graph, m.model.metadata(), config(p, Granularity::PerChannel), &m.calibration);
    EXPECT_TRUE(torch::equal(again.predict(m.patches[1]), out)) << p;
  }
}

TEST(QuantizedModel, ExcludingEveryOpGivesFp32AndUnknownOpsAreRejected) {
  auto& m = mixed();
  QuantConfig c = config("W2A2", Granularity::PerTensor);
  for (const auto& op : m.graph->ops()) c.excludedOps.insert(op.name);
  QuantizedModel q(m.graph, m.model.metadata(), c, &m.calibration);
  EXPECT_TRUE(torch::equal(q.predict(m.patches[2]), m.model.predict(m.patches[2])));
  c.excludedOps.insert("attn.nonexistent");
  try {
    QuantizedModel bad(m.graph, m.model.metadata(), c, &m.calibration);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("attn.nonexistent"), std::string::npos);
  }
}

TEST(QuantizedModel, MixedPrecisionOverrideChangesOnlyThatOp) {
  auto& m = mixed();
  QuantConfig c = config("W4A4", Granularity::PerChannel);
  c.opPrecision["head"] = Precision::parse("W16A16");
  QuantizedModel q(m.graph, m.model.metadata(), c, &m.calibration);
  EXPECT_EQ(q.plan(m.graph->op("head").index, 0).bits, 16);
  EXPECT_EQ(q.plan(m.graph->op("down").index, 0).bits, 4);
}

namespace {
// Sees every input and keeps it: the runtime must then quantize a copy.
struct RetainingObserver : HookObserver {
  void onInput(int, int, const torch::Tensor& x) override { kept.push_back(x); }
  std::vector<torch::Tensor> kept;
};
}  // namespace

TEST(QuantizedModel, InputsAreOverwrittenOnlyWhereTheGraphNeverReadsThemAgain) {
  auto& m = mixed();
  std::map<std::string, std::array<bool, 2>> flags;
  for (const auto& op : m.graph->ops()) flags[op.name] = op.inputOverwritable;
  // enc reads the network input; h (down's input) is added back after `up`; t feeds
  // q, k, v and the residual; everything later is read by exactly one op.
  EXPECT_FALSE(flags["enc"][0]);
  EXPECT_FALSE(flags["down"][0]);
  EXPECT_FALSE(flags["attn.q"][0]);
  EXPECT_FALSE(flags["attn.v"][0]);
  EXPECT_TRUE(flags["attn.matmul"][0]);
  EXPECT_TRUE(flags["attn.matmul_1"][0]);
  EXPECT_TRUE(flags["attn.matmul_1"][1]);
  EXPECT_TRUE(flags["attn.proj"][0]);
  EXPECT_TRUE(flags["up"][0]);
  EXPECT_TRUE(flags["head"][0]);
  for (Granularity g : {Granularity::PerTensor, Granularity::PerChannel, Granularity::PerVoxel, Granularity::Adaptive}) {
    QuantizedModel q(m.graph, m.model.metadata(), config("W4A4", g), &m.calibration);
    const torch::Tensor patch = m.patches[3].clone();
    const torch::Tensor inPlace = q.predict(patch);
    EXPECT_TRUE(torch::equal(patch, m.patches[3])) << "the caller's patch was modified";
    RetainingObserver observer;
    q.runtime().setObserver(&observer);
    const torch::Tensor copied = q.predict(patch);
    q.runtime().setObserver(nullptr);
    EXPECT_TRUE(torch::equal(inPlace, copied)) << granularityId(g);
    // The retained inputs are the FP32 values: the in-place path was not taken.
    EXPECT_TRUE(torch::equal(observer.kept.front(), patch));
  }
}

TEST(QuantizedModel, LeakyReluFoldedIntoStaticQuantizationGivesIdenticalOutputs) {
  // conv -> *1.5 -> leaky_relu -> conv (folded, out of place), -> leaky_relu_ -> conv (folded
  // in place), -> leaky_relu -> conv whose input is read again by mean() (not folded).
  torch::jit::Module net("FoldNet");
  torch::manual_seed(5);
  for (int i = 0; i < 4; ++i)
    net.register_parameter("w" + std::to_string(i), torch::randn({4, i == 0 ? 1 : 4, 3, 3, 3}) * 0.3, false);
  net.define(R"JIT(
    def forward(self, x):
        a = torch.conv3d(x, self.w0, None, [1, 1, 1], [1, 1, 1]) * 1.5
        b = torch.leaky_relu(a, 0.01)
        c = torch.conv3d(b, self.w1, None, [1, 1, 1], [1, 1, 1]) - 0.1
        d = torch.leaky_relu_(c, 0.2)
        e = torch.conv3d(d, self.w2, None, [1, 1, 1], [1, 1, 1])
        f = torch.leaky_relu(e, 0.05)
        g = torch.conv3d(f, self.w3, None, [1, 1, 1], [1, 1, 1])
        return g + f.mean()
  )JIT");
  auto graph = std::make_shared<QuantizableGraph>(net, "fold");
  ASSERT_EQ(graph->ops().size(), 4u);
  std::vector<torch::Tensor> patches;
  for (int i = 0; i < 3; ++i) patches.push_back(torch::randn({1, 1, 12, 12, 12}));
  const CalibrationData cal = calibrate(*graph, patches, 0, FeedbackStage(nullptr, 0, 1, ""));
  // W16A16: a grid fine enough that any difference in the folded activation shows.
  for (const auto& [precision, g] :
       std::vector<std::pair<std::string, Granularity>>{{"W4A4", Granularity::PerTensor},
                                                        {"W4A4", Granularity::PerChannel},
                                                        {"W16A16", Granularity::PerTensor},
                                                        {"W16A16", Granularity::PerChannel}}) {
    QuantizedModel folded(graph, ModelMetadata{}, config(precision, g), &cal, /*foldActivations=*/true);
    QuantizedModel plain(graph, ModelMetadata{}, config(precision, g), &cal, /*foldActivations=*/false);
    EXPECT_FALSE(folded.plan(0, 0).foldedLeaky);
    EXPECT_TRUE(folded.plan(1, 0).foldedLeaky);
    EXPECT_FALSE(folded.plan(1, 0).foldedInPlace);
    EXPECT_TRUE(folded.plan(2, 0).foldedLeaky);
    EXPECT_TRUE(folded.plan(2, 0).foldedInPlace);
    EXPECT_FALSE(folded.plan(3, 0).foldedLeaky) << "f is read again after the last conv";
    EXPECT_FALSE(plain.plan(1, 0).foldedLeaky);
    const torch::Tensor patch = patches[1].clone();
    const torch::Tensor expected = plain.predict(patch);
    EXPECT_TRUE(torch::equal(folded.predict(patch), expected)) << precision << " " << granularityId(g);
    EXPECT_TRUE(torch::equal(patch, patches[1])) << "the caller's patch was modified";
    // With an observer the activation runs unfolded and the observer sees its output.
    RetainingObserver observer;
    folded.runtime().setObserver(&observer);
    EXPECT_TRUE(torch::equal(folded.predict(patch), expected)) << granularityId(g);
    folded.runtime().setObserver(nullptr);
    ASSERT_EQ(observer.kept.size(), 4u);
    EXPECT_GE(observer.kept[1].min().item<float>(), -0.01f * observer.kept[1].abs().max().item<float>());
  }
}

// Folding moves the activation to the op's input hook: it must still see the tensor as the
// activation did, even when other nodes between the two read or write it.
TEST(QuantizedModel, FoldedLeakyReluSeesItsInputWhereTheActivationDid) {
  auto build = [](const std::string& body) {
    torch::jit::Module net("Net");
    torch::manual_seed(9);
    for (int i = 0; i < 3; ++i)
      net.register_parameter("w" + std::to_string(i), torch::randn({4, i == 0 ? 1 : 4, 3, 3, 3}) * 0.3, false);
    net.define("def forward(self, x):\n" + body);
    return std::make_shared<QuantizableGraph>(net, "order");
  };
  const std::string conv0 = "        y = torch.conv3d(x, self.w0, None, [1, 1, 1], [1, 1, 1])\n";
  struct Case {
    const char* what;
    std::string body;
    int op;        // the op whose input is the activation
    bool mayFold;  // folding keeps the values only if the hook reads where the activation did
  };
  const std::vector<Case> cases = {
      // Another op reads (and, as its last reader, quantizes in place) y after the activation.
      {"out of place, y quantized by a later op",
       conv0 + "        h = torch.leaky_relu(y, 0.1)\n"
               "        s = torch.conv3d(y, self.w1, None, [1, 1, 1], [1, 1, 1])\n"
               "        o = torch.conv3d(h, self.w2, None, [1, 1, 1], [1, 1, 1])\n"
               "        return o + s\n",
       2, true},
      // In place: the op in between must see the activated y, so no folding.
      {"in place, y read in between",
       conv0 + "        h = torch.leaky_relu_(y, 0.1)\n"
               "        s = torch.conv3d(y, self.w1, None, [1, 1, 1], [1, 1, 1])\n"
               "        o = torch.conv3d(h, self.w2, None, [1, 1, 1], [1, 1, 1])\n"
               "        return o + s\n",
       2, false},
      // y is modified in place after the activation read it.
      {"out of place, y written in between",
       conv0 + "        h = torch.leaky_relu(y, 0.1)\n"
               "        y.mul_(-3.0)\n"
               "        o = torch.conv3d(h, self.w1, None, [1, 1, 1], [1, 1, 1])\n"
               "        return o + y.sum()\n",
       1, true},
  };
  for (const Case& c : cases) {
    auto graph = build(c.body);
    std::vector<torch::Tensor> patches;
    for (int i = 0; i < 2; ++i) patches.push_back(torch::randn({1, 1, 10, 10, 10}));
    const CalibrationData cal = calibrate(*graph, patches, 0, FeedbackStage(nullptr, 0, 1, ""));
    for (const char* precision : {"W8A8", "W16A16"}) {
      QuantizedModel folded(graph, ModelMetadata{}, config(precision, Granularity::PerTensor), &cal, true);
      QuantizedModel plain(graph, ModelMetadata{}, config(precision, Granularity::PerTensor), &cal, false);
      EXPECT_EQ(folded.plan(c.op, 0).foldedLeaky, c.mayFold) << c.what;
      const torch::Tensor patch = patches[0].clone();
      EXPECT_TRUE(torch::equal(folded.predict(patch), plain.predict(patch))) << c.what << " " << precision;
    }
  }
}

TEST(OpDiscovery, ScriptedSelfCallsDoNotAddToTheName) {
  // nn.Conv3d.forward calls self._conv_forward; the inlined frame of such a call is "SELF".
  torch::jit::Module conv("Conv");
  conv.register_parameter("weight", torch::randn({2, 1, 3, 3, 3}), false);
  conv.define(R"JIT(
    def _conv_forward(self, x):
        return torch.conv3d(x, self.weight, None, [1, 1, 1], [1, 1, 1])
    def forward(self, x):
        return self._conv_forward(x)
  )JIT");
  torch::jit::Module block("Block");
  block.register_module("conv", conv);
  block.define("def forward(self, x):\n    return self.conv.forward(x)\n");
  torch::jit::Module net("Net");
  net.register_module("enc0", block);
  net.define("def forward(self, x):\n    return self.enc0.forward(x)\n");
  QuantizableGraph g(net, "self-call");
  ASSERT_EQ(g.ops().size(), 1u);
  EXPECT_EQ(g.ops()[0].name, "enc0.conv");
}

TEST(OpDiscovery, ModulesReachedThroughContainersKeepTheirFullPath) {
  // encoder.blk.conv and decoder.blk.conv: the call stack names only "blk" and "conv";
  // the module tree (names + types) restores the container's name.
  auto conv = [] {
    torch::jit::Module c("Conv");
    c.register_parameter("weight", torch::randn({1, 1, 3, 3, 3}), false);
    c.define("def forward(self, x):\n    return torch.conv3d(x, self.weight, None, [1, 1, 1], [1, 1, 1])\n");
    return c;
  };
  auto block = [&](const std::string& type) {
    torch::jit::Module b(type);
    b.register_module("conv", conv());
    b.define("def forward(self, x):\n    return self.conv.forward(x)\n");
    return b;
  };
  torch::jit::Module encoder("Encoder"), decoder("Decoder");
  encoder.register_module("blk", block("EncBlock"));
  decoder.register_module("blk", block("DecBlock"));
  torch::jit::Module net("Net");
  net.register_module("encoder", encoder);
  net.register_module("decoder", decoder);
  net.define("def forward(self, x):\n    return self.decoder.blk.forward(self.encoder.blk.forward(x))\n");
  QuantizableGraph g(net, "containers");
  ASSERT_EQ(g.ops().size(), 2u);
  EXPECT_EQ(g.ops()[0].name, "encoder.blk.conv");
  EXPECT_EQ(g.ops()[1].name, "decoder.blk.conv");
}

TEST(Calibration, JsonRoundTripReproducesTheRun) {
  auto& m = mixed();
  const nlohmann::json j = m.calibration.toJson();
  CalibrationData reloaded = CalibrationData::fromJson(nlohmann::json::parse(j.dump()), *m.graph, "cal.json");
  for (const char* method : {"minmax", "percentile", "mse", "entropy"}) {
    QuantConfig c = config("W4A4", Granularity::PerTensor);
    c.calibrator = CalibrationMethod::parse(method);
    QuantizedModel a(m.graph, m.model.metadata(), c, &m.calibration);
    QuantizedModel b(m.graph, m.model.metadata(), c, &reloaded);
    EXPECT_TRUE(torch::equal(a.predict(m.patches[0]), b.predict(m.patches[0]))) << method;
  }
}

TEST(QuantConfigParsing, RejectsBadStrings) {
  EXPECT_EQ(Precision::parse("w4a8").id(), "W4A8");
  EXPECT_EQ(Precision::parse("INT W8A8").title(), "INT W8A8");
  EXPECT_TRUE(Precision::parse("fp32").floatingPoint);
  EXPECT_THROW(Precision::parse("W1A8"), Error);
  EXPECT_THROW(Precision::parse("W17A8"), Error);
  EXPECT_THROW(Precision::parse("W8"), Error);
  EXPECT_THROW(Precision::parse("INT8"), Error);
  EXPECT_EQ(parseGranularity("adaptive-stratification"), Granularity::Adaptive);
  EXPECT_EQ(parseGranularity("per-token"), Granularity::PerChannel);
  EXPECT_THROW(parseGranularity("per-row"), Error);
  EXPECT_THROW(CalibrationMethod::parse("kl-magic"), Error);
}

TEST(QuantizableGraph, ModelWithoutQuantizableOpIsRejected) {
  const std::string path = test::tempDir() + "/noops.pt";
  torch::jit::Module m("NoOps");
  m.register_parameter("s", torch::ones({1}), false);
  m.define(R"JIT(
    def forward(self, x):
        return torch.cat([x * self.s, x, x], 1)
  )JIT");
  torch::jit::ExtraFilesMap extra{{"medquanbench.json", test::bandModelMetadata().dump()}};
  m.save(path, extra);
  SegmentationModel model = SegmentationModel::load(path);
  try {
    QuantizableGraph g(model.module(), path);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no quantizable operation"), std::string::npos);
  }
}

TEST(QuantizedSegmentation, W8A8AgreesWithFp32AndW2A2DoesNot) {
  // Band model on a phantom whose organs sit in its intensity bands.
  const std::string path = test::tempDir() + "/band.pt";
  test::writeBandModel(path, test::bandModelMetadata(16, 3.0));
  SegmentationModel model = SegmentationModel::load(path);
  PhantomOptions o;
  o.size = {48, 40, 24};
  o.noiseSigmaHu = 0;
  Phantom p = generateAbdominalPhantom(o);
  for (size_t i = 0; i < p.ct.voxels.size(); ++i) {
    const uint8_t l = p.labels.voxels[i];
    p.ct.voxels[i] = l == 0 ? test::kBandBackgroundHu : (l == 8 || l == 9) ? test::kBandHighHu : test::kBandLowHu;
  }
  auto graph = std::make_shared<QuantizableGraph>(model.module(), path);
  FeedbackStage none(nullptr, 0, 1, "");
  PreparedVolume pv = prepareVolume(p.ct, model.metadata(), none);
  InferenceResult fp32 = runSlidingWindow(model, pv, {}, none);
  auto patches = sampleCalibrationPatches(pv, fp32.modelSpaceLabels, model.metadata().patchSize, 8, 0);
  CalibrationData cal = calibrate(*graph, patches, 0, none);
  ClassList classes = model.metadata().classes;
  auto agreement = [&](const char* precision) {
    QuantizedModel q(graph, model.metadata(), config(precision, Granularity::PerChannel), &cal);
    return scoreSegmentation(runSlidingWindow(q, pv, {}, none).labels, fp32.labels, classes, 2.0).meanDsc;
  };
  const double w8 = agreement("W8A8"), w2 = agreement("W2A2");
  EXPECT_GE(w8, 0.98);
  EXPECT_LT(w2, 0.8);
  EXPECT_LT(w2, w8 - 0.15);
}

TEST(Calibration, TheStatisticsDoNotDependOnHowManyThreadsRunTheForwards) {
  auto& m = mixed();
  // One OpenBLAS thread, as in the forwards on worker threads: OpenBLAS splits a GEMM
  // differently on two threads and the attention's linear layers then round differently.
  // (The applications keep OpenBLAS at LibTorch's thread count: one thread when windows run
  // one at a time on one thread.)
  setBlasThreads(1);
  std::vector<torch::Tensor> patches;
  torch::manual_seed(11);
  for (int i = 0; i < 7; ++i) patches.push_back(torch::randn({1, 1, 16, 16, 16}) * (1 + i));
  std::vector<std::string> results;
  for (const char* workers : {"1", "3", "2"}) {
    setenv("MQB_WINDOW_WORKERS", workers, 1);
    std::vector<double> progress;
    Feedback fb([&](double f, const std::string&) { progress.push_back(f); });
    results.push_back(calibrate(*m.graph, patches, 5, FeedbackStage(&fb, 0, 1, "")).toJson().dump());
    EXPECT_TRUE(std::is_sorted(progress.begin(), progress.end())) << workers;
    EXPECT_EQ(progress.size(), patches.size()) << workers;
  }
  unsetenv("MQB_WINDOW_WORKERS");
  // Histograms that double their range as larger values arrive depend on the order of the
  // patches: equal text means the patches were seen in the same order.
  EXPECT_EQ(results[0], results[1]);
  EXPECT_EQ(results[0], results[2]);
  // And a cancel during the forwards ends the calibration.
  setenv("MQB_WINDOW_WORKERS", "2", 1);
  Feedback cancelling;
  int calls = 0;
  cancelling.setProgressCallback([&](double, const std::string&) {
    if (++calls == 2) cancelling.cancel();
  });
  EXPECT_THROW(calibrate(*m.graph, patches, 5, FeedbackStage(&cancelling, 0, 1, "")), Canceled);
  unsetenv("MQB_WINDOW_WORKERS");
}
