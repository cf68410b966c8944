// Coverage is never silent (SPEC section 4): every contraction of the frozen graph is
// counted, each one left in FP32 is listed with its reason, and the quantized share of the
// multiply-accumulates comes from the shapes of a real forward pass.
#include <gtest/gtest.h>

#include <torch/script.h>

#include "model/SegmentationModel.h"
#include "TestModels.h"
#include "TestSupport.h"
#include "quant/QuantCoverage.h"

using namespace mqb;
using namespace mqb::quant;

namespace {

// conv3d 1->4 (3x3x3, same padding) on [1,1,6,6,6], then from its output a matmul between
// two activations ([2,3] x [3,5]), a three-operand einsum ([2,3],[3,4],[4,5]) the engine
// cannot map, and a linear layer 6->7 on [4,6].
torch::jit::Module coverageModel() {
  torch::manual_seed(1);
  torch::jit::Module m("CoverageNet");
  m.register_parameter("w", torch::randn({4, 1, 3, 3, 3}), false);
  m.register_parameter("lw", torch::randn({7, 6}), false);
  m.define(R"JIT(
    def forward(self, x):
        h = torch.conv3d(x, self.w, None, [1, 1, 1], [1, 1, 1])
        t = h.reshape(4, 216)
        p = torch.matmul(t[0:2, 0:3], t[0:3, 3:8])
        e = torch.einsum('ij,jk,kl->il', t[0:2, 0:3], t[0:3, 0:4], t[0:4, 0:5])
        l = torch.linear(t[:, 0:6], self.lw)
        return p.sum() + e.sum() + l.sum()
  )JIT");
  return m;
}

constexpr int64_t kConvMacs = 4 * 6 * 6 * 6 * 27;  // output elements x (Ci * 3*3*3)
constexpr int64_t kMatmulMacs = 2 * 5 * 3;
constexpr int64_t kEinsumMacs = 2 * 3 * 4 * 5;
constexpr int64_t kLinearMacs = 4 * 7 * 6;

}  // namespace

TEST(QuantCoverage, UnsupportedContractionIsListedWithItsReason) {
  QuantizableGraph g(coverageModel(), "coverage");
  ASSERT_EQ(g.ops().size(), 3u);
  EXPECT_EQ(g.ops()[0].name, "conv");
  EXPECT_EQ(g.ops()[1].name, "matmul");
  EXPECT_EQ(g.ops()[2].name, "linear");
  ASSERT_EQ(g.unsupported().size(), 1u);
  EXPECT_EQ(g.unsupported()[0].name, "einsum");
  EXPECT_EQ(g.unsupported()[0].reason, "einsum with 3 operands (only two are mapped)");
  EXPECT_EQ(g.contractionCount(), 4);
}

TEST(QuantCoverage, MacsComeFromTheShapesOfAForwardPass) {
  QuantizableGraph g(coverageModel(), "coverage");
  const auto macs = measureContractionMacs(g, torch::rand({1, 1, 6, 6, 6}));
  EXPECT_EQ(macs, (std::vector<int64_t>{kConvMacs, kMatmulMacs, kEinsumMacs, kLinearMacs}));
}

TEST(QuantCoverage, CountsSharesAndReasonsFollowTheConfig) {
  QuantizableGraph g(coverageModel(), "coverage");
  const auto macs = measureContractionMacs(g, torch::rand({1, 1, 6, 6, 6}));
  const int64_t all = kConvMacs + kMatmulMacs + kEinsumMacs + kLinearMacs;

  const Coverage reach = coverageOf(g, nullptr, macs);
  EXPECT_EQ(reach.total(), 4);
  EXPECT_EQ(reach.quantized(), 3);
  EXPECT_EQ(reach.macs(), all);
  EXPECT_DOUBLE_EQ(reach.macShare(), double(all - kEinsumMacs) / double(all));

  QuantConfig c;
  c.precision = Precision::parse("W4A4");
  c.excludedOps = {"linear"};
  c.quantizeActivationMatmul = false;
  const Coverage cov = coverageOf(g, &c, macs);
  EXPECT_EQ(cov.quantized(), 1);
  EXPECT_EQ(cov.quantizedMacs(), kConvMacs);
  const auto rest = cov.leftovers();
  ASSERT_EQ(rest.size(), 3u);
  EXPECT_EQ(rest[0].name, "matmul");
  EXPECT_EQ(rest[0].reason, "activation x activation products switched off");
  EXPECT_EQ(rest[1].name, "einsum");
  EXPECT_EQ(rest[1].reason, "unsupported: einsum with 3 operands (only two are mapped)");
  EXPECT_EQ(rest[1].macs, kEinsumMacs);
  EXPECT_EQ(rest[2].name, "linear");
  EXPECT_EQ(rest[2].reason, "excluded (--exclude or keep-k most sensitive)");

  const nlohmann::json j = cov.toJson();
  EXPECT_EQ(j["contractions"], 4);
  EXPECT_EQ(j["quantized"], 1);
  EXPECT_EQ(j["fp32"].size(), 3u);
  EXPECT_EQ(j["quantized_macs_per_patch"], kConvMacs);
  EXPECT_NE(cov.summary().find("1/4 contractions quantized"), std::string::npos) << cov.summary();
}

TEST(QuantCoverage, FullyQuantizedModelReportsEverything) {
  const std::string path = test::tempDir() + "/mixed-coverage.pt";
  test::writeMixedOpsModel(path);
  SegmentationModel model = SegmentationModel::load(path);
  QuantizableGraph g(model.module(), path);
  QuantConfig c;
  const Coverage cov = coverageOf(g, &c, model.metadata());
  EXPECT_EQ(cov.total(), static_cast<int>(g.ops().size()));
  EXPECT_EQ(cov.quantized(), cov.total());
  EXPECT_TRUE(cov.leftovers().empty());
  EXPECT_GT(cov.macs(), 0);
  EXPECT_DOUBLE_EQ(cov.macShare(), 1.0);
}

TEST(ParameterCount, SharedModuleIsCountedOnce) {
  // One conv module registered under two names (as nnU-Net's decoder keeps its encoder).
  torch::jit::Module conv("Conv");
  conv.register_parameter("weight", torch::randn({3, 1, 1, 1, 1}), false);
  conv.register_parameter("bias", torch::zeros({3}), false);
  conv.define("def forward(self, x):\n    return torch.conv3d(x, self.weight, self.bias)\n");
  torch::jit::Module head("Head");
  head.register_parameter("weight", torch::randn({3, 3, 1, 1, 1}), false);
  head.define("def forward(self, x):\n    return torch.conv3d(x, self.weight)\n");
  torch::jit::Module net("Net");
  net.register_module("encoder", conv);
  net.register_module("head", head);
  net.register_module("encoder_again", conv);
  net.define("def forward(self, x):\n    return self.head.forward(self.encoder.forward(x))\n");
  const std::string path = test::tempDir() + "/shared.pt";
  torch::jit::ExtraFilesMap extra{{"medquanbench.json", test::bandModelMetadata(16, 2.0).dump()}};
  net.save(path, extra);
  const SegmentationModel model = SegmentationModel::load(path);
  int64_t listed = 0;
  for (const auto& p : model.module().parameters()) listed += p.numel();
  EXPECT_EQ(listed, 3 + 3 + 9 + 3 + 3);  // TorchScript lists the shared conv twice
  EXPECT_EQ(model.parameterCount(), 3 + 3 + 9);
}
