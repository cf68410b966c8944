// GPTQ (SPEC section 10) against its definition: a naive column loop that inverts the
// remaining sub-Hessian at every step (no Cholesky, no blocks), the grid it must stay on,
// the output error it must lower on inputs it did not see, and the input columns
// (im2col, transposed im2col, tokens) whose Hessian it uses, checked against torch's ops.
#include "quant/ContractionColumns.h"
#include "quant/FakeQuant.h"
#include "quant/Gptq.h"
#include "quant/QuantGrid.h"
#include "support/Error.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

using namespace mqb;
using namespace mqb::quant;

namespace {

// SPEC section 1, literally: float32, true division, std::nearbyint, then clamp.
float specQuantize(float x, float s, int bits) {
  const auto qmax = static_cast<float>((1 << (bits - 1)) - 1);
  return s * std::clamp(std::nearbyint(x / s), -qmax, qmax);
}

struct NaiveResult {
  std::vector<std::vector<float>> weight;  // [rows][cols]
};

// The paper's math with no algebraic shortcut: after the dead-column rule, the optional
// descending-diag order and the dampening, column j is quantized and its error is spread
// over the remaining columns F = {j, ..., n-1} with the inverse of the sub-Hessian H[F, F],
// recomputed from scratch at each step: w_F -= (w_j - q_j) / Hinv_F[0,0] * Hinv_F[0, :].
NaiveResult naiveGptq(const torch::Tensor& weight, const torch::Tensor& hessian, const std::vector<float>& rowScale,
                      int bits, double dampening, bool actOrder) {
  const int64_t rows = weight.size(0), cols = weight.size(1);
  torch::Tensor h = hessian.to(torch::kDouble).clone();
  auto hv = h.accessor<double, 2>();
  const torch::Tensor weightCopy = weight.contiguous();
  const auto wv = weightCopy.accessor<float, 2>();
  std::vector<std::vector<double>> w(rows, std::vector<double>(cols));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) w[r][c] = wv[r][c];
  for (int64_t c = 0; c < cols; ++c)
    if (hv[c][c] == 0.0) {
      hv[c][c] = 1.0;
      for (int64_t r = 0; r < rows; ++r) w[r][c] = 0.0;
    }
  std::vector<int64_t> order(cols);
  std::iota(order.begin(), order.end(), 0);
  if (actOrder)
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return hv[a][a] > hv[b][b]; });
  double meanDiag = 0.0;
  for (int64_t c = 0; c < cols; ++c) meanDiag += hv[c][c] / cols;
  for (int64_t c = 0; c < cols; ++c) hv[c][c] += dampening * meanDiag;

  NaiveResult out;
  out.weight.assign(rows, std::vector<float>(cols));
  for (int64_t step = 0; step < cols; ++step) {
    const std::vector<int64_t> remaining(order.begin() + step, order.end());
    const torch::Tensor index = torch::tensor(remaining, torch::kLong);
    const torch::Tensor hinv = torch::linalg_inv(h.index_select(0, index).index_select(1, index)).contiguous();
    const auto iv = hinv.accessor<double, 2>();
    const int64_t j = remaining[0];
    for (int64_t r = 0; r < rows; ++r) {
      const float q = specQuantize(static_cast<float>(w[r][j]), rowScale[rowScale.size() == 1 ? 0 : r], bits);
      out.weight[r][j] = q;
      const double err = (w[r][j] - q) / iv[0][0];
      for (size_t f = 1; f < remaining.size(); ++f) w[r][remaining[f]] -= err * iv[0][f];
    }
  }
  return out;
}

std::vector<float> scalesOf(const QuantGrid& grid) {
  std::vector<float> s;
  for (const GroupGrid& g : grid.groups) s.push_back(g.scale);
  return s;
}

// X = A Z + noise: strongly correlated columns, the case where GPTQ's error feedback matters.
torch::Tensor correlatedColumns(int64_t cols, int64_t latent, int64_t n) {
  const torch::Tensor a = torch::randn({cols, latent}, torch::kDouble);
  return a.mm(torch::randn({latent, n}, torch::kDouble)) + 0.1 * torch::randn({cols, n}, torch::kDouble);
}

