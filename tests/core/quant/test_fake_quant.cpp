// Fake quantization kernels against hand-computed numbers (SPEC sections 1-2), and against
// a literal scalar transcription of the SPEC formulas on random data.
#include "support/Error.h"
#include "quant/FakeQuant.h"
#include "quant/QuantGrid.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace q = mqb::quant;

namespace {

torch::Tensor tensorOf(const std::vector<float>& values, std::vector<int64_t> shape) {
  return torch::tensor(values, torch::kFloat).reshape(shape).contiguous();
}

// Exact element-wise equality (+0 == -0), with the index of the first mismatch.
void expectValues(const torch::Tensor& actual, const std::vector<float>& expected) {
  const torch::Tensor flat = actual.contiguous().reshape({-1});
  ASSERT_EQ(flat.numel(), static_cast<int64_t>(expected.size()));
  const float* a = flat.data_ptr<float>();
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(a[i], expected[i]) << "element " << i;
}

void expectSameTensor(const torch::Tensor& actual, const torch::Tensor& expected) {
  ASSERT_EQ(actual.sizes(), expected.sizes());
  const torch::Tensor a = actual.contiguous().reshape({-1});
  const torch::Tensor e = expected.contiguous().reshape({-1});
  const float* pa = a.data_ptr<float>();
  const float* pe = e.data_ptr<float>();
  int64_t mismatches = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    const bool same = pa[i] == pe[i] || (std::isnan(pa[i]) && std::isnan(pe[i]));
    if (!same && mismatches++ < 5) ADD_FAILURE() << "element " << i << ": " << pa[i] << " != " << pe[i];
  }
  EXPECT_EQ(mismatches, 0);
}

// The SPEC formulas, transcribed literally: float32, true division, std::nearbyint, then
// clamp. Kept deliberately naive so it can serve as the reference.
float specSymmetric(float x, float amax, int bits) {
  const auto qmax = static_cast<float>((1 << (bits - 1)) - 1);
  const float s = std::max(amax, 1e-12f) / qmax;
  return s * std::clamp(std::nearbyint(x / s), -qmax, qmax);
}

float specAsymmetric(float x, float xmin, float xmax, int bits) {
  xmin = std::min(xmin, 0.0f);  // documented widening to a range containing 0
  xmax = std::max(xmax, 0.0f);
  const auto levels = static_cast<float>((1 << bits) - 1);
  const float s = std::max(xmax - xmin, 1e-12f) / levels;
  const float z = std::clamp(std::nearbyint(-xmin / s), 0.0f, levels);
  return s * (std::clamp(std::nearbyint(x / s) + z, 0.0f, levels) - z);
}

// Random data with many exact half points of the grids used below.
torch::Tensor testData(std::vector<int64_t> shape, uint32_t seed) {
  torch::manual_seed(seed);
  torch::Tensor x = torch::randn(shape) * 3.0;
  torch::Tensor halves = (torch::randint(-200, 200, shape).to(torch::kFloat) + 0.5f) * 0.0625f;
  torch::Tensor pick = torch::rand(shape) < 0.3;
  return torch::where(pick, halves, x).contiguous();
}

}  // namespace

// ---------------------------------------------------------------------------------------
// rounding and grid parameters

TEST(RoundHalfEven, MatchesNearbyintOnEveryHalfPointAndRandomValues) {
  for (int k = -70000; k <= 70000; ++k) {
    const float v = static_cast<float>(k) + 0.5f;
    ASSERT_EQ(q::roundHalfEven(v), std::nearbyint(v)) << v;
  }
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-4194304.0f, 4194304.0f);  // +-2^22
  for (int i = 0; i < 1000000; ++i) {
    const float v = dist(rng) * (i % 2 ? 1.0f : 1e-4f);
    ASSERT_EQ(q::roundHalfEven(v), std::nearbyint(v)) << v;
  }
  EXPECT_EQ(q::roundHalfEven(0.5f), 0.0f);
  EXPECT_EQ(q::roundHalfEven(1.5f), 2.0f);
  EXPECT_EQ(q::roundHalfEven(2.5f), 2.0f);
  EXPECT_EQ(q::roundHalfEven(-2.5f), -2.0f);
}

