// Calibrators (SPEC section 3) and the histogram behind them, on distributions whose
// answer is known: exact min/max, percentiles of 0..9999, the MSE optimum of uniform vs
// heavy-tailed data, TensorRT-style entropy thresholds on Gaussian data, JSON round trips.
#include "support/Error.h"
#include "support/Feedback.h"
#include "quant/Calibrator.h"
#include "quant/ClipSearch.h"
#include "quant/FakeQuant.h"
#include "quant/Histogram.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>
#include <thread>
#include <vector>

namespace q = mqb::quant;

namespace {

const q::CalibrationMethod kMinMax{q::CalibrationKind::MinMax};
const q::CalibrationMethod kMse{q::CalibrationKind::Mse};
const q::CalibrationMethod kEntropy{q::CalibrationKind::Entropy};
q::CalibrationMethod percentile(double p) { return {q::CalibrationKind::Percentile, p}; }

torch::Tensor integers(int64_t from, int64_t to) {  // [from, to) as float, shuffled
  torch::manual_seed(11);
  const torch::Tensor v = torch::arange(from, to, torch::kFloat);
  return v.index_select(0, torch::randperm(v.numel()));
}

torch::Tensor laplace(int64_t n, uint64_t seed) {
  torch::manual_seed(seed);
  const torch::Tensor u = torch::rand({n}) - 0.5;
  return -torch::sign(u) * torch::log1p(-2.0 * u.abs());  // Laplace(0, b = 1)
}

double trueMse(const torch::Tensor& x, float amax, int bits) {
  return (x - q::fakeQuant(x, q::QuantGrid::fromAmax({amax}, bits))).pow(2).mean().item<double>();
}

}  // namespace

// ---------------------------------------------------------------------------------------
// minmax

TEST(CalibratorMinMax, ExactRunningExtremesPerTensor) {
  q::Calibrator c;
  c.observe(torch::tensor({1.0f, 2.0f, 3.0f}));
  c.observe(torch::tensor({-5.0f, 0.5f}).reshape({1, 2}));  // shapes may vary per batch
  EXPECT_EQ(c.batches(), 2);
  EXPECT_EQ(c.groups(), 1);
  EXPECT_EQ(c.amax(kMinMax, 8), std::vector<float>{5.0f});
  const auto r = c.ranges(kMinMax, 8);
  EXPECT_EQ(r[0].min, -5.0f);
  EXPECT_EQ(r[0].max, 3.0f);
  const q::QuantGrid g = c.grid(kMinMax, 8);
  EXPECT_EQ(g.axis, q::kPerTensor);
  EXPECT_EQ(g.groups[0].scale, 5.0f / 127.0f);
  const q::QuantGrid ga = c.grid(kMinMax, 8, false);
  EXPECT_EQ(ga.groups[0].scale, 8.0f / 255.0f);
}

TEST(CalibratorMinMax, ExactPerChannelAlongAxis1) {
  q::Calibrator c({/*axis=*/1});
  torch::manual_seed(2);
  const torch::Tensor a = torch::randn({2, 3, 4, 5});
  const torch::Tensor b = torch::randn({1, 3, 7, 2}) * 4;
  c.observe(a);
  c.observe(b);
  ASSERT_EQ(c.groups(), 3);
  const torch::Tensor both = torch::cat({a.transpose(0, 1).reshape({3, -1}), b.transpose(0, 1).reshape({3, -1})}, 1);
  const auto amax = c.amax(kMinMax, 4);
  const auto ranges = c.ranges(kMinMax, 4);
  for (int64_t ch = 0; ch < 3; ++ch) {
    EXPECT_EQ(amax[ch], both[ch].abs().max().item<float>());
    EXPECT_EQ(ranges[ch].min, both[ch].min().item<float>());
    EXPECT_EQ(ranges[ch].max, both[ch].max().item<float>());
  }
  EXPECT_EQ(c.grid(kMinMax, 4).axis, 1);
  EXPECT_EQ(c.grid(kMinMax, 4).groups.size(), 3u);
  // The whole-tensor histogram is kept for the analysis views at every granularity.
  EXPECT_EQ(c.tensorHistogram().count(), a.numel() + b.numel());
}