// On the grid means w_hat = s * l exactly (the float32 product fakeQuantValue forms) for an
// integer l with |l| <= qmax. Dividing back by s in float32 can miss l by one ulp (3 * s / s
// may give 3.0000002), so the quotient is checked in float64 against the level instead.
void expectOnGrid(const torch::Tensor& weight, const std::vector<float>& rowScale, int bits,
                  const torch::Tensor& levels = {}) {
  const auto qmax = static_cast<double>(symmetricQmax(bits));
  const torch::Tensor w = weight.contiguous();
  const int64_t rows = w.size(0), cols = w.size(1);
  int64_t bad = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      const float s = rowScale[rowScale.size() == 1 ? 0 : r];
      const float value = w[r][c].item<float>();
      const double level = std::nearbyint(static_cast<double>(value) / s);
      const bool ok = std::fabs(static_cast<double>(value) / s - level) <= 1e-6 * std::max(1.0, std::fabs(level)) &&
                      std::fabs(level) <= qmax && s * static_cast<float>(level) == value &&
                      (!levels.defined() || levels[r][c].item<int32_t>() == level);
      if (!ok && bad++ < 5) ADD_FAILURE() << "row " << r << " col " << c << ": w/s = " << value / s;
    }
  EXPECT_EQ(bad, 0);
}

struct Case {
  bool perChannel;
  bool actOrder;
  int64_t blockSize;
};

TEST(Gptq, EqualsNaiveColumnLoop) {
  torch::manual_seed(7);
  const int64_t rows = 6, cols = 10;
  const int bits = 3;
  const torch::Tensor x = correlatedColumns(cols, 3, 200);
  torch::Tensor h = 2.0 * x.mm(x.t()) / 200.0;
  const torch::Tensor weight = torch::randn({rows, cols});
  for (const Case& c : {Case{false, false, 4}, Case{true, false, 4}, Case{false, true, 4}, Case{true, true, 4},
                        Case{true, false, 1}, Case{true, true, 128}}) {
    SCOPED_TRACE(std::string(c.perChannel ? "per-channel" : "per-tensor") + (c.actOrder ? ", act order" : "") +
                 ", block " + std::to_string(c.blockSize));
    const QuantGrid grid = weightGrid(weight, c.perChannel ? 0 : kPerTensor, bits);
    const std::vector<float> scales = scalesOf(grid);
    GptqOptions options;
    options.blockSize = c.blockSize;
    options.actOrder = c.actOrder;
    const GptqResult result = gptqQuantize(weight, h, torch::tensor(scales), bits, options);
    const NaiveResult naive = naiveGptq(weight, h, scales, bits, options.dampening, c.actOrder);
    int64_t differentLevels = 0;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t k = 0; k < cols; ++k) {
        const float s = scales[scales.size() == 1 ? 0 : r];
        const float expected = naive.weight[r][k];
        EXPECT_EQ(result.levels[r][k].item<int32_t>(), static_cast<int32_t>(std::nearbyint(expected / s)))
            << "row " << r << " col " << k;
        EXPECT_NEAR(result.weight[r][k].item<float>(), expected, 1e-6f * s);
        differentLevels += result.weight[r][k].item<float>() != specQuantize(weight[r][k].item<float>(), s, bits);
      }
    // The feedback must have changed some roundings, or this compared round-to-nearest twice.
    EXPECT_GT(differentLevels, 0);
    expectOnGrid(result.weight, scales, bits, result.levels);
    EXPECT_EQ(result.dampening, options.dampening);
  }
}

TEST(Gptq, DeadColumnsAreZeroAndStillMatchTheNaiveLoop) {
  torch::manual_seed(11);
  const int64_t rows = 4, cols = 8;
  const int bits = 4;
  torch::Tensor x = correlatedColumns(cols, 4, 100);
  x[2].zero_();
  x[5].zero_();
  const torch::Tensor h = 2.0 * x.mm(x.t()) / 100.0;
  const torch::Tensor weight = torch::randn({rows, cols});
  const std::vector<float> scales = scalesOf(weightGrid(weight, 0, bits));
  for (bool actOrder : {false, true}) {
    GptqOptions options;
    options.blockSize = 3;
    options.actOrder = actOrder;
    const GptqResult result = gptqQuantize(weight, h, torch::tensor(scales), bits, options);
    const NaiveResult naive = naiveGptq(weight, h, scales, bits, options.dampening, actOrder);
    for (int64_t r = 0; r < rows; ++r) {
      EXPECT_EQ(result.weight[r][2].item<float>(), 0.0f);
      EXPECT_EQ(result.weight[r][5].item<float>(), 0.0f);
      for (int64_t k = 0; k < cols; ++k) EXPECT_NEAR(result.weight[r][k].item<float>(), naive.weight[r][k], 1e-6f);
    }
  }
}