TEST(FakeQuantRounding, DividesByTheScaleInsteadOfMultiplyingByItsInverse) {
  // Near half points x / s and x * (1 / s) can round to different levels; the SPEC says
  // round(x / s). Collect such inputs for a few non-power-of-two scales and check every
  // granularity follows the division.
  std::vector<float> amaxes, xs;
  for (float amax : {12.7f, 3.0f, 0.3f, 100.0f, 7.77f}) {
    const float s = amax / 127.0f;
    const float inverse = 1.0f / s;
    for (int k = -126; k < 126; ++k) {
      const float centre = static_cast<float>((k + 0.5) * static_cast<double>(s));
      for (float x = std::nextafter(centre, -1e9f), n = 0; n < 3; ++n, x = std::nextafter(x, 1e9f)) {
        if (std::nearbyint(x / s) != std::nearbyint(x * inverse)) {
          amaxes.push_back(amax);
          xs.push_back(x);
        }
      }
    }
  }
  ASSERT_GE(xs.size(), 5u) << "no inputs where division and reciprocal multiplication differ";
  for (size_t i = 0; i < xs.size(); ++i) {
    const float expected = specSymmetric(xs[i], amaxes[i], 8);
    // per-tensor and per-channel
    EXPECT_EQ(q::fakeQuant(tensorOf({xs[i]}, {1}), q::QuantGrid::fromAmax({amaxes[i]}, 8)).item<float>(), expected);
    EXPECT_EQ(q::fakeQuant(tensorOf({xs[i], 0.0f}, {1, 2}), q::QuantGrid::fromAmax({amaxes[i], 1.0f}, 8, 1))[0][0]
                  .item<float>(),
              expected);
    // per-token (amax from the row) and per-voxel (amax from the channels)
    EXPECT_EQ(q::fakeQuantDynamic(tensorOf({amaxes[i], xs[i]}, {1, 2}), -1, 8)[0][1].item<float>(), expected);
    EXPECT_EQ(q::fakeQuantDynamic(tensorOf({amaxes[i], xs[i]}, {1, 2, 1}), 1, 8)[0][1][0].item<float>(), expected);
  }
}

TEST(QuantGrid, SymmetricAndAsymmetricParameters) {
  const q::GroupGrid s8 = q::symmetricGroup(63.5f, 8);
  EXPECT_EQ(s8.scale, 0.5f);
  EXPECT_EQ(s8.lo, -127.0f);
  EXPECT_EQ(s8.hi, 127.0f);
  EXPECT_EQ(q::symmetricGroup(-7.0f, 4).scale, 1.0f);  // amax by magnitude
  EXPECT_EQ(q::symmetricGroup(0.0f, 8).scale, 1e-12f / 127.0f);

  const q::GroupGrid a2 = q::asymmetricGroup(-1.0f, 2.0f, 2);  // s = 3/3, z = 1
  EXPECT_EQ(a2.scale, 1.0f);
  EXPECT_EQ(a2.zeroPoint, 1.0f);
  EXPECT_EQ(a2.lo, -1.0f);
  EXPECT_EQ(a2.hi, 2.0f);
  const q::GroupGrid a8 = q::asymmetricGroup(-64.0f, 191.0f, 8);  // s = 255/255, z = 64
  EXPECT_EQ(a8.scale, 1.0f);
  EXPECT_EQ(a8.zeroPoint, 64.0f);
  // An all-positive range is widened to [0, max]: z = 0 and nothing above 0 is lost.
  const q::GroupGrid pos = q::asymmetricGroup(2.0f, 7.5f, 4);
  EXPECT_EQ(pos.scale, 0.5f);
  EXPECT_EQ(pos.zeroPoint, 0.0f);
}

TEST(QuantGrid, RejectsBitWidthsOutside2To16) {
  EXPECT_THROW(q::checkBits(1), mqb::Error);
  EXPECT_THROW(q::checkBits(17), mqb::Error);
  EXPECT_NO_THROW(q::checkBits(2));
  EXPECT_NO_THROW(q::checkBits(16));
  EXPECT_THROW(q::QuantGrid::fromAmax({1.0f}, 1), mqb::Error);
  EXPECT_THROW(q::QuantGrid::fromAmax({1.0f}, 17), mqb::Error);
  EXPECT_THROW(q::QuantGrid::fromMinMax({0.0f}, {1.0f}, 17), mqb::Error);
  const torch::Tensor x = torch::ones({1, 2, 3});
  EXPECT_THROW(q::fakeQuantDynamic(x, 1, 1), mqb::Error);
  EXPECT_THROW(q::fakeQuantDynamic(x, 1, 17), mqb::Error);
  EXPECT_THROW(q::fakeQuantWeight(x, 0, 1), mqb::Error);
  EXPECT_THROW(q::fakeQuantWeight(x, 0, 17), mqb::Error);
  q::QuantGrid bad = q::QuantGrid::fromAmax({1.0f}, 8);
  bad.bits = 17;
  EXPECT_THROW(q::fakeQuant(x, bad), mqb::Error);
}

TEST(QuantGrid, JsonRoundTripAndValidation) {
  const q::QuantGrid g = q::QuantGrid::fromMinMax({-1.0f, -0.3f}, {2.0f, 5.1f}, 4, 1);
  const q::QuantGrid r = q::QuantGrid::fromJson(nlohmann::json::parse(g.toJson().dump()));
  ASSERT_EQ(r.groups.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(r.groups[i].scale, g.groups[i].scale);
    EXPECT_EQ(r.groups[i].zeroPoint, g.groups[i].zeroPoint);
    EXPECT_EQ(r.groups[i].lo, g.groups[i].lo);
    EXPECT_EQ(r.groups[i].hi, g.groups[i].hi);
  }
  nlohmann::json broken = g.toJson();
  broken["zeroPoint"][0] = 99.0;
  EXPECT_THROW(q::QuantGrid::fromJson(broken), mqb::Error);
  EXPECT_THROW(q::QuantGrid::fromJson(nlohmann::json::object()), mqb::Error);
  // Numbers outside the integer type are errors, not a wrapped (undefined) conversion.
  for (const char* field : {"bits", "axis"}) {
    nlohmann::json huge = g.toJson();
    huge[field] = 1e20;
    EXPECT_THROW(q::QuantGrid::fromJson(huge), mqb::Error) << field;
  }
}