TEST(CalibratorMinMax, NonFiniteValuesAreSkippedAndCounted) {
  const float inf = std::numeric_limits<float>::infinity();
  q::Calibrator c({1});
  c.observe(torch::tensor({1.0f, std::nanf(""), -2.0f, inf, -inf, 0.5f}).reshape({1, 2, 3}));
  const auto r = c.ranges(kMinMax, 8);
  EXPECT_EQ(r[0].min, -2.0f);  // channel 0: {1, NaN, -2}
  EXPECT_EQ(r[0].max, 1.0f);
  EXPECT_EQ(r[1].min, 0.5f);  // channel 1: {inf, -inf, 0.5}
  EXPECT_EQ(r[1].max, 0.5f);
  EXPECT_EQ(c.tensorHistogram().nonFinite(), 3);
  EXPECT_EQ(c.tensorHistogram().count(), 3);
  EXPECT_EQ(c.groupHistogram(1).count(), 1);
}

TEST(Calibrator, ErrorsAreReported) {
  q::Calibrator c({1});
  EXPECT_THROW(c.amax(kMinMax, 8), mqb::Error);  // no data yet
  c.observe(torch::zeros({1, 3, 2}));
  EXPECT_THROW(c.observe(torch::zeros({1, 4, 2})), mqb::Error);  // channel count changed
  EXPECT_THROW(c.amax(kMinMax, 1), mqb::Error);
  EXPECT_THROW(c.amax(kMse, 17), mqb::Error);
  EXPECT_THROW(c.observe(torch::zeros({1, 3, 2}, torch::kDouble)), mqb::Error);
  EXPECT_THROW(c.groupHistogram(3), mqb::Error);

  q::CalibratorOptions lean;
  lean.axis = 1;
  lean.channelHistograms = false;
  q::Calibrator noHist(lean);
  noHist.observe(torch::ones({1, 3, 2}));
  EXPECT_NO_THROW(noHist.amax(kMinMax, 8));
  EXPECT_THROW(noHist.amax(percentile(99.0), 8), mqb::Error);
  EXPECT_THROW(noHist.groupHistogram(0), mqb::Error);
  EXPECT_EQ(noHist.tensorHistogram().count(), 6);

  EXPECT_THROW(q::Calibrator({5}).observe(torch::zeros({2, 2})), mqb::Error);  // axis out of range
}

TEST(CalibrationMethod, ParseAndPrint) {
  EXPECT_EQ(q::CalibrationMethod::parse("minmax").kind, q::CalibrationKind::MinMax);
  EXPECT_EQ(q::CalibrationMethod::parse("MSE").kind, q::CalibrationKind::Mse);
  EXPECT_EQ(q::CalibrationMethod::parse("entropy").kind, q::CalibrationKind::Entropy);
  const auto p = q::CalibrationMethod::parse("percentile");
  EXPECT_EQ(p.kind, q::CalibrationKind::Percentile);
  EXPECT_EQ(p.percentile, 99.99);
  EXPECT_EQ(p.toString(), "percentile:99.99");
  EXPECT_EQ(q::CalibrationMethod::parse("percentile:99.9").percentile, 99.9);
  EXPECT_EQ(q::CalibrationMethod::parse(percentile(99.999).toString()).percentile, 99.999);
  for (const char* bad : {"", "max", "percentile:", "percentile:abc", "percentile:0", "percentile:101", "kl"})
    EXPECT_THROW(q::CalibrationMethod::parse(bad), mqb::Error) << bad;
}

// ---------------------------------------------------------------------------------------
// percentile

