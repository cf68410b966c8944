#pragma once
// Streaming histogram of one reduction group's FP32 values, with bounded memory, for the
// calibrators (percentile / mse / entropy) and for the analysis views (SPEC section 5).
//
// Bins are laid out by magnitude on both sides of zero: `binsPerSide` bins of width
// w = R / binsPerSide cover [0, R] for x >= 0 (including -0) and, mirrored, [-R, 0) for
// x < 0. The |x| histogram is therefore exactly positive + negative, bin by bin, and the
// signed one is the two sides side by side. R starts as the first data's max |x| and
// doubles whenever larger values arrive: doubling merges bin pairs exactly, so counts are
// never smeared between bins, and the data always spans at least half of the bins (2048
// of the default 4096 per side, the resolution TensorRT's entropy calibration uses).
// Memory is 2 * binsPerSide int64 counts (64 KiB by default), whatever the data.
// Non-finite values are counted apart and otherwise ignored.
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "quant/HistogramBins.h"

namespace mqb {
class Feedback;
}

#include <cstdint>
#include <vector>

namespace mqb::quant {

class Histogram {
 public:
  static constexpr int kDefaultBinsPerSide = 4096;

  explicit Histogram(int binsPerSide = kDefaultBinsPerSide);

  // Every value of a contiguous float32 CPU tensor; parallel. `feedback` (optional) is
  // checked about every million values: a cancelled add throws mqb::Canceled and leaves the
  // histogram as it was.
  void add(const torch::Tensor& x, const Feedback* feedback = nullptr);
  // `runs` runs of `length` contiguous values, run k starting at base + k * stride: one
  // channel of a [outer, C, inner] tensor is add(base + c * inner, outer, inner, C * inner).
  void add(const float* base, int64_t runs, int64_t length, int64_t stride, const Feedback* feedback = nullptr);

  int binsPerSide() const { return binsPerSide_; }
  double range() const { return range_; }  // R; 0 until a non-zero value arrived
  double binWidth() const { return range_ / binsPerSide_; }
  int64_t count() const { return count_; }          // finite values added
  int64_t nonFinite() const { return nonFinite_; }  // NaN and +-inf skipped
  float min() const { return min_; }                // exact finite extremes; +inf / -inf while empty
  float max() const { return max_; }
  float maxAbs() const;
  // Bin k counts values with k*w <= |x| < (k+1)*w (the last bin also holds |x| == R).
  const std::vector<int64_t>& positive() const { return positive_; }
  const std::vector<int64_t>& negative() const { return negative_; }
  std::vector<double> magnitudeCounts() const;  // positive[k] + negative[k]

  // Where the values of magnitude bin k actually lie: the bin clipped to [0, maxAbs],
  // so the bin holding the maximum does not pretend to reach past it.
  void magnitudeExtent(int k, double& lo, double& hi) const;
  // Same for the signed bins, clipped to [min, max]; side is +1 (positive) or -1.
  void signedExtent(int side, int k, double& lo, double& hi) const;

  // The signed histogram at native resolution, from the lowest to the highest non-empty
  // bin (edges exact multiples of w). A histogram whose values are all zero is one bin
  // [0, 0]; an empty one has no bins.
  HistogramBins bins() const;
  // `binCount` equal bins over [lo, hi], values assumed uniform within each native bin
  // (over its extent); values outside [lo, hi] are left out (see fractionOutside).
  HistogramBins resampled(int binCount, double lo, double hi) const;
  // Fraction of the finite values below lo or above hi (the clipped fraction of a clip
  // range), interpolated within bins like resampled(). 0 for an empty histogram.
  double fractionOutside(double lo, double hi) const;

  // Counts are stored without trailing empty bins; min/max are null while empty.
  nlohmann::json toJson() const;
  static Histogram fromJson(const nlohmann::json& j);

 private:
  // The range growTo(maxAbs) would give, without changing anything.
  double rangeFor(double maxAbs) const;
  void growTo(double maxAbs);
  void binRun(const float* data, int64_t n, double range, int64_t* counts, int64_t& nonFinite) const;
  void mergeCounts(const std::vector<int64_t>& counts);

  int binsPerSide_;
  double range_ = 0.0;
  int64_t count_ = 0;
  int64_t nonFinite_ = 0;
  float min_;
  float max_;
  std::vector<int64_t> positive_;
  std::vector<int64_t> negative_;
};

}  // namespace mqb::quant
