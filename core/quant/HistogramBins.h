#pragma once
// A histogram in plottable form, without the streaming machinery (quant/Histogram.h) and
// without torch, so analysis results can travel to the desktop application's plots.
#include <vector>

namespace mqb::quant {

// counts[i] values fell in [edges[i], edges[i+1]).
struct HistogramBins {
  std::vector<double> edges;
  std::vector<double> counts;
};

}  // namespace mqb::quant
