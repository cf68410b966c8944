#include "quant/Histogram.h"

#include "support/Error.h"
#include "support/Feedback.h"
#include "support/JsonField.h"
#include "quant/QuantGrid.h"
#include "quant/ReductionGroups.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>
#include <mutex>
#include <string>

namespace mqb::quant {

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
// A private histogram per task costs 2 * binsPerSide counters to clear and merge, so a
// task must stream many more values than that.
constexpr int64_t kGrain = int64_t{1} << 20;
// Values binned between two looks at the Feedback: about a millisecond of work.
constexpr int64_t kCancelStride = int64_t{1} << 20;

}  // namespace

Histogram::Histogram(int binsPerSide) : binsPerSide_(binsPerSide), min_(kInf), max_(-kInf) {
  // Doubling the range merges bin pairs, which needs an even count.
  if (binsPerSide < 2 || binsPerSide % 2 != 0 || binsPerSide > (1 << 24))
    throw Error("histogram: bins per side must be even and between 2 and 2^24, got " + std::to_string(binsPerSide));
  positive_.assign(static_cast<size_t>(binsPerSide), 0);
  negative_.assign(static_cast<size_t>(binsPerSide), 0);
}

float Histogram::maxAbs() const {
  if (count_ == 0) return 0.0f;
  return std::max(std::fabs(min_), std::fabs(max_));
}

double Histogram::rangeFor(double maxAbs) const {
  if (maxAbs <= range_) return range_;
  if (range_ == 0.0) return maxAbs;
  double r = range_;
  while (r < maxAbs) r *= 2.0;
  return r;
}

void Histogram::growTo(double maxAbs) {
  if (maxAbs <= range_) return;
  if (range_ == 0.0) {
    // Everything so far was exactly zero, which is bin 0 at any range.
    range_ = maxAbs;
    return;
  }
  const size_t half = positive_.size() / 2;
  while (range_ < maxAbs) {
    range_ *= 2.0;
    for (auto* side : {&positive_, &negative_}) {
      auto& bins = *side;
      for (size_t j = 0; j < half; ++j) bins[j] = bins[2 * j] + bins[2 * j + 1];
      std::fill(bins.begin() + static_cast<std::ptrdiff_t>(half), bins.end(), 0);
    }
  }
}

void Histogram::binRun(const float* data, int64_t n, double range, int64_t* counts, int64_t& nonFinite) const {
  // counts = [negative side | positive side]. The side is chosen arithmetically: activations
  // after a LeakyReLU or a norm mix signs at random, and a branch on the sign would
  // mispredict about every other value.
  const double perUnit = range > 0.0 ? binsPerSide_ / range : 0.0;
  const int64_t last = binsPerSide_ - 1;
  const int64_t side = binsPerSide_;
  for (int64_t i = 0; i < n; ++i) {
    const float v = data[i];
    const float a = std::fabs(v);
    if (!(a <= FLT_MAX)) {
      ++nonFinite;
      continue;
    }
    const int64_t k = std::min(static_cast<int64_t>(a * perUnit), last);
    ++counts[k + (v < 0.0f ? 0 : side)];
  }
}

void Histogram::mergeCounts(const std::vector<int64_t>& counts) {
  const size_t b = positive_.size();
  for (size_t k = 0; k < b; ++k) {
    negative_[k] += counts[k];
    positive_[k] += counts[b + k];
  }
}

// Both add()s bin into private counts at the range the new data needs and change the
// histogram only once everything is binned, so a cancel midway leaves it untouched.
void Histogram::add(const torch::Tensor& tensor, const Feedback* feedback) {
  if (feedback) feedback->throwIfCanceled();
  const torch::Tensor x = contiguousFloat32(tensor, "histogram");
  const int64_t n = x.numel();
  if (n == 0) return;
  const float* data = x.data_ptr<float>();
  const GroupMinMax extremes = groupMinMax(x, kPerTensor);
  const bool anyFinite = extremes.min[0] <= extremes.max[0];
  const double maxAbs = anyFinite ? std::max(std::fabs(extremes.min[0]), std::fabs(extremes.max[0])) : 0.0;
  const double range = rangeFor(maxAbs);
  std::mutex merge;
  std::vector<int64_t> total(2 * positive_.size(), 0);
  int64_t skipped = 0;
  at::parallel_for(0, n, kGrain, [&](int64_t begin, int64_t end) {
    std::vector<int64_t> counts(total.size(), 0);
    int64_t localSkipped = 0;
    for (int64_t from = begin; from < end; from += kCancelStride) {
      if (feedback) feedback->throwIfCanceled();
      binRun(data + from, std::min(end, from + kCancelStride) - from, range, counts.data(), localSkipped);
    }
    std::lock_guard<std::mutex> lock(merge);
    for (size_t k = 0; k < total.size(); ++k) total[k] += counts[k];
    skipped += localSkipped;
  });
  if (feedback) feedback->throwIfCanceled();
  if (anyFinite) {
    min_ = std::min(min_, extremes.min[0]);
    max_ = std::max(max_, extremes.max[0]);
    growTo(maxAbs);
  }
  mergeCounts(total);
  count_ += n - skipped;
  nonFinite_ += skipped;
}

