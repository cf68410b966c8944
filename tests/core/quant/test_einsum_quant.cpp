// einsum with two operands is quantized exactly like the matmul it stands for (SPEC
// section 4): activation x activation per token / per column over the contracted indices,
// activation x constant as a weight with one scale per free index of the weight.
#include <gtest/gtest.h>

#include <torch/script.h>

#include "support/Error.h"
#include "quant/CalibrationData.h"
#include "quant/EinsumContraction.h"
#include "quant/QuantizedModel.h"

using namespace mqb;
using namespace mqb::quant;

namespace {

torch::jit::Module moduleWith(const std::string& name, const std::string& body,
                              const std::map<std::string, torch::Tensor>& parameters = {}) {
  torch::jit::Module m(name);
  for (const auto& [n, t] : parameters) m.register_parameter(n, t, false);
  m.define("def forward(self, x):\n    return " + body + "\n");
  return m;
}

QuantConfig configFor(const std::string& precision, Granularity g) {
  QuantConfig c;
  c.precision = Precision::parse(precision);
  c.granularity = g;
  return c;
}

// Runs `inputs` through the quantized model of `m` (calibrated on the same inputs).
std::vector<torch::Tensor> runQuantized(const torch::jit::Module& m, const std::vector<torch::Tensor>& inputs,
                                        const QuantConfig& config, std::vector<torch::Tensor>* weights = nullptr) {
  auto graph = std::make_shared<QuantizableGraph>(m, "test");
  const CalibrationData cal = calibrate(*graph, inputs, 0, FeedbackStage(nullptr, 0, 1, ""));
  QuantizedModel q(graph, ModelMetadata{}, config, &cal);
  std::vector<torch::Tensor> out;
  for (const auto& x : inputs) out.push_back(q.predict(x));
  if (weights)
    for (const auto& op : graph->ops()) weights->push_back(q.quantizedWeight(op.index));
  return out;
}

struct Formulation {
  const char* what;
  std::string einsum;  // body with torch.einsum
  std::string matmul;  // the same contraction written with matmul
  std::vector<int64_t> inputShape;
};

// The contractions of the attention blocks of the paper's architectures, each with a
// matmul formulation that quantizes the same groups.
const std::vector<Formulation>& formulations() {
  static const std::vector<Formulation> f = {
      {"MONAI SABlock q.k^T",
       "torch.einsum('blxd,blyd->blxy', x[0], x[1])",
       "torch.matmul(x[0], x[1].transpose(-1, -2))",
       {2, 2, 3, 7, 16}},
      {"MONAI SABlock att.v", "torch.einsum('bhxy,bhyd->bhxd', x[0], x[1])", "torch.matmul(x[0], x[1])", {2, 2, 3, 16, 16}},
      {"MedFormer map attention (contracted index first)",
       "torch.einsum('bhji,bhjd->bhid', x[0], x[1])",
       "torch.matmul(x[0].transpose(-1, -2), x[1])",
       {2, 2, 3, 16, 16}},
      {"two contracted indices",
       "torch.einsum('bcij,bcjk->bik', x[0], x[1])",
       "torch.matmul(x[0].permute(0, 2, 1, 3).reshape(2, 8, 24), x[1].reshape(2, 24, 8))",
       {2, 2, 3, 8, 8}},
      {"ellipsis",
       "torch.einsum('...id,...jd->...ij', x[0], x[1])",
       "torch.matmul(x[0], x[1].transpose(-1, -2))",
       {2, 2, 3, 7, 16}},
  };
  return f;
}

}  // namespace

TEST(EinsumEquation, ContractedAndFreeDimsPerOperand) {
  std::string why;
  auto e = EinsumEquation::parse("bhid,bhjd->bhij", why);
  ASSERT_TRUE(e) << why;
  EXPECT_EQ(e->contractedDims(0), std::vector<int64_t>{3});
  EXPECT_EQ(e->contractedDims(1), std::vector<int64_t>{3});
  EXPECT_EQ(e->freeDims(1), (std::vector<int64_t>{0, 1, 2}));
  e = EinsumEquation::parse("bhji, bhjd -> bhid", why);  // spaces as LibTorch allows
  ASSERT_TRUE(e) << why;
  EXPECT_EQ(e->contractedDims(0), std::vector<int64_t>{2});
  e = EinsumEquation::parse("...id,...jd->...ij", why);
  ASSERT_TRUE(e) << why;
  EXPECT_EQ(e->contractedDims(0), std::vector<int64_t>{-1});
  EXPECT_EQ(e->freeDims(1), std::vector<int64_t>{-2});
  e = EinsumEquation::parse("ij,jk", why);  // implicit output "ik"
  ASSERT_TRUE(e) << why;
  EXPECT_EQ(e->contractedDims(0), std::vector<int64_t>{1});
  EXPECT_EQ(e->contractedDims(1), std::vector<int64_t>{0});
  e = EinsumEquation::parse("bcij,bcjk->bik", why);
  ASSERT_TRUE(e) << why;
  EXPECT_EQ(e->contractedDims(0), (std::vector<int64_t>{1, 3}));

  EXPECT_FALSE(EinsumEquation::parse("ij,jk,kl->il", why));
  EXPECT_EQ(why, "einsum with 3 operands");
  EXPECT_FALSE(EinsumEquation::parse("ii,ij->j", why));
  EXPECT_NE(why.find("repeated"), std::string::npos);
  EXPECT_FALSE(EinsumEquation::parse("bi,bj->bj", why));
  EXPECT_NE(why.find("operand 2 has no contracted index"), std::string::npos) << why;
  EXPECT_TRUE(EinsumEquation::isPlainProduct("bi,bj->bij"));
  EXPECT_TRUE(EinsumEquation::isPlainProduct("bij,bij->bij"));
  EXPECT_FALSE(EinsumEquation::isPlainProduct("bij,bjk->bik"));
}