// Wide enough that the blocked triangular inverse recurses and several lazy blocks of the
// default size pass.
TEST(Gptq, EqualsNaiveColumnLoopOnAWideMatrix) {
  torch::manual_seed(13);
  const int64_t rows = 3, cols = 160;
  const int bits = 4;
  const torch::Tensor x = correlatedColumns(cols, 20, 400);
  const torch::Tensor h = 2.0 * x.mm(x.t()) / 400.0;
  const torch::Tensor weight = torch::randn({rows, cols});
  const std::vector<float> scales = scalesOf(weightGrid(weight, 0, bits));
  for (bool actOrder : {false, true}) {
    GptqOptions options;
    options.actOrder = actOrder;
    const GptqResult result = gptqQuantize(weight, h, torch::tensor(scales), bits, options);
    const NaiveResult naive = naiveGptq(weight, h, scales, bits, options.dampening, actOrder);
    int64_t mismatches = 0;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t k = 0; k < cols; ++k)
        if (std::fabs(result.weight[r][k].item<float>() - naive.weight[r][k]) > 1e-6f * scales[r] && mismatches++ < 5)
          ADD_FAILURE() << "row " << r << " col " << k << ": " << result.weight[r][k].item<float>() << " vs "
                        << naive.weight[r][k];
    EXPECT_EQ(mismatches, 0) << (actOrder ? "act order" : "column order");
  }
}

TEST(Gptq, OutputIsAlwaysOnTheGrid) {
  torch::manual_seed(3);
  for (int bits : {2, 4, 8}) {
    const torch::Tensor x = correlatedColumns(40, 5, 300);
    const torch::Tensor h = 2.0 * x.mm(x.t()) / 300.0;
    // Heavy-tailed weights push the propagated values beyond the clamp bounds.
    const torch::Tensor weight = torch::randn({12, 40}) * torch::rand({12, 40}).pow(-1.5).clamp_max(50.0);
    for (int64_t axis : {kPerTensor, int64_t{0}}) {
      const std::vector<float> scales = scalesOf(weightGrid(weight, axis, bits));
      GptqOptions options;
      options.blockSize = 16;
      options.actOrder = axis == 0;
      const GptqResult result = gptqQuantize(weight, h, torch::tensor(scales), bits, options);
      EXPECT_EQ(result.weight.scalar_type(), torch::kFloat);
      expectOnGrid(result.weight, scales, bits, result.levels);
    }
  }
}

// Held-out inputs from the calibration distribution: channel mixing of a few smooth latent
// fields, so the im2col columns are correlated across channels and kernel offsets alike.
struct InputSource {
  torch::Tensor mixing;  // [channels, latent]
  torch::Tensor draw(int64_t batch) const {
    torch::Tensor z = torch::randn({batch, mixing.size(1), 10, 10, 10});
    z = torch::avg_pool3d(z, 3, 1, 1);
    torch::Tensor x = torch::einsum("cl,nldhw->ncdhw", {mixing, z});
    return x + 0.05 * torch::randn(x.sizes());
  }
};