// ---------------------------------------------------------------------------------------
// per-tensor

TEST(FakeQuantPerTensor, Symmetric8BitHandComputed) {
  // amax 127 -> s = 1: x/s is x itself, so the half points are visible directly.
  const auto x = tensorOf({0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 3.49f, 126.6f, 127.5f, 200.0f, -300.0f}, {11});
  expectValues(q::fakeQuant(x, q::QuantGrid::fromAmax({127.0f}, 8)), {0, 2, 2, 0, -2, -2, 3, 127, 127, 127, -127});
  // amax 63.5 -> s = 0.5: x/s = 0.5, 1.5, 2.5, -0.5, 0.6, 127.4, -200
  const auto y = tensorOf({0.25f, 0.75f, 1.25f, -0.25f, 0.3f, 63.7f, -100.0f}, {7});
  expectValues(q::fakeQuant(y, q::QuantGrid::fromAmax({63.5f}, 8)), {0, 1.0f, 1.0f, 0, 0.5f, 63.5f, -63.5f});
}

TEST(FakeQuantPerTensor, Symmetric4And2BitHandComputed) {
  // 4 bits: qmax 7, amax 3.5 -> s = 0.5; x/s = 0.5, 1.5, 2, 2.6, 6.8, 7.2, -10, 0.2
  const auto x = tensorOf({0.25f, 0.75f, 1.0f, 1.3f, 3.4f, 3.6f, -5.0f, 0.1f}, {2, 4});
  expectValues(q::fakeQuant(x, q::QuantGrid::fromAmax({3.5f}, 4)), {0, 1.0f, 1.0f, 1.5f, 3.5f, 3.5f, -3.5f, 0});
  // 2 bits: qmax 1, amax 2 -> s = 2: levels -2, 0, 2; x/s = 0.45, 0.5, 0.55, 1.5, -0.5, -1.45, 2.5
  const auto y = tensorOf({0.9f, 1.0f, 1.1f, 3.0f, -1.0f, -2.9f, 5.0f}, {7});
  expectValues(q::fakeQuant(y, q::QuantGrid::fromAmax({2.0f}, 2)), {0, 0, 2, 2, 0, -2, 2});
}

TEST(FakeQuantPerTensor, AsymmetricHandComputed) {
  // 2 bits: [-1, 2] -> s = 1, z = 1, levels -1, 0, 1, 2
  const auto x = tensorOf({-1.5f, -1.0f, -0.5f, 0.0f, 0.5f, 1.5f, 2.5f, 3.0f}, {8});
  expectValues(q::fakeQuant(x, q::QuantGrid::fromMinMax({-1.0f}, {2.0f}, 2)), {-1, -1, 0, 0, 0, 2, 2, 2});
  // 4 bits: [-2, 5.5] -> s = 0.5, z = 4, levels -2 .. 5.5
  const auto y = tensorOf({-2.1f, -3.0f, 5.6f, 6.0f, 0.25f, 1.25f, 0.75f}, {7});
  expectValues(q::fakeQuant(y, q::QuantGrid::fromMinMax({-2.0f}, {5.5f}, 4)),
               {-2.0f, -2.0f, 5.5f, 5.5f, 0, 1.0f, 1.0f});
  // 8 bits: [-64, 191] -> s = 1, z = 64
  const auto z = tensorOf({-64.5f, -65.0f, 190.5f, 191.5f, 0.5f, 1.5f, 2.5f}, {7});
  expectValues(q::fakeQuant(z, q::QuantGrid::fromMinMax({-64.0f}, {191.0f}, 8)), {-64, -64, 190, 191, 0, 2, 2});
  // All-positive range [2, 7.5] at 4 bits is widened to [0, 7.5]: 7.5 survives.
  const auto w = tensorOf({7.5f, 2.0f, 0.25f, 8.0f}, {4});
  expectValues(q::fakeQuant(w, q::QuantGrid::fromMinMax({2.0f}, {7.5f}, 4)), {7.5f, 2.0f, 0, 7.5f});
}