void Histogram::add(const float* base, int64_t runs, int64_t length, int64_t stride, const Feedback* feedback) {
  if (runs <= 0 || length <= 0) return;
  if (feedback) feedback->throwIfCanceled();
  // Runs per look at the Feedback: short runs are grouped so the check stays negligible.
  const int64_t runsPerCheck = std::max<int64_t>(1, kCancelStride / length);
  float lo = kInf, hi = -kInf;
  for (int64_t r = 0; r < runs; ++r) {
    if (feedback && r % runsPerCheck == 0) feedback->throwIfCanceled();
    foldMinMax(base + r * stride, length, lo, hi);
  }
  const double maxAbs = lo <= hi ? std::max(std::fabs(lo), std::fabs(hi)) : 0.0;
  const double range = rangeFor(maxAbs);
  int64_t skipped = 0;
  std::vector<int64_t> counts(2 * positive_.size(), 0);
  for (int64_t r = 0; r < runs; ++r) {
    if (feedback && r % runsPerCheck == 0) feedback->throwIfCanceled();
    binRun(base + r * stride, length, range, counts.data(), skipped);
  }
  if (lo <= hi) {
    min_ = std::min(min_, lo);
    max_ = std::max(max_, hi);
    growTo(maxAbs);
  }
  mergeCounts(counts);
  count_ += runs * length - skipped;
  nonFinite_ += skipped;
}

std::vector<double> Histogram::magnitudeCounts() const {
  std::vector<double> counts(positive_.size());
  for (size_t k = 0; k < counts.size(); ++k) counts[k] = static_cast<double>(positive_[k] + negative_[k]);
  return counts;
}

void Histogram::magnitudeExtent(int k, double& lo, double& hi) const {
  const double w = binWidth();
  lo = k * w;
  hi = std::max(lo, std::min((k + 1) * w, static_cast<double>(maxAbs())));
}

void Histogram::signedExtent(int side, int k, double& lo, double& hi) const {
  const double w = binWidth();
  const double a = side > 0 ? k * w : -(k + 1) * w;
  const double b = side > 0 ? (k + 1) * w : -k * w;
  lo = std::max(a, static_cast<double>(min_));
  hi = std::min(b, static_cast<double>(max_));
  if (lo > hi) {
    // Only reachable through rounding of the bin index at an edge: the values sit at the
    // nearest point of the bin that lies within [min, max].
    lo = hi = std::clamp(0.5 * (a + b), static_cast<double>(min_), static_cast<double>(max_));
  }
}

namespace {

// Visits every non-empty signed bin as (extent lo, extent hi, count).
template <typename Visit>
void forEachSignedBin(const Histogram& h, Visit visit) {
  for (int side : {-1, 1}) {
    const auto& bins = side > 0 ? h.positive() : h.negative();
    for (int k = 0; k < h.binsPerSide(); ++k) {
      if (bins[static_cast<size_t>(k)] == 0) continue;
      double lo, hi;
      h.signedExtent(side, k, lo, hi);
      visit(lo, hi, static_cast<double>(bins[static_cast<size_t>(k)]));
    }
  }
}

}  // namespace

HistogramBins Histogram::bins() const {
  HistogramBins out;
  if (count_ == 0) return out;
  if (range_ == 0.0) {
    out.edges = {0.0, 0.0};
    out.counts = {static_cast<double>(count_)};
    return out;
  }
  // Signed index j in [0, 2K): j < K is negative bin K-1-j, j >= K positive bin j-K;
  // its lower edge is (j - K) * w either way.
  const int k = binsPerSide_;
  auto countAt = [&](int j) {
    return j < k ? negative_[static_cast<size_t>(k - 1 - j)] : positive_[static_cast<size_t>(j - k)];
  };
  int first = 0, last = 2 * k - 1;
  while (countAt(first) == 0) ++first;
  while (countAt(last) == 0) --last;
  const double w = binWidth();
  for (int j = first; j <= last; ++j) {
    out.edges.push_back((j - k) * w);
    out.counts.push_back(static_cast<double>(countAt(j)));
  }
  out.edges.push_back((last + 1 - k) * w);
  return out;
}

