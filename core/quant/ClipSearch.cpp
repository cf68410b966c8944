#include "quant/ClipSearch.h"

#include "support/Error.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace mqb::quant {

namespace {

double cube(double v) { return v * v * v; }

// Walks the non-empty bins in value order (signed, or by magnitude) and returns the value
// below which `rank` of the counts lie, interpolating within the bin that holds it.
template <typename Extent>
double quantileOf(const std::vector<std::pair<int, int64_t>>& order, double rank, Extent extent) {
  double cumulative = 0.0;
  double lo = 0.0, hi = 0.0;
  for (const auto& [k, count] : order) {
    extent(k, lo, hi);
    const double c = static_cast<double>(count);
    if (cumulative + c >= rank) return lo + (hi - lo) * std::clamp((rank - cumulative) / c, 0.0, 1.0);
    cumulative += c;
  }
  return hi;  // rank beyond the total through rounding: the top of the last bin
}

void checkPercentile(bool valid, double percentile, const char* allowed) {
  if (!valid)
    throw Error("percentile calibration: p must be in " + std::string(allowed) + ", got " + std::to_string(percentile));
}

// Integral over [0, u] of (t - round(t))^2: rounding cells are centred on the integers,
// the first one is half a cell, and every full cell contributes 1/12. Odd in u.
double roundingErrorPrimitive(double u) {
  const double a = std::fabs(u);
  double g;
  if (a <= 0.5) {
    g = cube(a) / 3.0;
  } else {
    const double m = std::floor(a + 0.5);
    g = 1.0 / 24.0 + (m - 1.0) / 12.0 + (cube(a - m) + 0.125) / 3.0;
  }
  return u < 0.0 ? -g : g;
}

// Integral over [a, b] of (x - Q(x))^2 for Q(x) = s * clamp(round(x / s), lo, hi):
// constant at the clamped levels outside the rounding region, cell by cell inside it.
double errorIntegral(double a, double b, double s, double lo, double hi) {
  double sum = 0.0;
  const double lowEnd = (lo + 0.5) * s;   // below: Q = lo * s
  const double highEnd = (hi - 0.5) * s;  // above: Q = hi * s
  auto flat = [&](double from, double to, double level) {
    if (to > from) sum += (cube(to - level) - cube(from - level)) / 3.0;
  };
  flat(a, std::min(b, lowEnd), lo * s);
  flat(std::max(a, highEnd), b, hi * s);
  const double from = std::max(a, lowEnd) / s, to = std::min(b, highEnd) / s;
  if (to > from) {
    const double cellFrom = std::floor(from + 0.5), cellTo = std::floor(to + 0.5);
    // Within one cell the direct form avoids subtracting two large primitives.
    sum += cube(s) * (cellFrom == cellTo ? (cube(to - cellTo) - cube(from - cellFrom)) / 3.0
                                         : roundingErrorPrimitive(to) - roundingErrorPrimitive(from));
  }
  return sum;
}

std::vector<std::pair<int, int64_t>> signedOrder(const Histogram& h) {
  std::vector<std::pair<int, int64_t>> order;  // k < 0: negative bin -k-1
  for (int k = h.binsPerSide() - 1; k >= 0; --k)
    if (h.negative()[static_cast<size_t>(k)] != 0) order.emplace_back(-k - 1, h.negative()[static_cast<size_t>(k)]);
  for (int k = 0; k < h.binsPerSide(); ++k)
    if (h.positive()[static_cast<size_t>(k)] != 0) order.emplace_back(k, h.positive()[static_cast<size_t>(k)]);
  return order;
}

void signedExtentOf(const Histogram& h, int k, double& lo, double& hi) {
  if (k < 0)
    h.signedExtent(-1, -k - 1, lo, hi);
  else
    h.signedExtent(1, k, lo, hi);
}

double mseRatio(int candidate) { return kMseMinRatio + (1.0 - kMseMinRatio) * candidate / (kMseCandidates - 1); }

}  // namespace