TEST(FakeQuantPerTensor, ZeroTensorGivesZerosWithoutNaN) {
  const torch::Tensor x = torch::zeros({2, 3, 4});
  const torch::Tensor y = q::fakeQuant(x, q::QuantGrid::fromAmax({0.0f}, 8));
  EXPECT_TRUE(torch::equal(y, x));
  EXPECT_TRUE(torch::equal(q::fakeQuant(x, q::QuantGrid::fromMinMax({0.0f}, {0.0f}, 4)), x));
  EXPECT_TRUE(torch::equal(q::fakeQuantDynamic(x, 1, 8), x));
  EXPECT_TRUE(torch::equal(q::fakeQuantDynamic(x, -1, 8, false), x));
  EXPECT_TRUE(torch::equal(q::fakeQuantWeight(x, 0, 4), x));
  EXPECT_TRUE(torch::equal(q::fakeQuantWeight(x, q::kPerTensor, 4, false), x));
}

TEST(FakeQuantPerTensor, MatchesSpecFormulaOnRandomData) {
  const torch::Tensor x = testData({3, 5, 7, 11}, 1);
  for (int bits : {2, 3, 4, 8, 12, 16}) {
    for (float amax : {0.5f, 3.0f, 8.0f}) {
      torch::Tensor expected = x.clone();
      for (int64_t i = 0; i < x.numel(); ++i)
        expected.data_ptr<float>()[i] = specSymmetric(x.data_ptr<float>()[i], amax, bits);
      SCOPED_TRACE("bits " + std::to_string(bits) + " amax " + std::to_string(amax));
      expectSameTensor(q::fakeQuant(x, q::QuantGrid::fromAmax({amax}, bits)), expected);
    }
    torch::Tensor expected = x.clone();
    for (int64_t i = 0; i < x.numel(); ++i)
      expected.data_ptr<float>()[i] = specAsymmetric(x.data_ptr<float>()[i], -2.0f, 7.0f, bits);
    expectSameTensor(q::fakeQuant(x, q::QuantGrid::fromMinMax({-2.0f}, {7.0f}, bits)), expected);
  }
}

TEST(FakeQuantPerTensor, NonFiniteValues) {
  const float inf = std::numeric_limits<float>::infinity();
  const auto x = tensorOf({inf, -inf, std::nanf(""), 1.0f}, {4});
  const torch::Tensor y = q::fakeQuant(x, q::QuantGrid::fromAmax({127.0f}, 8));
  EXPECT_EQ(y[0].item<float>(), 127.0f);
  EXPECT_EQ(y[1].item<float>(), -127.0f);
  EXPECT_TRUE(std::isnan(y[2].item<float>()));
  EXPECT_EQ(y[3].item<float>(), 1.0f);
}

TEST(FakeQuantLeaky, EqualsLeakyReluThenFakeQuantIncludingSpecialValues) {
  const float inf = std::numeric_limits<float>::infinity();
  torch::manual_seed(11);
  // Random values around the grid plus the special ones, per-tensor and per-channel, at a
  // bit width whose grid is fine enough to expose any difference in the activation.
  torch::Tensor x = torch::randn({1, 3, 8, 8, 8}) * 3;
  auto flat = x.view({-1});
  flat[0] = inf;
  flat[1] = -inf;
  flat[2] = std::nanf("");
  flat[3] = 0.0f;
  flat[4] = -0.0f;
  flat[5] = -1e-40f;  // denormal
  for (const double slope : {0.01, 0.2, 0.0}) {
    const torch::Tensor activated = at::leaky_relu(x, slope);
    for (const auto& grid : {q::QuantGrid::fromAmax({5.0f}, 16), q::QuantGrid::fromAmax({5.0f}, 4)}) {
      torch::Tensor out = torch::empty_like(x);
      q::fakeQuantLeakyInto(x, slope, grid, out);
      const torch::Tensor expected = q::fakeQuant(activated, grid);
      EXPECT_TRUE(torch::allclose(out, expected, 0, 0, /*equal_nan=*/true)) << "slope " << slope;
    }
    const q::QuantGrid perChannel = q::QuantGrid::fromAmax({1.0f, 4.0f, 9.0f}, 12, 1);
    torch::Tensor out = torch::empty_like(x);
    q::fakeQuantLeakyInto(x, slope, perChannel, out);
    EXPECT_TRUE(torch::allclose(out, q::fakeQuant(activated, perChannel), 0, 0, true)) << "slope " << slope;
  }
  // In place: the input is replaced by the quantized activation.
  torch::Tensor y = x.clone();
  const auto grid = q::QuantGrid::fromAmax({5.0f}, 8);
  q::fakeQuantLeakyInto(y, 0.01, grid, y);
  EXPECT_TRUE(torch::allclose(y, q::fakeQuant(at::leaky_relu(x, 0.01), grid), 0, 0, true));
}

// ---------------------------------------------------------------------------------------
// per-channel