TEST(CalibratorPercentile, UniformIntegers) {
  q::Calibrator c;
  c.observe(integers(0, 10000));
  // p99.99 of 0..9999 lies between the two largest values; the histogram interpolates
  // within bins of width 9999/4096, so allow one bin.
  const float p9999 = c.amax(percentile(99.99), 8)[0];
  EXPECT_NEAR(p9999, 9999.0f, 2.5f);
  EXPECT_LE(p9999, 9999.0f);
  EXPECT_NEAR(c.amax(percentile(50.0), 8)[0], 5000.0f, 2.5f);
  EXPECT_NEAR(c.amax(percentile(90.0), 8)[0], 9000.0f, 2.5f);
  EXPECT_EQ(c.amax(percentile(100.0), 8)[0], 9999.0f);
}

TEST(CalibratorPercentile, SurvivesRangeGrowthAcrossBatches) {
  // The first batch sets the range to 4999; the second forces two doublings (merges).
  q::Calibrator c;
  c.observe(integers(0, 5000));
  c.observe(integers(5000, 10000));
  const q::Histogram& h = c.tensorHistogram();
  EXPECT_EQ(h.count(), 10000);
  EXPECT_EQ(h.range(), 4999.0 * 4.0);
  EXPECT_EQ(h.max(), 9999.0f);
  EXPECT_NEAR(c.amax(percentile(99.99), 8)[0], 9999.0f, 5.0f);  // bins are now 4.9 wide
  EXPECT_NEAR(c.amax(percentile(50.0), 8)[0], 5000.0f, 5.0f);
}

TEST(CalibratorPercentile, AsymmetricUsesBothTails) {
  q::Calibrator c;
  c.observe(integers(-5000, 5000));
  const auto r = c.ranges(percentile(99.9), 8)[0];
  // 0.1% of 10000 values = 10 values beyond each end.
  EXPECT_NEAR(r.min, -4990.0f, 3.0f);
  EXPECT_NEAR(r.max, 4989.0f, 3.0f);
  const auto full = c.ranges(percentile(100.0), 8)[0];
  EXPECT_EQ(full.min, -5000.0f);
  EXPECT_EQ(full.max, 4999.0f);
}

TEST(CalibratorPercentile, PerChannelGroupsAreIndependent) {
  q::Calibrator c({0});
  c.observe(torch::stack({integers(0, 10000), integers(0, 10000) * 0.01}));
  const auto amax = c.amax(percentile(50.0), 8);
  EXPECT_NEAR(amax[0], 5000.0f, 2.5f);
  EXPECT_NEAR(amax[1], 50.0f, 0.03f);
}

// ---------------------------------------------------------------------------------------
// mse

TEST(CalibratorMse, HeavyTailedLaplaceAt4BitsClipsWellBelowMax) {
  const torch::Tensor x = laplace(1 << 20, 5);
  q::Calibrator c;
  c.observe(x);
  const float maxAbs = c.amax(kMinMax, 4)[0];
  const float amax = c.amax(kMse, 4)[0];
  // max |x| of 2^20 Laplace(1) samples is ~14; the MSE-optimal 4-bit clip is ~5 b (ACIQ,
  // Banner et al.), so anything in [3, 7.5] is right and far below the maximum.
  EXPECT_GT(maxAbs, 10.0f);
  EXPECT_GT(amax, 3.0f);
  EXPECT_LT(amax, 7.5f);
  // And the choice really is better on the data itself, not just on the histogram.
  EXPECT_LT(trueMse(x, amax, 4), 0.5 * trueMse(x, maxAbs, 4));
  // The histogram estimate agrees with the true error of the chosen grid.
  const double estimated = q::squaredError(c.tensorHistogram(), q::symmetricGroup(amax, 4)) / x.numel();
  EXPECT_NEAR(estimated, trueMse(x, amax, 4), 0.02 * trueMse(x, amax, 4));
}