TEST(Gptq, LowersConv3dOutputErrorOnHeldOutInputs) {
  torch::manual_seed(5);
  const int bits = 4;
  const InputSource source{torch::randn({6, 3})};
  const torch::Tensor weight = torch::randn({8, 6, 3, 3, 3}) * 0.2;
  const Contraction op = Contraction::convolution({1}, {1});
  at::Generator generator = at::detail::createCPUGenerator(42);
  HessianAccumulator accumulator(6 * 27);
  for (int i = 0; i < 4; ++i) {
    const ContractionColumns columns = contractionColumns(source.draw(1), weight, op, 400, generator);
    ASSERT_EQ(columns.groups.size(), 1u);
    EXPECT_EQ(columns.positions.numel(), 400);
    accumulator.add(columns.groups[0]);
  }
  EXPECT_EQ(accumulator.samples(), 1600);
  const torch::Tensor heldOut = source.draw(3);
  const torch::Tensor reference = torch::conv3d(heldOut, weight, {}, 1, 1);
  auto outputError = [&](const torch::Tensor& w) {
    return (torch::conv3d(heldOut, w, {}, 1, 1) - reference).pow(2).sum().item<double>();
  };
  for (int64_t axis : {kPerTensor, int64_t{0}}) {
    SCOPED_TRACE(axis == kPerTensor ? "per-tensor" : "per-channel");
    const QuantGrid grid = weightGrid(weight, axis, bits);
    const GptqResult gptq = gptqQuantizeWeight(weight, op, {accumulator.hessian()}, grid, {});
    ASSERT_EQ(gptq.weight.sizes(), weight.sizes());
    const double rtnError = outputError(fakeQuantWeight(weight, axis, bits));
    const double gptqError = outputError(gptq.weight);
    RecordProperty("error_ratio_" + std::string(axis == kPerTensor ? "tensor" : "channel"),
                   std::to_string(gptqError / rtnError));
    EXPECT_LT(gptqError, 0.5 * rtnError) << "GPTQ " << gptqError << " vs round-to-nearest " << rtnError;
    expectOnGrid(toRows(gptq.weight, op), scalesOf(grid), bits, toRows(gptq.levels, op));
  }
}

// W_rows . columns must reproduce the op's own output at the sampled positions: that pins
// the column layout, the zero rule for padding / missed offsets, and toRows together.
void expectColumnsGiveOutput(const torch::Tensor& x, const torch::Tensor& weight, const Contraction& op,
                             const torch::Tensor& output, int64_t maxPositions) {
  at::Generator generator = at::detail::createCPUGenerator(9);
  const ContractionColumns columns = contractionColumns(x, weight, op, maxPositions, generator);
  const int64_t outChannels = op.kind == ContractionKind::Linear ? output.size(-1) : output.size(1);
  const torch::Tensor flat = op.kind == ContractionKind::Linear ? output.reshape({-1, outChannels}).t()
                                                                : output.transpose(0, 1).reshape({outChannels, -1});
  EXPECT_EQ(columns.totalPositions, flat.size(1));
  EXPECT_EQ(columns.positions.numel(), std::min(maxPositions, flat.size(1)));
  const torch::Tensor expected = flat.index_select(1, columns.positions);
  const torch::Tensor rows = toRows(weight, op);
  ASSERT_EQ(static_cast<int64_t>(columns.groups.size()), op.groups);
  const int64_t perGroup = rows.size(0) / op.groups;
  for (int64_t g = 0; g < op.groups; ++g) {
    const torch::Tensor actual = rows.narrow(0, g * perGroup, perGroup).mm(columns.groups[g]);
    EXPECT_TRUE(torch::allclose(actual, expected.narrow(0, g * perGroup, perGroup), 1e-4, 1e-4))
        << "group " << g << ", max difference "
        << (actual - expected.narrow(0, g * perGroup, perGroup)).abs().max().item<float>();
  }
  EXPECT_TRUE(torch::equal(fromRows(rows, weight.sizes(), op), weight));
}

TEST(ContractionColumns, Conv3dColumnsReproduceTheOutput) {
  torch::manual_seed(1);
  const torch::Tensor x = torch::randn({2, 3, 7, 8, 6});
  const torch::Tensor w = torch::randn({4, 3, 3, 3, 3});
  const Contraction op = Contraction::convolution({2}, {1});
  const torch::Tensor y = torch::conv3d(x, w, {}, 2, 1);
  expectColumnsGiveOutput(x, w, op, y, 1000);  // every position
  expectColumnsGiveOutput(x, w, op, y, 17);    // a sample
}