TEST(FakeQuantPerChannel, ConvInputAxis1HandComputed) {
  // [N=1, C=2, H=2, W=2]; channel 0: amax 127 (s = 1), channel 1: amax 63.5 (s = 0.5)
  const auto x = tensorOf({0.5f, 1.5f, 2.5f, 200.0f, 0.25f, 0.75f, 1.25f, -100.0f}, {1, 2, 2, 2});
  expectValues(q::fakeQuant(x, q::QuantGrid::fromAmax({127.0f, 63.5f}, 8, 1)), {0, 2, 2, 127, 0, 1.0f, 1.0f, -63.5f});
  // 4-bit asymmetric per channel: [-1, 6.5] -> s = 0.5, z = 2; [0, 15] -> s = 1, z = 0
  const auto y = tensorOf({-1.2f, 0.25f, 7.0f, 3.3f, -1.0f, 2.5f, 14.6f, 20.0f}, {1, 2, 2, 2});
  expectValues(q::fakeQuant(y, q::QuantGrid::fromMinMax({-1.0f, 0.0f}, {6.5f, 15.0f}, 4, 1)),
               {-1.0f, 0, 6.5f, 3.5f, 0, 2, 15, 15});
}

TEST(FakeQuantPerChannel, TwoBitAndChannelsLastAxis) {
  // [T=2, C=3] per channel along the last axis (inner == 1 path), 2 bits: s = amax.
  const auto x = tensorOf({0.4f, 0.6f, -3.0f, -0.6f, 2.0f, 0.5f}, {2, 3});
  expectValues(q::fakeQuant(x, q::QuantGrid::fromAmax({1.0f, 2.0f, 1.0f}, 2, 1)), {0, 0, -1, -1, 2, 0});
}

TEST(FakeQuantPerChannel, MatchesSpecFormulaOnRandomData) {
  // Rows of 1000 (not a multiple of the kernels' task size) across 5 channels.
  const torch::Tensor x = testData({2, 5, 10, 100}, 2);
  for (int bits : {2, 4, 8, 16}) {
    const std::vector<float> amax{0.5f, 1.0f, 2.0f, 4.0f, 9.0f};
    const std::vector<float> lo{-0.5f, -1.0f, 0.0f, -4.0f, 1.0f}, hi{2.0f, 1.0f, 3.0f, -1.0f, 9.0f};
    torch::Tensor es = x.clone(), ea = x.clone();
    for (int64_t n = 0; n < 2; ++n)
      for (int64_t c = 0; c < 5; ++c)
        for (int64_t i = 0; i < 1000; ++i) {
          const int64_t at = (n * 5 + c) * 1000 + i;
          const float v = x.data_ptr<float>()[at];
          es.data_ptr<float>()[at] = specSymmetric(v, amax[c], bits);
          ea.data_ptr<float>()[at] = specAsymmetric(v, lo[c], hi[c], bits);
        }
    SCOPED_TRACE("bits " + std::to_string(bits));
    expectSameTensor(q::fakeQuant(x, q::QuantGrid::fromAmax(amax, bits, 1)), es);
    expectSameTensor(q::fakeQuant(x, q::QuantGrid::fromMinMax(lo, hi, bits, 1)), ea);
  }
}

TEST(FakeQuantPerChannel, RejectsMismatchedGrid) {
  const torch::Tensor x = torch::zeros({1, 3, 4});
  EXPECT_THROW(q::fakeQuant(x, q::QuantGrid::fromAmax({1.0f, 1.0f}, 8, 1)), mqb::Error);
  EXPECT_THROW(q::fakeQuant(x, q::QuantGrid::fromAmax({1.0f, 1.0f, 1.0f}, 8, 3)), mqb::Error);
  EXPECT_THROW(q::fakeQuant(x.to(torch::kDouble), q::QuantGrid::fromAmax({1.0f}, 8)), mqb::Error);
}

// ---------------------------------------------------------------------------------------
// weights

TEST(FakeQuantWeight, ConvTranspose3dPerOutputChannelIsAxis1) {
  // W[Ci=2, Co=3, 1, 1, 2]; per output channel = axis 1, 4 bits (qmax 7).
  //   co0 values {7, 2.5 | -3.5, 0.4}: amax 7 -> s = 1   -> {7, 2 | -4, 0}
  //   co1 values {0.25, -3.5 | 0.75, 1.3}: amax 3.5 -> s = 0.5 -> {0, -3.5 | 1, 1.5}
  //   co2 all zero -> zeros
  const auto w = tensorOf({7.0f, 2.5f, 0.25f, -3.5f, 0.0f, 0.0f,   // ci0: co0, co1, co2
                           -3.5f, 0.4f, 0.75f, 1.3f, 0.0f, 0.0f},  // ci1
                          {2, 3, 1, 1, 2});
  const q::QuantGrid g = q::weightGrid(w, 1, 4);
  ASSERT_EQ(g.groups.size(), 3u);
  EXPECT_EQ(g.groups[0].scale, 1.0f);
  EXPECT_EQ(g.groups[1].scale, 0.5f);
  EXPECT_EQ(g.groups[2].scale, 1e-12f / 7.0f);
  expectValues(q::fakeQuantWeight(w, 1, 4), {7, 2, 0, -3.5f, 0, 0, -4, 0, 1.0f, 1.5f, 0, 0});
  // Along axis 0 the groups are the input channels instead (amax 7 and 3.5).
  expectValues(q::fakeQuantWeight(w, 0, 4), {7, 2, 0, -4, 0, 0, -3.5f, 0.5f, 1.0f, 1.5f, 0, 0});
}