TEST(CalibratorMse, UniformAt8BitsKeepsTheMaximum) {
  torch::manual_seed(6);
  const torch::Tensor x = torch::rand({1 << 20}) * 2 - 1;
  q::Calibrator c;
  c.observe(x);
  const float maxAbs = c.amax(kMinMax, 8)[0];
  const float amax = c.amax(kMse, 8)[0];
  // Clipping a uniform distribution costs more than the finer step saves: the optimum is
  // within one grid ratio (0.7 / 99) of 1.
  EXPECT_GE(amax, 0.99f * maxAbs);
  EXPECT_LE(amax, maxAbs);
}

TEST(CalibratorMse, AsymmetricReLUOutput) {
  // Post-ReLU Laplace: the range starts at 0 and the top is clipped at 4 bits.
  const torch::Tensor x = laplace(1 << 19, 7).clamp_min(0.0);
  q::Calibrator c;
  c.observe(x);
  const auto r = c.ranges(kMse, 4)[0];
  EXPECT_EQ(r.min, 0.0f);
  EXPECT_LT(r.max, 0.8f * x.max().item<float>());
  EXPECT_GT(r.max, 2.0f);
}

TEST(SquaredError, ExactForKnownCases) {
  // 100000 values uniform on [0, 1) quantized at 8 bits with amax 1: error variance s^2/12.
  q::Histogram h(1024);
  const torch::Tensor u = (torch::arange(0, 100000, torch::kFloat) + 0.5) / 100000.0;
  h.add(u);
  const q::GroupGrid g = q::symmetricGroup(1.0f, 8);
  const double perValue = q::squaredError(h, g) / h.count();
  EXPECT_NEAR(perValue, g.scale * g.scale / 12.0, 0.01 * g.scale * g.scale / 12.0);
  // 16 bits: the grid step is far below the bin width and the estimate stays exact.
  const q::GroupGrid g16 = q::symmetricGroup(1.0f, 16);
  EXPECT_NEAR(q::squaredError(h, g16) / h.count(), g16.scale * g16.scale / 12.0, 0.01 * g16.scale * g16.scale / 12.0);
}

// ---------------------------------------------------------------------------------------
// entropy

TEST(CalibratorEntropy, GaussianAt8BitsClipsBetween3And5Sigma) {
  torch::manual_seed(9);
  const torch::Tensor x = torch::randn({1 << 21}) * 2.0;  // sigma = 2
  q::Calibrator c;
  c.observe(x);
  const float maxAbs = c.amax(kMinMax, 8)[0];
  const float amax = c.amax(kEntropy, 8)[0];
  // The KL threshold lies between 3 and 5 sigma and below max |x| (~4.9 sigma for 2^21
  // samples). At 8 bits it is close to the maximum (4.73 sigma here; a literal
  // transcription of pytorch-quantization's algorithm gives the same on these bins).
  EXPECT_GT(amax, 3.0f * 2.0f);
  EXPECT_LT(amax, 5.0f * 2.0f);
  EXPECT_LT(amax, maxAbs);
  // Fewer levels make the KL search clip harder.
  EXPECT_LT(c.amax(kEntropy, 4)[0], amax);
}

TEST(CalibratorEntropy, SixteenBitsKeepsTheMaximum) {
  torch::manual_seed(10);
  q::Calibrator c;
  c.observe(torch::randn({1 << 16}));
  // With 32768 levels every candidate histogram is reproduced exactly except for the
  // folded outliers, so only the full range has zero divergence.
  EXPECT_EQ(c.amax(kEntropy, 16)[0], c.amax(kMinMax, 16)[0]);
}