TEST(ContractionColumns, GroupedDilatedAnisotropicConv3d) {
  torch::manual_seed(2);
  const torch::Tensor x = torch::randn({1, 4, 9, 7, 8});
  const torch::Tensor w = torch::randn({6, 2, 3, 2, 3});
  const Contraction op = Contraction::convolution({1, 2, 1}, {2, 0, 1}, {2, 1, 1}, 2);
  const torch::Tensor y = torch::conv3d(x, w, {}, {1, 2, 1}, {2, 0, 1}, {2, 1, 1}, 2);
  expectColumnsGiveOutput(x, w, op, y, 50);
}

TEST(ContractionColumns, TransposedConv3dKernelEqualsStride) {
  torch::manual_seed(3);
  const torch::Tensor x = torch::randn({2, 4, 3, 4, 5});
  const torch::Tensor w = torch::randn({4, 5, 2, 2, 2});
  const Contraction op = Contraction::transposedConvolution({2}, {0});
  const torch::Tensor y = torch::conv_transpose3d(x, w, {}, 2, 0);
  expectColumnsGiveOutput(x, w, op, y, 100000);
  // Each output voxel is reached by exactly one kernel offset.
  at::Generator generator = at::detail::createCPUGenerator(1);
  const torch::Tensor columns = contractionColumns(x, w, op, 100000, generator).groups[0].reshape({4, 8, -1});
  EXPECT_TRUE(torch::equal(columns.ne(0).any(0).sum(0), torch::ones({columns.size(2)}, torch::kLong)));
}

TEST(ContractionColumns, TransposedConv3dKernel3Stride2Padding1) {
  torch::manual_seed(4);
  const torch::Tensor x = torch::randn({1, 3, 4, 5, 3});
  const torch::Tensor w = torch::randn({3, 4, 3, 3, 3});
  expectColumnsGiveOutput(x, w, Contraction::transposedConvolution({2}, {1}), torch::conv_transpose3d(x, w, {}, 2, 1),
                          60);
  expectColumnsGiveOutput(x, w, Contraction::transposedConvolution({2}, {1}, {1}),
                          torch::conv_transpose3d(x, w, {}, 2, 1, 1), 100000);
}

TEST(ContractionColumns, GroupedTransposedConv3d) {
  torch::manual_seed(6);
  const torch::Tensor x = torch::randn({1, 4, 3, 3, 4});
  const torch::Tensor w = torch::randn({4, 3, 3, 3, 3});
  const Contraction op = Contraction::transposedConvolution({2}, {1}, {0}, 2);
  expectColumnsGiveOutput(x, w, op, torch::conv_transpose3d(x, w, {}, 2, 1, 0, 2), 80);
}

TEST(ContractionColumns, Conv2dAndLinear) {
  torch::manual_seed(8);
  const torch::Tensor x2 = torch::randn({2, 3, 9, 7});
  const torch::Tensor w2 = torch::randn({5, 3, 3, 3});
  expectColumnsGiveOutput(x2, w2, Contraction::convolution({2}, {1}), torch::conv2d(x2, w2, {}, 2, 1), 30);
  const torch::Tensor xl = torch::randn({2, 5, 7});
  const torch::Tensor wl = torch::randn({3, 7});
  expectColumnsGiveOutput(xl, wl, Contraction::linear(), torch::linear(xl, wl), 6);
}

TEST(ContractionColumns, SamplingFollowsTheSeed) {
  const torch::Tensor x = torch::randn({1, 2, 8, 8, 8});
  const torch::Tensor w = torch::randn({3, 2, 3, 3, 3});
  const Contraction op = Contraction::convolution({1}, {1});
  at::Generator a = at::detail::createCPUGenerator(123);
  at::Generator b = at::detail::createCPUGenerator(123);
  const ContractionColumns first = contractionColumns(x, w, op, 64, a);
  EXPECT_TRUE(torch::equal(first.positions, contractionColumns(x, w, op, 64, b).positions));
  EXPECT_FALSE(torch::equal(first.positions, contractionColumns(x, w, op, 64, a).positions));
  // Without replacement, and ascending.
  EXPECT_TRUE(first.positions.narrow(0, 1, 63).gt(first.positions.narrow(0, 0, 63)).all().item<bool>());
}