TEST(FakeQuantWeight, PerTensorAndAsymmetricMinMax) {
  const auto w = tensorOf({-1.0f, 2.0f, 0.5f, 1.5f}, {2, 2});
  // per tensor 2-bit symmetric: amax 2 -> s = 2: {-0.5, 1, 0.25, 0.75} -> {0, 2, 0, 2}
  expectValues(q::fakeQuantWeight(w, q::kPerTensor, 2), {0, 2, 0, 2});
  // per tensor 2-bit asymmetric: [-1, 2] -> s = 1, z = 1
  expectValues(q::fakeQuantWeight(w, q::kPerTensor, 2, false), {-1, 2, 0, 2});
  // per row (axis 0) 2-bit asymmetric: row0 [-1, 2] as above; row1 [0, 1.5] -> s = 0.5
  expectValues(q::fakeQuantWeight(w, 0, 2, false), {-1, 2, 0.5f, 1.5f});
  EXPECT_TRUE(torch::equal(w, tensorOf({-1.0f, 2.0f, 0.5f, 1.5f}, {2, 2})));  // untouched
}

TEST(FakeQuantWeight, SixteenBitErrorIsTiny) {
  torch::manual_seed(3);
  const torch::Tensor w = torch::randn({32, 16, 3, 3, 3}) * 0.05;
  const torch::Tensor wq = q::fakeQuantWeight(w, 0, 16);
  // Per element: half a grid step, plus the float32 rounding of s * q (one ulp of amax).
  const torch::Tensor amax = w.abs().amax({1, 2, 3, 4}).view({32, 1, 1, 1, 1});
  const torch::Tensor bound = amax / 32767.0 * 0.5 + amax * std::ldexp(1.0, -23);
  EXPECT_TRUE(((w - wq).abs() <= bound).all().item<bool>());
  // Relative RMS error of a uniform grid: amax / sigma / (qmax * sqrt(12)) ~ 3e-5 here,
  // a factor ~258 (= 32767 / 127) below the 8-bit error.
  const double relative16 = ((w - wq).norm() / w.norm()).item<double>();
  const double relative8 = ((w - q::fakeQuantWeight(w, 0, 8)).norm() / w.norm()).item<double>();
  EXPECT_GT(relative16, 0.0);
  EXPECT_LT(relative16, 5e-5);
  EXPECT_LT(relative16, relative8 / 150.0);
}

// ---------------------------------------------------------------------------------------
// dynamic per-voxel / per-token

namespace {

// [1, C=3, 2, 2] with the channel values of voxel v in column v.
torch::Tensor voxels(const std::vector<std::vector<float>>& perVoxel) {
  std::vector<float> data(12);
  for (size_t v = 0; v < 4; ++v)
    for (size_t c = 0; c < 3; ++c) data[c * 4 + v] = perVoxel[v][c];
  return tensorOf(data, {1, 3, 2, 2});
}

}  // namespace

TEST(FakeQuantPerVoxel, Symmetric8BitHandComputed) {
  const auto x = voxels({{127.0f, 0.5f, -2.5f},    // amax 127 -> s = 1
                         {63.5f, 0.25f, 1.25f},    // amax 63.5 -> s = 0.5
                         {0.0f, 0.0f, 0.0f},       // zeros stay zeros
                         {-254.0f, 1.0f, 3.0f}});  // amax 254 -> s = 2
  expectSameTensor(q::fakeQuantDynamic(x, 1, 8), voxels({{127, 0, -2}, {63.5f, 0, 1.0f}, {0, 0, 0}, {-254, 0, 4}}));
}

TEST(FakeQuantPerVoxel, FourAndTwoBitHandComputed) {
  const auto x = voxels({{7.0f, 2.5f, -3.5f},          // 4 bit: s = 1
                         {3.5f, 0.25f, 1.25f},         // s = 0.5: 0.5 -> 0, 2.5 -> 2
                         {-0.875f, 0.4375f, 0.0625f},  // s = 0.125: 3.5 -> 4, 0.5 -> 0
                         {14.0f, -7.0f, 1.0f}});       // s = 2: -3.5 -> -4, 0.5 -> 0
  expectSameTensor(q::fakeQuantDynamic(x, 1, 4),
                   voxels({{7, 2, -4}, {3.5f, 0, 1.0f}, {-0.875f, 0.5f, 0}, {14, -8, 0}}));
  // 2 bits: qmax 1, s = amax; levels -s, 0, s
  const auto z = voxels({{3.0f, 1.5f, -1.6f}, {1.0f, -0.5f, 0.51f}, {0, 0, 0}, {-2.0f, 2.0f, 0.9f}});
  expectSameTensor(q::fakeQuantDynamic(z, 1, 2), voxels({{3, 0, -3}, {1, 0, 1}, {0, 0, 0}, {-2, 2, 0}}));
}

