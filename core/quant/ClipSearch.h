#pragma once
// Choosing a clip range from a group's histogram (SPEC section 3): the percentile, mse and
// entropy calibrators. Each has a symmetric form, returning amax for |x|, and an
// asymmetric form, returning the (min, max) an asymmetric grid should cover. Values are
// assumed uniformly spread within each histogram bin (over the part of the bin inside the
// observed [min, max]); that is the only approximation, and it vanishes as bins shrink.
#include "quant/Histogram.h"
#include "quant/QuantGrid.h"

#include <vector>

namespace mqb::quant {

struct ClipRange {
  float min = 0.0f;
  float max = 0.0f;
};

// p-th percentile of |x|, 0 < p <= 100, interpolated within its bin and capped at max |x|.
float percentileAmax(const Histogram& h, double percentile);
// The (100 - p)-th and p-th percentiles of the signed values, 50 <= p <= 100.
ClipRange percentileRange(const Histogram& h, double percentile);

// Expected ||x - Q(x)||^2 over the histogram's values for one group grid, integrating the
// quantizer exactly over each bin rather than sampling bin centres, so the estimate stays
// right when the grid step is finer than a bin (high bit-widths).
double squaredError(const Histogram& h, const GroupGrid& grid);

// The amax (resp. range) minimising squaredError over the 100 clip ratios
// r = 0.3, 0.3 + 0.7/99, ..., 1.0 of max |x| (resp. of the observed [min, max], widened to
// contain 0). Ties go to the larger ratio: clipping is only worth it when it pays.
constexpr int kMseCandidates = 100;
constexpr double kMseMinRatio = 0.3;
float mseAmax(const Histogram& h, int bits);
ClipRange mseRange(const Histogram& h, int bits);

// TensorRT-style entropy calibration: |x| is histogrammed into kEntropyBins bins over
// [0, max |x|]; for every candidate threshold bin i in [kEntropyStartBin, kEntropyBins],
// P is bins [0, i) with the outliers folded into bin i-1, Q is P's first i bins merged into
// 2^(b-1) = qmax + 1 levels and expanded back over their non-empty bins, and the i with the
// smallest KL(P || Q) wins (the largest on ties), giving amax = i * max|x| / kEntropyBins.
// This is NVIDIA pytorch-quantization's algorithm, including its first step (bin 0 is
// replaced by bin 1, so the spike of exact zeros after a ReLU does not dominate P), with
// one change: Q is smoothed like MXNet/TVM do (eps = 1e-4 moved onto its empty bins,
// taken evenly from the others), so outliers folded onto an empty bin give a large but
// finite divergence instead of infinity.
constexpr int kEntropyBins = 2048;
constexpr int kEntropyStartBin = 128;
float entropyAmax(const Histogram& h, int bits);
// Asymmetric form: the observed [min, max] clipped to [-amax, amax] of entropyAmax.
ClipRange entropyRange(const Histogram& h, int bits);
// The algorithm itself on a |x| histogram (bin 0 first): the winning threshold bin i.
int entropyThresholdBin(std::vector<double> bins, int bits, int startBin = kEntropyStartBin);

}  // namespace mqb::quant