namespace {

// NVIDIA pytorch-quantization's _compute_amax_entropy, transcribed loop for loop (scipy's
// entropy gives inf where Q is 0 and P is not). Without empty bins Q needs no smoothing,
// so the production code must pick exactly the same threshold.
int literalPytorchQuantization(std::vector<double> bins, int bits) {
  bins[0] = bins[1];
  const int n = static_cast<int>(bins.size());
  const int levels = 1 << (bits - 1);
  double best = std::numeric_limits<double>::infinity();
  int argument = n;
  for (int i = 128; i <= n; ++i) {
    std::vector<double> counts(levels, 0.0), members(levels, 0.0), q(i, 0.0);
    std::vector<double> p(bins.begin(), bins.begin() + i);
    for (int k = 0; k < i; ++k) {
      if (bins[k] == 0.0) continue;
      const int level = static_cast<int>(static_cast<int64_t>(k) * levels / i);
      counts[level] += bins[k];
      members[level] += 1.0;
    }
    for (int k = 0; k < i; ++k) {
      if (bins[k] == 0.0) continue;
      const int level = static_cast<int>(static_cast<int64_t>(k) * levels / i);
      q[k] = counts[level] / members[level];
    }
    for (int k = i; k < n; ++k) p[i - 1] += bins[k];
    double ps = 0.0, qs = 0.0;
    for (int k = 0; k < i; ++k) {
      ps += p[k];
      qs += q[k];
    }
    double kl = 0.0;
    for (int k = 0; k < i; ++k) {
      if (p[k] == 0.0) continue;
      if (q[k] == 0.0) {
        kl = std::numeric_limits<double>::infinity();
        break;
      }
      kl += p[k] / ps * std::log((p[k] / ps) / (q[k] / qs));
    }
    if (kl <= best) {
      best = kl;
      argument = i;
    }
  }
  return argument;
}

}  // namespace

TEST(EntropyThreshold, MatchesPytorchQuantizationWithoutEmptyBins) {
  torch::manual_seed(14);
  for (int trial = 0; trial < 4; ++trial) {
    // Gaussian-like |x| counts plus noise, every bin populated.
    std::vector<double> bins(2048);
    const torch::Tensor noise = torch::randint(1, 50, {2048});
    for (int k = 0; k < 2048; ++k)
      bins[k] = std::floor(1e6 * std::exp(-0.5 * std::pow(k / (300.0 + 150.0 * trial), 2))) +
                static_cast<double>(noise[k].item<int64_t>());
    for (int bits : {4, 6, 8}) {
      SCOPED_TRACE("trial " + std::to_string(trial) + " bits " + std::to_string(bits));
      EXPECT_EQ(q::entropyThresholdBin(bins, bits), literalPytorchQuantization(bins, bits));
    }
  }
}

TEST(EntropyThreshold, HandMadeHistograms) {
  // Data that already fits 128 levels: the threshold is the top of the data (bin 128),
  // where P and Q coincide; wider thresholds only merge bins and smooth empty ones.
  std::vector<double> flat(2048, 0.0);
  for (int k = 0; k < 128; ++k) flat[k] = 100.0;
  EXPECT_EQ(q::entropyThresholdBin(flat, 8), 128);
  flat.resize(128);
  EXPECT_EQ(q::entropyThresholdBin(flat, 8), 128);
  // A bulk in the first 400 bins and a single far outlier: the threshold clips the outlier.
  std::vector<double> tail(2048, 0.0);
  for (int k = 0; k < 400; ++k) tail[k] = 1000.0 * std::exp(-k / 80.0);
  tail[2047] = 1.0;
  const int bin = q::entropyThresholdBin(tail, 8);
  EXPECT_GE(bin, 128);
  EXPECT_LT(bin, 2047);
  // Fewer bins than the first candidate: nothing to search.
  EXPECT_EQ(q::entropyThresholdBin(std::vector<double>(100, 1.0), 8), 100);
}

// ---------------------------------------------------------------------------------------
// histogram export

