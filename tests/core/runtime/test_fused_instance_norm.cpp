// The fused instance norm (core/FusedInstanceNorm.h) replaces LibTorch's instance_norm and
// the LeakyReLU after it in every fast graph: it must give their values, take in only an
// activation nothing else reads, and leave norms with running statistics alone.
#include <gtest/gtest.h>

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/script.h>

#include "runtime/FusedInstanceNorm.h"
#include "quant/CalibrationData.h"
#include "quant/QuantizableGraph.h"
#include "quant/QuantizedModel.h"

using namespace mqb;

namespace {

// LibTorch's norm and LeakyReLU computed in double on the same float input: the fused
// float kernel must be at least as close to it as LibTorch's float norm (which is off by
// up to 6e-5 on single-voxel planes and 9e-4 on the offset data below).
torch::Tensor reference(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b,
                        std::optional<double> slope) {
  auto d = [](const torch::Tensor& t) { return t.defined() ? t.to(torch::kDouble) : t; };
  torch::Tensor y = torch::instance_norm(d(x), d(w), d(b), {}, {}, true, 0.1, 1e-5, false);
  return (slope ? torch::leaky_relu(y, *slope) : y).to(torch::kFloat);
}

int count(const torch::jit::Graph& g, const char* kind) {
  int n = 0;
  for (const torch::jit::Node* node : g.nodes()) n += node->kind() == c10::Symbol::fromQualString(kind);
  return n;
}

}  // namespace

TEST(FusedInstanceNorm, GivesLibTorchsNormAndLeakyReLU) {
  torch::NoGradGuard noGrad;
  torch::manual_seed(11);
  for (const auto& shape :
       std::vector<std::vector<int64_t>>{{2, 3, 5, 6, 7}, {1, 16, 48, 48, 48}, {1, 4, 1, 1, 1}, {3, 2, 9, 4}, {4, 3}}) {
    const torch::Tensor x = torch::randn(shape) * 3 + 0.5;
    const int64_t c = shape[1];
    const torch::Tensor w = 1 + 0.2 * torch::randn({c}), b = 0.1 * torch::randn({c});
    for (std::optional<double> slope : {std::optional<double>(0.01), std::optional<double>()}) {
      const torch::Tensor got = fusedInstanceNorm(x, w, b, 1e-5, slope), want = reference(x, w, b, slope);
      EXPECT_TRUE(torch::allclose(got, want, 1e-5, 2e-6)) << (got - want).abs().max().item<float>();
    }
    const torch::Tensor plain = fusedInstanceNorm(x, {}, {}, 1e-5, std::nullopt);
    EXPECT_TRUE(torch::allclose(plain, reference(x, {}, {}, std::nullopt), 1e-5, 2e-6));
  }
  // A large offset with a small spread (CT intensities): the variance comes from deviations.
  const torch::Tensor far = 1000 + 0.01 * torch::randn({1, 2, 30, 30, 30});
  const torch::Tensor farError =
      (fusedInstanceNorm(far, {}, {}, 1e-5, std::nullopt) - reference(far, {}, {}, std::nullopt)).abs().max();
  EXPECT_LT(farError.item<float>(), 1e-4);
  // A NaN spoils its own plane only, as in LibTorch.
  torch::Tensor nan = torch::randn({1, 2, 4, 4, 4});
  nan[0][1][2][2][2] = std::numeric_limits<float>::quiet_NaN();
  const torch::Tensor y = fusedInstanceNorm(nan, {}, {}, 1e-5, 0.01);
  EXPECT_TRUE(y[0][1].isnan().all().item<bool>());
  EXPECT_FALSE(y[0][0].isnan().any().item<bool>());
}

TEST(FusedInstanceNorm, TakesInOnlyTheActivationNothingElseReads) {
  torch::NoGradGuard noGrad;
  torch::manual_seed(12);
  torch::jit::Module m("NormNet");
  m.register_parameter("g", 1 + 0.2 * torch::randn({6}), false);
  m.register_parameter("e", 0.1 * torch::randn({6}), false);
  m.register_buffer("mean", torch::zeros({6}));
  m.register_buffer("var", torch::ones({6}));
  m.define(R"JIT(
    def forward(self, x):
        a = torch.instance_norm(x, self.g, self.e, None, None, True, 0.1, 1e-05, False)
        a = torch.leaky_relu_(a, 0.02)
        b = torch.instance_norm(a, None, None, None, None, True, 0.1, 1e-05, False)
        c = torch.instance_norm(b, None, None, self.mean, self.var, True, 0.1, 1e-05, False)
        return b + torch.leaky_relu(b, 0.5) + c
  )JIT");
  m.eval();
  torch::jit::Module frozen = torch::jit::freeze(m);
  std::shared_ptr<torch::jit::Graph> g = frozen.get_method("forward").graph()->copy();
  // a: norm + in-place LeakyReLU; b: read twice, so its LeakyReLU stays; c: running stats.
  EXPECT_EQ(useFusedInstanceNorms(*g), 2);
  EXPECT_EQ(count(*g, "mqb::instance_norm"), 2);
  EXPECT_EQ(count(*g, "aten::instance_norm"), 1);
  EXPECT_EQ(count(*g, "aten::leaky_relu_"), 0);
  EXPECT_EQ(count(*g, "aten::leaky_relu"), 1);
  torch::jit::GraphFunction fused("fused", g, nullptr);
  const torch::Tensor x = torch::randn({2, 6, 7, 8, 9}) * 2;
  const torch::Tensor want = frozen.forward({x}).toTensor();
  const torch::Tensor got = fused({frozen._ivalue(), x}).toTensor();
  EXPECT_TRUE(torch::allclose(got, want, 1e-4, 1e-5)) << (got - want).abs().max().item<float>();
}