TEST(FakeQuantPerVoxel, AsymmetricHandComputed) {
  // 2 bits (levels 0..3): [-1, 2] -> s = 1, z = 1; all-positive [0 (widened), 3] -> s = 1, z = 0
  const auto x = voxels({{-1.0f, 2.0f, 0.5f}, {1.0f, 3.0f, 2.5f}, {0, 0, 0}, {-3.0f, -1.5f, -0.5f}});
  // fourth voxel: [-3, 0] -> s = 1, z = 3: -1.5 -> -2, -0.5 -> 0
  expectSameTensor(q::fakeQuantDynamic(x, 1, 2, false), voxels({{-1, 2, 0}, {1, 3, 2}, {0, 0, 0}, {-3, -2, 0}}));
  // 8 bits: [-64, 191] -> s = 1, z = 64 in every voxel
  const auto y =
      voxels({{-64.0f, 191.0f, 2.5f}, {-64.0f, 191.0f, -63.5f}, {-64.0f, 191.0f, 0.5f}, {-64.0f, 191.0f, 190.5f}});
  expectSameTensor(q::fakeQuantDynamic(y, 1, 8, false),
                   voxels({{-64, 191, 2}, {-64, 191, -64}, {-64, 191, 0}, {-64, 191, 190}}));
}

TEST(FakeQuantPerToken, LastDimHandComputed) {
  // [1, T=2, C=4]: token0 amax 127 (s = 1); token1 amax 63.5 (s = 0.5)
  const auto x = tensorOf({127.0f, 0.5f, 1.5f, -2.5f, 0.25f, 63.5f, -0.75f, 1.25f}, {1, 2, 4});
  expectValues(q::fakeQuantDynamic(x, -1, 8), {127, 0, 2, -2, 0, 63.5f, -1.0f, 1.0f});
  expectValues(q::fakeQuantDynamic(x, 2, 8), {127, 0, 2, -2, 0, 63.5f, -1.0f, 1.0f});
  // 4 bits: token0 amax 7 (s = 1), token1 amax 3.5 (s = 0.5)
  const auto y = tensorOf({7.0f, 2.5f, -3.5f, 0.4f, 0.25f, 3.5f, 1.3f, -0.75f}, {2, 4});
  expectValues(q::fakeQuantDynamic(y, -1, 4), {7, 2, -4, 0, 0, 3.5f, 1.5f, -1.0f});
  // 2 bits asymmetric: [-1, 2] -> s = 1, z = 1; [0, 3] -> s = 1, z = 0
  const auto z = tensorOf({-1.0f, 2.0f, 0.5f, 1.5f, 3.0f, 2.5f, 0.5f, 1.5f}, {2, 4});
  expectValues(q::fakeQuantDynamic(z, -1, 2, false), {-1, 2, 0, 2, 3, 2, 0, 2});
}

TEST(FakeQuantDynamic, MatchesSpecFormulaOnRandomData) {
  // Per-voxel with 1300 positions (a full block of 1024 and a tail) and 2 samples, and
  // per-token rows of 37 channels (longer than the reduction lanes, with a tail).
  struct Case {
    std::vector<int64_t> shape;
    int64_t dim;
  };
  for (const Case& c : {Case{{2, 6, 13, 100}, 1}, Case{{3, 50, 37}, -1}, Case{{4, 5}, 0}}) {
    const torch::Tensor x = testData(c.shape, 4);
    const int64_t dim = c.dim < 0 ? c.dim + x.dim() : c.dim;
    const torch::Tensor amax = x.abs().amax(dim, true).expand_as(x).contiguous();
    const torch::Tensor mn = x.amin(dim, true).expand_as(x).contiguous();
    const torch::Tensor mx = x.amax(dim, true).expand_as(x).contiguous();
    for (int bits : {2, 3, 4, 8, 16}) {
      torch::Tensor es = x.clone(), ea = x.clone();
      for (int64_t i = 0; i < x.numel(); ++i) {
        const float v = x.data_ptr<float>()[i];
        es.data_ptr<float>()[i] = specSymmetric(v, amax.data_ptr<float>()[i], bits);
        ea.data_ptr<float>()[i] = specAsymmetric(v, mn.data_ptr<float>()[i], mx.data_ptr<float>()[i], bits);
      }
      SCOPED_TRACE("dim " + std::to_string(c.dim) + " bits " + std::to_string(bits));
      expectSameTensor(q::fakeQuantDynamic(x, c.dim, bits, true), es);
      expectSameTensor(q::fakeQuantDynamic(x, c.dim, bits, false), ea);
    }
  }
}