TEST(Histogram, ExportAndClippedFraction) {
  q::Calibrator c;
  c.observe(integers(-2000, 8000));
  const q::Histogram& h = c.tensorHistogram();
  const q::HistogramBins native = h.bins();
  ASSERT_EQ(native.edges.size(), native.counts.size() + 1);
  EXPECT_GE(native.counts.size(), 256u);
  double total = 0.0;
  for (double v : native.counts) total += v;
  EXPECT_EQ(total, 10000.0);
  EXPECT_LE(native.edges.front(), -2000.0);
  EXPECT_GE(native.edges.back(), 7999.0);
  EXPECT_LT(native.edges.front(), 0.0);  // signed, not |x|

  const q::HistogramBins plot = h.resampled(256, h.min(), h.max());
  ASSERT_EQ(plot.counts.size(), 256u);
  EXPECT_EQ(plot.edges.front(), -2000.0);
  EXPECT_EQ(plot.edges.back(), 7999.0);
  total = 0.0;
  for (double v : plot.counts) total += v;
  EXPECT_NEAR(total, 10000.0, 1e-6);
  for (double v : plot.counts) EXPECT_NEAR(v, 10000.0 / 256.0, 3.0);  // flat

  // -2000..-1001 are the 1000 values below -1000.5; 7000..7999 the 1000 above 6999.5.
  EXPECT_NEAR(h.fractionOutside(-1000.5, 6999.5), 0.2, 0.001);
  EXPECT_EQ(h.fractionOutside(-2000.0, 7999.0), 0.0);
  EXPECT_NEAR(h.fractionOutside(0.0, 1e9), 0.2, 0.001);
  EXPECT_THROW(h.fractionOutside(1.0, -1.0), mqb::Error);
}

TEST(Histogram, MemoryIsBoundedAndCountsSurviveGrowth) {
  q::Histogram h(64);
  torch::manual_seed(12);
  for (int i = 0; i < 20; ++i) h.add(torch::randn({1000}) * std::pow(3.0, i));
  EXPECT_EQ(h.positive().size(), 64u);
  EXPECT_EQ(h.negative().size(), 64u);
  int64_t total = 0;
  for (size_t k = 0; k < 64; ++k) total += h.positive()[k] + h.negative()[k];
  EXPECT_EQ(total, 20000);
  EXPECT_EQ(h.count(), 20000);
  EXPECT_GE(h.range(), h.maxAbs());
  EXPECT_LT(h.range(), 2.0 * h.maxAbs());  // data spans at least half the bins
}

TEST(Histogram, AllZerosAndEmpty) {
  q::Histogram empty;
  EXPECT_TRUE(empty.bins().counts.empty());
  EXPECT_EQ(empty.fractionOutside(-1, 1), 0.0);
  EXPECT_EQ(q::percentileAmax(empty, 99.0), 0.0f);

  q::Calibrator c;
  c.observe(torch::zeros({100}));
  for (const auto& m : {kMinMax, percentile(99.99), kMse, kEntropy}) EXPECT_EQ(c.amax(m, 8)[0], 0.0f) << m.toString();
  const q::HistogramBins b = c.tensorHistogram().bins();
  ASSERT_EQ(b.counts.size(), 1u);
  EXPECT_EQ(b.counts[0], 100.0);
  // The grid falls back to the 1e-12 floor and quantizes zeros to zeros.
  EXPECT_TRUE(torch::equal(q::fakeQuant(torch::zeros({100}), c.grid(kMse, 8)), torch::zeros({100})));
}

// ---------------------------------------------------------------------------------------
// persistence