TEST(FusedInstanceNorm, QuantizationHookTakesInTheNormWithTheSameValues) {
  // conv -> norm -> LeakyReLU -> conv: with static grids the second conv's input hook
  // normalises, activates and quantizes in one pass (mqb::act_norm); without folding the
  // graph runs the fused norm + LeakyReLU, then quantizes. Same float operations: equal.
  torch::NoGradGuard noGrad;
  torch::manual_seed(13);
  torch::jit::Module m("ConvNormAct");
  m.register_parameter("w1", torch::randn({8, 2, 3, 3, 3}) * 0.2, false);
  m.register_parameter("b1", torch::randn({8}) * 0.1, false);
  m.register_parameter("g", 1 + 0.1 * torch::randn({8}), false);
  m.register_parameter("e", 0.1 * torch::randn({8}), false);
  m.register_parameter("w2", torch::randn({3, 8, 3, 3, 3}) * 0.2, false);
  m.register_parameter("b2", torch::randn({3}) * 0.1, false);
  m.define(R"JIT(
    def forward(self, x):
        y = torch.conv3d(x, self.w1, self.b1, [1, 1, 1], [1, 1, 1])
        y = torch.instance_norm(y, self.g, self.e, None, None, True, 0.1, 1e-05, False)
        y = torch.leaky_relu(y, 0.01)
        return torch.conv3d(y, self.w2, self.b2, [1, 1, 1], [1, 1, 1])
  )JIT");
  m.eval();
  auto graph = std::make_shared<const quant::QuantizableGraph>(m, "ConvNormAct");
  std::vector<torch::Tensor> patches;
  for (int i = 0; i < 3; ++i) patches.push_back(torch::randn({1, 2, 10, 11, 12}));
  const quant::CalibrationData cal = quant::calibrate(*graph, patches, 0, FeedbackStage(nullptr, 0, 1, ""));
  for (auto granularity : {quant::Granularity::PerTensor, quant::Granularity::PerChannel}) {
    quant::QuantConfig c;
    c.precision = quant::Precision::integer(8, 4);
    c.granularity = granularity;
    quant::QuantizedModel folded(graph, ModelMetadata{}, c, &cal);
    quant::QuantizedModel plain(graph, ModelMetadata{}, c, &cal, /*foldActivations=*/false);
    EXPECT_EQ(folded.foldedNorms(), 1);
    EXPECT_EQ(plain.foldedNorms(), 0);
    const torch::Tensor a = folded.predict(patches[1]), b = plain.predict(patches[1]);
    EXPECT_TRUE(torch::equal(a, b)) << (a - b).abs().max().item<float>();
    // Not vacuous: 4-bit activations move the output away from FP32.
    quant::QuantConfig fp;
    fp.precision = quant::Precision::fp32();
    quant::QuantizedModel fp32(graph, ModelMetadata{}, fp, nullptr);
    EXPECT_GT((a - fp32.predict(patches[1])).abs().max().item<float>(), 1e-3);
  }
}

TEST(FusedInstanceNorm, NormStaysOutOfTheHookWhenItsInputIsReadInBetween) {
  // y feeds the norm and a skip convolution placed between the norm and its LeakyReLU: the
  // skip convolution is y's last reader, so its hook may quantize y in place before the
  // LeakyReLU's position. The norm must keep reading y where it was.
  torch::NoGradGuard noGrad;
  torch::manual_seed(14);
  torch::jit::Module m("SkipBetween");
  m.register_parameter("w1", torch::randn({6, 1, 3, 3, 3}) * 0.3, false);
  m.register_parameter("ws", torch::randn({6, 6, 1, 1, 1}) * 0.3, false);
  m.register_parameter("w2", torch::randn({6, 6, 3, 3, 3}) * 0.2, false);
  m.define(R"JIT(
    def forward(self, x):
        y = torch.conv3d(x, self.w1, None, [1, 1, 1], [1, 1, 1])
        h = torch.instance_norm(y, None, None, None, None, True, 0.1, 1e-05, False)
        s = torch.conv3d(y, self.ws)
        h = torch.leaky_relu(h, 0.01)
        return torch.conv3d(h, self.w2, None, [1, 1, 1], [1, 1, 1]) + s
  )JIT");
  m.eval();
  auto graph = std::make_shared<const quant::QuantizableGraph>(m, "SkipBetween");
  std::vector<torch::Tensor> patches;
  for (int i = 0; i < 3; ++i) patches.push_back(torch::randn({1, 1, 9, 10, 11}));
  const quant::CalibrationData cal = quant::calibrate(*graph, patches, 0, FeedbackStage(nullptr, 0, 1, ""));
  quant::QuantConfig c;
  c.precision = quant::Precision::integer(8, 4);
  c.granularity = quant::Granularity::PerTensor;
  quant::QuantizedModel folded(graph, ModelMetadata{}, c, &cal);
  quant::QuantizedModel plain(graph, ModelMetadata{}, c, &cal, /*foldActivations=*/false);
  EXPECT_EQ(folded.foldedNorms(), 0);
  const torch::Tensor a = folded.predict(patches[2]), b = plain.predict(patches[2]);
  EXPECT_TRUE(torch::equal(a, b)) << (a - b).abs().max().item<float>();
}