TEST(FakeQuantDynamic, NonFiniteValuesStayLocal) {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // Two positions x 4 channels. Position 0: {NaN, 1, inf, 127} -> grid from the finite
  // values (amax 127, s = 1): NaN stays, inf saturates. Position 1 is unaffected.
  const std::vector<std::vector<float>> positions{{nan, 1.0f, inf, 127.0f}, {1.0f, 1.0f, 127.0f, 0.0f}};
  for (int64_t dim : {int64_t{1}, int64_t{-1}}) {
    std::vector<float> data(8);
    for (size_t p = 0; p < 2; ++p)
      for (size_t c = 0; c < 4; ++c) data[dim == 1 ? c * 2 + p : p * 4 + c] = positions[p][c];
    const torch::Tensor x = tensorOf(data, dim == 1 ? std::vector<int64_t>{1, 4, 2} : std::vector<int64_t>{1, 2, 4});
    const torch::Tensor y = q::fakeQuantDynamic(x, dim, 8).contiguous();
    auto at = [&](size_t p, size_t c) { return y.data_ptr<float>()[dim == 1 ? c * 2 + p : p * 4 + c]; };
    SCOPED_TRACE("dim " + std::to_string(dim));
    EXPECT_TRUE(std::isnan(at(0, 0)));
    EXPECT_EQ(at(0, 1), 1.0f);
    EXPECT_EQ(at(0, 2), 127.0f);
    EXPECT_EQ(at(0, 3), 127.0f);
    EXPECT_EQ(at(1, 0), 1.0f);
    EXPECT_EQ(at(1, 1), 1.0f);
    EXPECT_EQ(at(1, 2), 127.0f);
    EXPECT_EQ(at(1, 3), 0.0f);
  }
}

// ---------------------------------------------------------------------------------------
// layouts and output variants

TEST(FakeQuantLayout, NonContiguousInputsMatchContiguousOnes) {
  const torch::Tensor base = testData({2, 8, 6, 10}, 5);
  const torch::Tensor x = base.transpose(1, 3);  // [2, 10, 6, 8], non-contiguous
  ASSERT_FALSE(x.is_contiguous());
  const torch::Tensor xc = x.contiguous();
  std::vector<float> amax(10);
  for (int i = 0; i < 10; ++i) amax[i] = 0.5f + 0.3f * static_cast<float>(i);
  const auto grid = q::QuantGrid::fromAmax(amax, 4, 1);
  const torch::Tensor y = q::fakeQuant(x, grid);
  EXPECT_TRUE(y.is_contiguous());
  expectSameTensor(y, q::fakeQuant(xc, grid));
  expectSameTensor(q::fakeQuantDynamic(x, 1, 4), q::fakeQuantDynamic(xc, 1, 4));
  expectSameTensor(q::fakeQuantDynamic(x, -1, 4, false), q::fakeQuantDynamic(xc, -1, 4, false));
  expectSameTensor(q::fakeQuantWeight(x, 1, 4), q::fakeQuantWeight(xc, 1, 4));
}

TEST(FakeQuantLayout, IntoPreallocatedAndInPlace) {
  const torch::Tensor x = testData({1, 4, 9, 9, 9}, 6);
  const auto grid = q::QuantGrid::fromAmax({1.0f, 2.0f, 3.0f, 4.0f}, 8, 1);
  const torch::Tensor expected = q::fakeQuant(x, grid);
  torch::Tensor out = torch::full_like(x, 42.0f);
  q::fakeQuantInto(x, grid, out);
  expectSameTensor(out, expected);
  torch::Tensor inPlace = x.clone();
  q::fakeQuantInto(inPlace, grid, inPlace);
  expectSameTensor(inPlace, expected);

  const torch::Tensor dynExpected = q::fakeQuantDynamic(x, 1, 4, false);
  q::fakeQuantDynamicInto(x, 1, 4, false, out);
  expectSameTensor(out, dynExpected);
  torch::Tensor dynInPlace = x.clone();
  q::fakeQuantDynamicInto(dynInPlace, 1, 4, false, dynInPlace);
  expectSameTensor(dynInPlace, dynExpected);

  EXPECT_THROW(q::fakeQuantInto(x, grid, torch::empty({1, 4, 9, 9})), mqb::Error);
  EXPECT_THROW(q::fakeQuantInto(x, grid, torch::empty_like(x, torch::kDouble)), mqb::Error);
  EXPECT_THROW(q::fakeQuantDynamicInto(x, 1, 8, true, x.transpose(2, 3)), mqb::Error);
  EXPECT_THROW(q::fakeQuantDynamic(x, 5, 8), mqb::Error);
}

TEST(FakeQuantLayout, LargeTensorUsesSameResultsInParallel) {
  // Large enough for several parallel tasks; results must not depend on the split.
  const torch::Tensor x = testData({1, 16, 40, 40, 40}, 8);
  const int saved = at::get_num_threads();
  at::set_num_threads(1);
  const torch::Tensor serialVoxel = q::fakeQuantDynamic(x, 1, 8);
  const torch::Tensor serialTensor = q::fakeQuant(x, q::QuantGrid::fromAmax({3.0f}, 8));
  at::set_num_threads(std::max(2, saved));
  expectSameTensor(q::fakeQuantDynamic(x, 1, 8), serialVoxel);
  expectSameTensor(q::fakeQuant(x, q::QuantGrid::fromAmax({3.0f}, 8)), serialTensor);
  at::set_num_threads(saved);
}