TEST(CalibratorJson, RoundTripReproducesEveryResult) {
  torch::manual_seed(13);
  for (int64_t axis : {q::kPerTensor, int64_t{1}}) {
    q::Calibrator c({axis});
    for (int i = 0; i < 3; ++i) c.observe(torch::randn({2, 4, 6, 6, 6}) * (1.0 + i) + 0.3 * i);
    const std::string text = c.toJson().dump();
    const q::Calibrator r = q::Calibrator::fromJson(nlohmann::json::parse(text));
    EXPECT_EQ(r.batches(), 3);
    EXPECT_EQ(r.groups(), c.groups());
    for (const auto& m : {kMinMax, percentile(99.99), percentile(99.0), kMse, kEntropy}) {
      for (int bits : {4, 8}) {
        SCOPED_TRACE("axis " + std::to_string(axis) + " " + m.toString() + " bits " + std::to_string(bits));
        EXPECT_EQ(r.amax(m, bits), c.amax(m, bits));
        const auto a = r.ranges(m, bits), b = c.ranges(m, bits);
        for (size_t g = 0; g < a.size(); ++g) {
          EXPECT_EQ(a[g].min, b[g].min);
          EXPECT_EQ(a[g].max, b[g].max);
        }
      }
    }
    EXPECT_EQ(r.tensorHistogram().bins().counts, c.tensorHistogram().bins().counts);
    EXPECT_EQ(r.toJson(), c.toJson());
    // A reloaded calibration keeps accumulating like the original.
    q::Calibrator more = q::Calibrator::fromJson(c.toJson());
    more.observe(torch::randn({1, 4, 3, 3, 3}) * 10);
    EXPECT_EQ(more.batches(), 4);
  }
}

TEST(CalibratorJson, RejectsDamagedState) {
  q::Calibrator c({1});
  c.observe(torch::randn({1, 2, 8}));
  nlohmann::json j = c.toJson();
  j["groupHistograms"][0]["count"] = 12345;
  EXPECT_THROW(q::Calibrator::fromJson(j), mqb::Error);
  j = c.toJson();
  j["format"] = "something else";
  EXPECT_THROW(q::Calibrator::fromJson(j), mqb::Error);
  j = c.toJson();
  j.erase("min");
  EXPECT_THROW(q::Calibrator::fromJson(j), mqb::Error);
  j = c.toJson();
  j["max"].push_back(1.0);
  EXPECT_THROW(q::Calibrator::fromJson(j), mqb::Error);
}

// ---------------------------------------------------------------------------------------
// cancellation (issue 13: Cancel / Ctrl-C within 2 s, also inside calibration)

namespace {

using Clock = std::chrono::steady_clock;

// Cancels `feedback` from another thread `after` the start, remembering when.
class DelayedCancel {
 public:
  DelayedCancel(mqb::Feedback& feedback, std::chrono::milliseconds after)
      : thread_([&feedback, after, this] {
          std::this_thread::sleep_for(after);
          at_ = Clock::now();
          feedback.cancel();
        }) {}
  ~DelayedCancel() {
    if (thread_.joinable()) thread_.join();
  }
  // Seconds from the cancel to now (call after the canceled job has thrown).
  double secondsSinceCancel() {
    if (thread_.joinable()) thread_.join();
    return std::chrono::duration<double>(Clock::now() - at_).count();
  }

 private:
  Clock::time_point at_;
  std::thread thread_;
};

}  // namespace

// Observing one large batch takes a good part of a second; a cancel arriving during one
// stops it within milliseconds and leaves the statistics of the batches before it intact.
TEST(CalibratorCancel, ObserveStopsMidBatchAndKeepsTheEarlierBatches) {
  torch::manual_seed(21);
  const torch::Tensor batch = torch::randn({1, 64, 64, 64, 64});  // 16 M values
  q::Calibrator perChannel({1});
  q::Calibrator perTensor;
  // One whole batch before the cancel can arrive: the interrupted one must leave it intact.
  perTensor.observe(batch);
  perChannel.observe(batch);
  mqb::Feedback feedback;
  DelayedCancel canceler(feedback, std::chrono::milliseconds(300));
  nlohmann::json channelsBefore, tensorBefore;
  int observed = 1;
  bool canceled = false;
  for (int i = 0; i < 200 && !canceled; ++i) {
    channelsBefore = perChannel.toJson();
    tensorBefore = perTensor.toJson();
    try {
      perTensor.observe(batch * (1.0 + i), &feedback);
      perChannel.observe(batch * (1.0 + i), &feedback);
      ++observed;
    } catch (const mqb::Canceled&) {
      canceled = true;
    }
  }
  ASSERT_TRUE(canceled) << "200 batches observed without noticing the cancel";
  const double latency = canceler.secondsSinceCancel();
  std::printf("observe: stopped %.4f s after the cancel, after %d whole batches\n", latency, observed);
  EXPECT_LT(latency, 0.3);
  // The interrupted batch left no trace: a later calibration can still be saved and used.
  EXPECT_EQ(perChannel.toJson(), channelsBefore);
  // The per-tensor calibrator observes first: the cancel hit it or the per-channel one.
  if (perTensor.batches() == observed)
    EXPECT_EQ(perTensor.toJson(), tensorBefore);
  else
    EXPECT_EQ(perTensor.batches(), observed + 1);
  EXPECT_EQ(perChannel.batches(), observed);
}