float percentileAmax(const Histogram& h, double percentile) {
  checkPercentile(percentile > 0.0 && percentile <= 100.0, percentile, "(0, 100]");
  if (h.count() == 0) return 0.0f;
  std::vector<std::pair<int, int64_t>> order;
  for (int k = 0; k < h.binsPerSide(); ++k) {
    const int64_t c = h.positive()[static_cast<size_t>(k)] + h.negative()[static_cast<size_t>(k)];
    if (c != 0) order.emplace_back(k, c);
  }
  const double rank = percentile / 100.0 * static_cast<double>(h.count());
  const double v = quantileOf(order, rank, [&](int k, double& lo, double& hi) { h.magnitudeExtent(k, lo, hi); });
  return std::min(static_cast<float>(v), h.maxAbs());
}

ClipRange percentileRange(const Histogram& h, double percentile) {
  checkPercentile(percentile >= 50.0 && percentile <= 100.0, percentile, "[50, 100]");
  if (h.count() == 0) return {};
  const auto order = signedOrder(h);
  const double n = static_cast<double>(h.count());
  auto extent = [&](int k, double& lo, double& hi) { signedExtentOf(h, k, lo, hi); };
  ClipRange r;
  r.min = std::clamp(static_cast<float>(quantileOf(order, (1.0 - percentile / 100.0) * n, extent)), h.min(), h.max());
  r.max = std::clamp(static_cast<float>(quantileOf(order, percentile / 100.0 * n, extent)), h.min(), h.max());
  return r;
}

double squaredError(const Histogram& h, const GroupGrid& grid) {
  const double s = grid.scale, lo = grid.lo, hi = grid.hi;
  double total = 0.0;
  for (int side : {-1, 1}) {
    const auto& bins = side > 0 ? h.positive() : h.negative();
    for (int k = 0; k < h.binsPerSide(); ++k) {
      const int64_t count = bins[static_cast<size_t>(k)];
      if (count == 0) continue;
      double a, b;
      h.signedExtent(side, k, a, b);
      if (b > a) {
        total += static_cast<double>(count) * errorIntegral(a, b, s, lo, hi) / (b - a);
      } else {
        const double e = a - s * std::clamp(std::nearbyint(a / s), lo, hi);
        total += static_cast<double>(count) * e * e;
      }
    }
  }
  return total;
}

float mseAmax(const Histogram& h, int bits) {
  checkBits(bits);
  const float maxAbs = h.maxAbs();
  if (maxAbs == 0.0f) return 0.0f;
  float best = maxAbs;
  double bestError = std::numeric_limits<double>::infinity();
  for (int i = kMseCandidates - 1; i >= 0; --i) {
    const auto amax = static_cast<float>(mseRatio(i) * maxAbs);
    const double error = squaredError(h, symmetricGroup(amax, bits));
    if (error < bestError) {
      bestError = error;
      best = amax;
    }
  }
  return best;
}

ClipRange mseRange(const Histogram& h, int bits) {
  checkBits(bits);
  if (h.count() == 0) return {};
  const float lo = std::min(h.min(), 0.0f), hi = std::max(h.max(), 0.0f);
  ClipRange best{lo, hi};
  double bestError = std::numeric_limits<double>::infinity();
  for (int i = kMseCandidates - 1; i >= 0; --i) {
    const double r = mseRatio(i);
    const ClipRange candidate{static_cast<float>(r * lo), static_cast<float>(r * hi)};
    const double error = squaredError(h, asymmetricGroup(candidate.min, candidate.max, bits));
    if (error < bestError) {
      bestError = error;
      best = candidate;
    }
  }
  return best;
}