TEST(EinsumEquation, MacsAreOutputTimesSummedSizes) {
  EXPECT_EQ(einsumMacs("bhid,bhjd->bhij", {{2, 3, 7, 16}, {2, 3, 5, 16}}), 2 * 3 * 7 * 5 * 16);
  EXPECT_EQ(einsumMacs("ij,jk,kl->il", {{2, 3}, {3, 4}, {4, 5}}), 2 * 3 * 4 * 5);
  EXPECT_EQ(einsumMacs("...d,...d->...", {{4, 6, 8}, {6, 8}}), 4 * 6 * 8);
}

TEST(EinsumQuantization, TwoActivationsAreFoundAsOneMatmulLikeOp) {
  const auto& f = formulations()[0];
  QuantizableGraph g(moduleWith("E", f.einsum), "einsum");
  ASSERT_EQ(g.ops().size(), 1u);
  const QuantOp& op = g.ops()[0];
  EXPECT_EQ(op.kind, OpKind::ActivationMatmul);
  EXPECT_EQ(opLabel(op), "einsum");
  EXPECT_EQ(op.name, "einsum");
  EXPECT_EQ(op.activationSlots, 2);
  EXPECT_EQ(op.einsumEquation, "blxd,blyd->blxy");
  EXPECT_TRUE(g.unsupported().empty());
}

TEST(EinsumQuantization, BitIdenticalToTheMatmulFormulation) {
  for (const auto& f : formulations()) {
    torch::manual_seed(11);
    std::vector<torch::Tensor> inputs;
    for (int i = 0; i < 3; ++i) inputs.push_back(torch::randn(f.inputShape) * (1.0 + i));
    auto einsum = moduleWith("E", f.einsum), matmul = moduleWith("M", f.matmul);
    for (const char* precision : {"W8A8", "W4A4"})
      for (Granularity g : {Granularity::PerChannel, Granularity::PerTensor}) {
        const QuantConfig c = configFor(precision, g);
        const auto a = runQuantized(einsum, inputs, c), b = runQuantized(matmul, inputs, c);
        for (size_t i = 0; i < inputs.size(); ++i) {
          const torch::Tensor ref = b[i].reshape(a[i].sizes());
          EXPECT_TRUE(torch::equal(a[i], ref)) << f.what << " " << precision << " " << granularityId(g) << " input "
                                               << i << ": max difference " << (a[i] - ref).abs().max().item<float>();
        }
        // And it is really quantized: the FP32 contraction differs.
        const torch::Tensor fp = einsum.forward({inputs[0]}).toTensor();
        EXPECT_FALSE(torch::equal(a[0], fp)) << f.what << " " << precision;
      }
  }
}

TEST(EinsumQuantization, ConstantOperandIsAWeightPerOutputIndex) {
  torch::manual_seed(5);
  const torch::Tensor w = torch::randn({3, 4, 16});  // [h, o, c]: free h and o, contracted c
  std::vector<torch::Tensor> inputs;
  for (int i = 0; i < 2; ++i) inputs.push_back(torch::randn({2, 5, 16}));
  auto einsum = moduleWith("E", "torch.einsum('bnc,hoc->bnho', x, self.w)", {{"w", w}});
  auto linear = moduleWith("L", "torch.linear(x, self.w.reshape(12, 16)).reshape(2, 5, 3, 4)", {{"w", w}});
  QuantizableGraph g(einsum, "einsum-weight");
  ASSERT_EQ(g.ops().size(), 1u);
  EXPECT_EQ(g.ops()[0].kind, OpKind::Linear);
  EXPECT_EQ(g.ops()[0].weightFreeDims, (std::vector<int64_t>{0, 1}));
  for (const char* precision : {"W8A8", "W4A4"})
    for (Granularity gr : {Granularity::PerChannel, Granularity::PerTensor}) {
      std::vector<torch::Tensor> we, wl;
      const auto a = runQuantized(einsum, inputs, configFor(precision, gr), &we);
      const auto b = runQuantized(linear, inputs, configFor(precision, gr), &wl);
      ASSERT_TRUE(we[0].defined() && wl[0].defined());
      // Per output channel (h, o) == per row of the [h*o, c] linear weight, bit for bit.
      EXPECT_TRUE(torch::equal(we[0].reshape({12, 16}), wl[0])) << precision << " " << granularityId(gr);
      EXPECT_FALSE(torch::equal(we[0], w));
      for (size_t i = 0; i < inputs.size(); ++i)
        EXPECT_TRUE(torch::allclose(a[i], b[i], 1e-5, 1e-5)) << precision << " " << granularityId(gr);
    }
}

TEST(EinsumQuantization, ActivationProductsCanBeSwitchedOff) {
  const auto& f = formulations()[1];
  torch::manual_seed(2);
  const std::vector<torch::Tensor> inputs{torch::randn(f.inputShape)};
  QuantConfig c = configFor("W4A4", Granularity::PerChannel);
  c.quantizeActivationMatmul = false;
  auto einsum = moduleWith("E", f.einsum);
  EXPECT_TRUE(torch::equal(runQuantized(einsum, inputs, c)[0], einsum.forward({inputs[0]}).toTensor()));
}