HistogramBins Histogram::resampled(int binCount, double lo, double hi) const {
  if (binCount < 1 || !(hi > lo)) throw Error("histogram: resampling needs at least one bin and lo < hi");
  HistogramBins out;
  const double width = (hi - lo) / binCount;
  out.edges.resize(static_cast<size_t>(binCount) + 1);
  for (int i = 0; i <= binCount; ++i) out.edges[static_cast<size_t>(i)] = lo + i * width;
  out.edges.back() = hi;
  out.counts.assign(static_cast<size_t>(binCount), 0.0);
  auto targetOf = [&](double v) { return std::clamp(static_cast<int>(std::floor((v - lo) / width)), 0, binCount - 1); };
  forEachSignedBin(*this, [&](double a, double b, double count) {
    if (b <= a) {
      if (a >= lo && a <= hi) out.counts[static_cast<size_t>(targetOf(a))] += count;
      return;
    }
    const double from = std::max(a, lo), to = std::min(b, hi);
    if (from >= to) return;
    for (int t = targetOf(from); t <= targetOf(to); ++t) {
      const double overlap = std::min(to, out.edges[static_cast<size_t>(t) + 1]) -
                             std::max(from, out.edges[static_cast<size_t>(t)]);
      if (overlap > 0.0) out.counts[static_cast<size_t>(t)] += count * overlap / (b - a);
    }
  });
  return out;
}

double Histogram::fractionOutside(double lo, double hi) const {
  if (lo > hi) throw Error("histogram: clip range has lo > hi");
  if (count_ == 0) return 0.0;
  double outside = 0.0;
  forEachSignedBin(*this, [&](double a, double b, double count) {
    if (b <= a) {
      if (a < lo || a > hi) outside += count;
      return;
    }
    const double below = std::clamp(lo, a, b) - a;
    const double above = b - std::clamp(hi, a, b);
    outside += count * (below + above) / (b - a);
  });
  return outside / static_cast<double>(count_);
}

namespace {

nlohmann::json trimmedCounts(const std::vector<int64_t>& bins) {
  size_t used = bins.size();
  while (used > 0 && bins[used - 1] == 0) --used;
  return nlohmann::json(std::vector<int64_t>(bins.begin(), bins.begin() + static_cast<std::ptrdiff_t>(used)));
}

}  // namespace

nlohmann::json Histogram::toJson() const {
  nlohmann::json j = {{"binsPerSide", binsPerSide_},
                      {"range", range_},
                      {"count", count_},
                      {"nonFinite", nonFinite_},
                      {"positive", trimmedCounts(positive_)},
                      {"negative", trimmedCounts(negative_)}};
  j["min"] = count_ > 0 ? nlohmann::json(min_) : nlohmann::json(nullptr);
  j["max"] = count_ > 0 ? nlohmann::json(max_) : nlohmann::json(nullptr);
  return j;
}

namespace {
// Integer fields of a calibration file go through jsonAs: nlohmann's get<int>() of 1e20 or
// 2.5 converts silently (an out-of-range conversion is undefined).
constexpr const char* kHistogramJson = "histogram JSON";

std::vector<int64_t> countsFromJson(const nlohmann::json& j, const std::string& key) {
  const nlohmann::json& a = j.at(key);
  if (!a.is_array()) throw Error(std::string(kHistogramJson) + ": field \"" + key + "\" must be an array");
  std::vector<int64_t> counts;
  for (size_t i = 0; i < a.size(); ++i)
    counts.push_back(jsonAs<int64_t>(a[i], kHistogramJson, key + "[" + std::to_string(i) + "]"));
  return counts;
}
}  // namespace

Histogram Histogram::fromJson(const nlohmann::json& j) {
  try {
    Histogram h(jsonAs<int>(j.at("binsPerSide"), kHistogramJson, "binsPerSide"));
    h.range_ = j.at("range").get<double>();
    h.count_ = jsonAs<int64_t>(j.at("count"), kHistogramJson, "count");
    h.nonFinite_ = jsonAs<int64_t>(j.at("nonFinite"), kHistogramJson, "nonFinite");
    const auto pos = countsFromJson(j, "positive");
    const auto neg = countsFromJson(j, "negative");
    if (!(h.range_ >= 0.0) || !std::isfinite(h.range_) || h.count_ < 0 || h.nonFinite_ < 0 ||
        pos.size() > h.positive_.size() || neg.size() > h.negative_.size())
      throw Error("histogram JSON: inconsistent range or bin counts");
    std::copy(pos.begin(), pos.end(), h.positive_.begin());
    std::copy(neg.begin(), neg.end(), h.negative_.begin());
    int64_t total = 0;
    for (size_t k = 0; k < h.positive_.size(); ++k) {
      if (h.positive_[k] < 0 || h.negative_[k] < 0) throw Error("histogram JSON: negative count");
      // Counts near 2^63 would overflow the sum (undefined) and could wrap onto `count`.
      if (__builtin_add_overflow(total, h.positive_[k], &total) ||
          __builtin_add_overflow(total, h.negative_[k], &total))
        throw Error("histogram JSON: bin counts do not add up to count");
    }
    if (total != h.count_) throw Error("histogram JSON: bin counts do not add up to count");
    if (h.count_ > 0) {
      h.min_ = j.at("min").get<float>();
      h.max_ = j.at("max").get<float>();
      if (!(h.min_ <= h.max_) || std::max(std::fabs(h.min_), std::fabs(h.max_)) > h.range_)
        throw Error("histogram JSON: min/max outside the histogram range");
    }
    return h;
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("histogram JSON: ") + e.what());
  }
}

}  // namespace mqb::quant