TEST(ContractionColumns, RejectsShapesThatDoNotFit) {
  at::Generator generator = at::detail::createCPUGenerator(0);
  const torch::Tensor w = torch::randn({4, 3, 3, 3, 3});
  EXPECT_THROW(contractionColumns(torch::randn({1, 5, 6, 6, 6}), w, Contraction::convolution({1}, {1}), 10, generator),
               Error);
  EXPECT_THROW(contractionColumns(torch::randn({1, 3, 2, 2, 2}), w, Contraction::convolution({1}, {0}), 10, generator),
               Error);
  EXPECT_THROW(contractionColumns(torch::randn({1, 3, 6, 6, 6}), w, Contraction::convolution({1, 1}, {1}), 10,
                                  generator),
               Error);
  EXPECT_THROW(contractionColumns(torch::randn({2, 6}), torch::randn({3, 7}), Contraction::linear(), 10, generator),
               Error);
}

TEST(HessianAccumulator, TwoBatchesEqualOneShot) {
  torch::manual_seed(12);
  const torch::Tensor a = torch::randn({7, 30});
  const torch::Tensor b = torch::randn({7, 45});
  HessianAccumulator accumulator(7);
  accumulator.add(a);
  accumulator.add(b);
  const torch::Tensor x = torch::cat({a, b}, 1).to(torch::kDouble);
  const torch::Tensor expected = 2.0 * x.mm(x.t()) / 75.0;
  EXPECT_EQ(accumulator.samples(), 75);
  EXPECT_EQ(accumulator.hessian().scalar_type(), torch::kDouble);
  EXPECT_TRUE(torch::allclose(accumulator.hessian(), expected, 1e-12, 1e-12));
}

TEST(HessianAccumulator, SkipsNonFiniteSamplesAndNeedsOne) {
  HessianAccumulator accumulator(3);
  EXPECT_THROW(accumulator.hessian(), Error);
  torch::Tensor x = torch::ones({3, 4});
  x[1][2] = std::numeric_limits<float>::quiet_NaN();
  accumulator.add(x);
  EXPECT_EQ(accumulator.samples(), 3);
  EXPECT_EQ(accumulator.skipped(), 1);
  EXPECT_TRUE(torch::allclose(accumulator.hessian(), torch::full({3, 3}, 2.0, torch::kDouble)));
  EXPECT_THROW(accumulator.add(torch::ones({4, 2})), Error);
}

TEST(Gptq, RaisesDampeningOnlyWhenItMustAndNamesTheFailure) {
  const torch::Tensor weight = torch::tensor({{0.3f, -0.7f}, {0.1f, 0.5f}});
  const torch::Tensor scale = torch::tensor({0.1f});
  // Eigenvalues -2 and 4: positive definite only once 10 x mean(diag) = 10 is added.
  const torch::Tensor indefinite = torch::tensor({{1.0, 3.0}, {3.0, 1.0}}, torch::kDouble);
  const GptqResult raised = gptqQuantize(weight, indefinite, scale, 4);
  EXPECT_NEAR(raised.dampening, 10.0, 1e-9);
  expectOnGrid(raised.weight, {0.1f}, 4, raised.levels);
  const torch::Tensor hopeless = torch::tensor({{1.0, 20.0}, {20.0, 1.0}}, torch::kDouble);
  try {
    gptqQuantize(weight, hopeless, scale, 4);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not positive definite"), std::string::npos) << e.what();
  }
  EXPECT_THROW(gptqQuantize(weight, torch::eye(3, torch::kDouble), scale, 4), Error);
  EXPECT_THROW(gptqQuantize(weight, torch::eye(2, torch::kDouble), torch::tensor({0.1f, 0.1f, 0.1f}), 4), Error);
  EXPECT_THROW(gptqQuantize(weight, torch::eye(2, torch::kDouble), scale, 1), Error);
  EXPECT_THROW(gptqQuantize(weight, -torch::eye(2, torch::kDouble), scale, 4), Error);
  GptqOptions zeroBlock;
  zeroBlock.blockSize = 0;
  EXPECT_THROW(gptqQuantize(weight, torch::eye(2, torch::kDouble), scale, 4, zeroBlock), Error);
}

}  // namespace
