#pragma once
// What the layer-error plot and the histogram tab show of a quant::LayerAnalysisRows. The metric
// is an enum with its display name here, so the combo box is filled from allLayerMetrics()
// and never switches on its own item order.
#include <set>
#include <string>
#include <vector>

#include "SessionTypes.h"

namespace mqb::gui {

enum class LayerMetric { SqnrDb, Mse, Cosine, DistributionShift };

const std::vector<LayerMetric>& allLayerMetrics();  // combo-box order
std::string displayName(LayerMetric metric);        // "SQNR (dB)", ...
// Distribution shift is a property of the op input only: no cumulative (graph-wise) series.
bool hasCumulativeSeries(LayerMetric metric);

struct LayerPlotRows {
  std::string axisTitle;
  std::vector<std::string> ops;       // graph order
  std::vector<double> isolated;       // layer-wise, one per op
  std::vector<double> cumulative;     // graph-wise, one per op; empty when the metric has none
  std::vector<std::string> tooltips;  // rich text
  std::set<int> sensitive;            // indices of the `keepCount` most sensitive ops
};

LayerPlotRows layerPlotRows(const quant::LayerAnalysisRows& result, LayerMetric metric, int keepCount);

// "encoder.0.conv (input 1)" for the histogram selector; the slot only when it is not 0.
std::string histogramTitle(const quant::ActivationHistogram& histogram);
// "static per-tensor, clipped 0.12 %, shift W1 = 0.0345" under the histogram.
std::string histogramInfo(const quant::ActivationHistogram& histogram);

}  // namespace mqb::gui