// The entropy search costs milliseconds per channel: over thousands of channels (a whole
// model's static per-channel grid) it is checked before every channel.
TEST(CalibratorCancel, ClipSearchOverManyChannelsStopsPromptly) {
  torch::manual_seed(22);
  q::CalibratorOptions options;
  options.axis = 1;
  options.binsPerSide = 512;
  q::Calibrator c(options);
  c.observe(torch::randn({1, 4096, 32}) * torch::rand({1, 4096, 1}) * 10);
  // Without a cancel the search takes seconds: time 64 channels' worth to be sure the
  // cancel below really lands in the middle of it.
  q::Calibrator small(options);
  small.observe(torch::randn({1, 64, 32}));
  const auto t0 = Clock::now();
  small.amax(kEntropy, 8);
  const double perChannel = std::chrono::duration<double>(Clock::now() - t0).count() / 64;
  ASSERT_GT(perChannel * 4096, 0.5) << "the search became too fast for this test's premise";

  for (bool symmetric : {true, false}) {
    mqb::Feedback feedback;
    std::optional<q::QuantGrid> grid;
    DelayedCancel canceler(feedback, std::chrono::milliseconds(100));
    EXPECT_THROW(grid = c.grid(kEntropy, 8, symmetric, &feedback), mqb::Canceled);
    const double latency = canceler.secondsSinceCancel();
    std::printf("entropy search over 4096 channels (%.1f s uncancelled): stopped %.4f s after the cancel\n",
                perChannel * 4096, latency);
    EXPECT_LT(latency, 0.3);
    EXPECT_FALSE(grid.has_value());
  }
}

// Calibration files are user input: hostile numbers give an error, not an undefined
// conversion (UBSan float-cast-overflow) or a signed overflow that could wrap onto "count".
TEST(CalibratorJson, RejectsNumbersOutsideTheirIntegerType) {
  q::Calibrator c({q::kPerTensor});
  c.observe(torch::randn({1, 2, 8}));
  auto reason = [](const nlohmann::json& j) -> std::string {
    try {
      q::Calibrator::fromJson(j);
    } catch (const mqb::Error& e) {
      return e.what();
    }
    return "accepted";
  };
  nlohmann::json j = c.toJson();
  j["binsPerSide"] = 1e20;
  EXPECT_NE(reason(j).find("\"binsPerSide\" must be an integer"), std::string::npos) << reason(j);
  j = c.toJson();
  j["tensorHistogram"]["binsPerSide"] = 1e20;
  EXPECT_NE(reason(j).find("\"binsPerSide\" must be an integer"), std::string::npos) << reason(j);
  j = c.toJson();
  j["tensorHistogram"]["positive"][0] = 1e30;
  EXPECT_NE(reason(j).find("\"positive[0]\" must be an integer"), std::string::npos) << reason(j);
  // 2 x (2^63 - 1) + 3 wraps to 1 in 64 bits.
  j = c.toJson();
  const int64_t big = std::numeric_limits<int64_t>::max();
  j["tensorHistogram"]["positive"] = {big, big, 3};
  j["tensorHistogram"]["negative"] = nlohmann::json::array();
  j["tensorHistogram"]["count"] = 1;
  EXPECT_NE(reason(j).find("do not add up"), std::string::npos) << reason(j);
}
