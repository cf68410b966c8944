#include "LayerRows.h"

#include <algorithm>
#include <cmath>

#include "TextFormat.h"

namespace mqb::gui {

const std::vector<LayerMetric>& allLayerMetrics() {
  static const std::vector<LayerMetric> metrics{LayerMetric::SqnrDb, LayerMetric::Mse, LayerMetric::Cosine,
                                                LayerMetric::DistributionShift};
  return metrics;
}

std::string displayName(LayerMetric metric) {
  switch (metric) {
    case LayerMetric::SqnrDb: return "SQNR (dB)";
    case LayerMetric::Mse: return "MSE";
    case LayerMetric::Cosine: return "Cosine similarity";
    case LayerMetric::DistributionShift: return "Distribution shift";
  }
  return {};
}

bool hasCumulativeSeries(LayerMetric metric) { return metric != LayerMetric::DistributionShift; }

LayerPlotRows layerPlotRows(const quant::LayerAnalysisRows& result, LayerMetric metric, int keepCount) {
  LayerPlotRows p;
  p.axisTitle = displayName(metric);
  const bool cumulative = hasCumulativeSeries(metric);
  for (const auto& l : result.layers) {
    p.ops.push_back(l.op);
    switch (metric) {
      case LayerMetric::SqnrDb:
        p.isolated.push_back(l.isolatedSqnrDb);
        p.cumulative.push_back(l.cumulativeSqnrDb);
        break;
      case LayerMetric::Mse:
        p.isolated.push_back(l.isolatedMse);
        p.cumulative.push_back(l.cumulativeMse);
        break;
      case LayerMetric::Cosine:
        p.isolated.push_back(l.isolatedCosine);
        p.cumulative.push_back(l.cumulativeCosine);
        break;
      case LayerMetric::DistributionShift: p.isolated.push_back(l.shift); break;
    }
    p.tooltips.push_back("<b>" + escapeHtml(l.op) + "</b><br>isolated SQNR " + fixed(l.isolatedSqnrDb, 1) +
                         " dB<br>cumulative SQNR " + fixed(l.cumulativeSqnrDb, 1) + " dB<br>shift " +
                         general(l.shift, 3));
  }
  if (!cumulative) p.cumulative.clear();
  const int k = std::min<int>(std::max(keepCount, 0), static_cast<int>(result.sensitivity.size()));
  for (int i = 0; i < k; ++i)
    for (size_t j = 0; j < p.ops.size(); ++j)
      if (p.ops[j] == result.sensitivity[static_cast<size_t>(i)]) p.sensitive.insert(static_cast<int>(j));
  return p;
}

std::string histogramTitle(const quant::ActivationHistogram& h) {
  return h.slot ? h.op + " (input " + std::to_string(h.slot) + ")" : h.op;
}

std::string histogramInfo(const quant::ActivationHistogram& h) {
  std::string info = h.scheme;
  if (std::isfinite(h.clippedFraction)) info += ", clipped " + general(h.clippedFraction * 100, 3) + " %";
  if (std::isfinite(h.shift)) info += ", shift " + h.shiftName + " = " + general(h.shift, 3);
  return info;
}

}  // namespace mqb::gui