int entropyThresholdBin(std::vector<double> bins, int bits, int startBin) {
  checkBits(bits);
  const int n = static_cast<int>(bins.size());
  if (startBin < 1) throw Error("entropy calibration: the first candidate bin must be >= 1");
  if (n <= startBin) return n;
  bins[0] = bins[1];
  const int64_t levels = symmetricQmax(bits) + 1;
  constexpr double kEps = 1e-4;
  auto xlogx = [](double v) { return v > 0.0 ? v * std::log(v) : 0.0; };

  // Prefix sums make each candidate cost O(levels) instead of O(i): within a level Q is
  // one value on every non-empty bin, so sum(p log q) needs one log per level, and P
  // equals the raw bins except for the last one, so sum(p log p) is a prefix sum.
  std::vector<double> sum(n + 1, 0.0), used(n + 1, 0.0), plogp(n + 1, 0.0);
  for (int k = 0; k < n; ++k) {
    sum[k + 1] = sum[k] + bins[k];
    used[k + 1] = used[k] + (bins[k] != 0.0);
    plogp[k + 1] = plogp[k] + xlogx(bins[k]);
  }
  const double total = sum[n];
  if (total <= 0.0) return n;

  int bestBin = n;
  double bestDivergence = std::numeric_limits<double>::infinity();
  for (int i = startBin; i <= n; ++i) {
    // P: bins [0, i) with every count at or above bin i folded into bin i-1.
    const double outliers = total - sum[i];
    const double pLast = bins[i - 1] + outliers;
    const double pLogP = plogp[i - 1] + xlogx(pLast);
    // Q before smoothing: the level average on the non-empty bins, 0 on the empty ones.
    // Smoothing moves kEps onto each of Q's empty bins and takes it evenly from the rest,
    // which keeps Q's total (sum[i]); P keeps its zeros, they add nothing to KL(P || Q).
    const double nonEmpty = used[i];
    if (nonEmpty == 0.0) continue;
    const double take = kEps * (i - nonEmpty) / nonEmpty;
    double pLogQ = 0.0;
    bool valid = true;
    auto addLevel = [&](int64_t begin, int64_t end) {
      const double count = used[end] - used[begin];
      if (count == 0.0) return;
      const double q = (sum[end] - sum[begin]) / count - take;
      if (q <= 0.0) {
        valid = false;
        return;
      }
      double p = sum[end] - sum[begin];
      if (end == i) p += outliers;  // the folded outliers sit on the non-empty last bin
      pLogQ += p * std::log(q);
    };
    if (levels >= i) {
      for (int k = 0; k < i; ++k) addLevel(k, k + 1);  // one bin per level: nothing merges
    } else {
      // Level j holds bins [ceil(j*i/levels), ceil((j+1)*i/levels)): the bins k with
      // floor(k * levels / i) == j, i.e. np.digitize over linspace(0, i, levels + 1).
      int64_t begin = 0;
      for (int64_t j = 0; j < levels && valid; ++j) {
        const int64_t end = ((j + 1) * i + levels - 1) / levels;
        addLevel(begin, end);
        begin = end;
      }
    }
    if (!valid) continue;
    // Outliers landing on an empty last bin meet Q's smoothing eps there.
    if (bins[i - 1] == 0.0 && outliers > 0.0) pLogQ += outliers * std::log(kEps);
    // KL = sum (p/P) log((p/P) / (q/Q)) with P = total, Q = sum[i].
    const double divergence = (pLogP - pLogQ) / total - std::log(total) + std::log(sum[i]);
    if (divergence <= bestDivergence) {
      bestDivergence = divergence;
      bestBin = i;
    }
  }
  return bestBin;
}

float entropyAmax(const Histogram& h, int bits) {
  checkBits(bits);
  const float maxAbs = h.maxAbs();
  if (maxAbs == 0.0f) return 0.0f;
  // The histogram's own bins span [0, R] with R up to twice max |x|; TensorRT's method is
  // defined on exactly kEntropyBins bins over [0, max |x|].
  std::vector<double> bins(kEntropyBins, 0.0);
  const double width = static_cast<double>(maxAbs) / kEntropyBins;
  for (int k = 0; k < h.binsPerSide(); ++k) {
    const double count =
        static_cast<double>(h.positive()[static_cast<size_t>(k)] + h.negative()[static_cast<size_t>(k)]);
    if (count == 0.0) continue;
    double a, b;
    h.magnitudeExtent(k, a, b);
    const int first = std::min(static_cast<int>(a / width), kEntropyBins - 1);
    const int last = std::min(static_cast<int>(b / width), kEntropyBins - 1);
    if (b <= a || first == last) {
      bins[first] += count;
      continue;
    }
    for (int t = first; t <= last; ++t) {
      const double overlap = std::min(b, (t + 1) * width) - std::max(a, t * width);
      if (overlap > 0.0) bins[t] += count * overlap / (b - a);
    }
  }
  const int threshold = entropyThresholdBin(std::move(bins), bits);
  return threshold >= kEntropyBins ? maxAbs : static_cast<float>(threshold * width);
}

ClipRange entropyRange(const Histogram& h, int bits) {
  if (h.count() == 0) return {};
  const float amax = entropyAmax(h, bits);
  return {std::max(h.min(), -amax), std::min(h.max(), amax)};
}

}  // namespace mqb::quant
