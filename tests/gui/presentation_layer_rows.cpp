// Layer-error plot rows and histogram labels (app/gui/model/LayerRows).
#include <gtest/gtest.h>

#include "LayerRows.h"

namespace mqb::gui {
namespace {

quant::LayerAnalysisRows threeOps() {
  quant::LayerAnalysisRows r;
  for (int i = 0; i < 3; ++i) {
    quant::LayerErrorRow l;
    l.op = "enc." + std::to_string(i);
    l.isolatedSqnrDb = 30 - i;
    l.cumulativeSqnrDb = 25 - i;
    l.isolatedMse = 0.1 * (i + 1);
    l.cumulativeMse = 0.2 * (i + 1);
    l.isolatedCosine = 0.99;
    l.cumulativeCosine = 0.98;
    l.shift = 0.01 * (i + 1);
    r.layers.push_back(l);
  }
  r.sensitivity = {"enc.2", "enc.0", "enc.1"};
  return r;
}

TEST(LayerRows, MetricsHaveNamesInComboOrder) {
  const auto& metrics = allLayerMetrics();
  ASSERT_EQ(metrics.size(), 4u);
  EXPECT_EQ(displayName(metrics[0]), "SQNR (dB)");
  EXPECT_EQ(displayName(metrics[3]), "Distribution shift");
}

TEST(LayerRows, TheMetricPicksTheValues) {
  const quant::LayerAnalysisRows r = threeOps();
  const LayerPlotRows mse = layerPlotRows(r, LayerMetric::Mse, 0);
  EXPECT_EQ(mse.axisTitle, "MSE");
  EXPECT_EQ(mse.ops, (std::vector<std::string>{"enc.0", "enc.1", "enc.2"}));
  EXPECT_DOUBLE_EQ(mse.isolated[2], 0.3);
  EXPECT_DOUBLE_EQ(mse.cumulative[1], 0.4);
  const LayerPlotRows sqnr = layerPlotRows(r, LayerMetric::SqnrDb, 0);
  EXPECT_DOUBLE_EQ(sqnr.isolated[1], 29);
  EXPECT_DOUBLE_EQ(sqnr.cumulative[0], 25);
  EXPECT_NE(sqnr.tooltips[0].find("isolated SQNR 30.0 dB"), std::string::npos) << sqnr.tooltips[0];
}

TEST(LayerRows, DistributionShiftHasNoCumulativeSeries) {
  const LayerPlotRows shift = layerPlotRows(threeOps(), LayerMetric::DistributionShift, 0);
  EXPECT_DOUBLE_EQ(shift.isolated[0], 0.01);
  EXPECT_TRUE(shift.cumulative.empty());
}

TEST(LayerRows, TheMostSensitiveOpsAreHighlighted) {
  const quant::LayerAnalysisRows r = threeOps();
  EXPECT_EQ(layerPlotRows(r, LayerMetric::SqnrDb, 2).sensitive, (std::set<int>{2, 0}));
  EXPECT_EQ(layerPlotRows(r, LayerMetric::SqnrDb, 10).sensitive.size(), 3u);
  EXPECT_TRUE(layerPlotRows(r, LayerMetric::SqnrDb, 0).sensitive.empty());
}

TEST(LayerRows, HistogramLabelsNameTheInputAndTheClipping) {
  quant::ActivationHistogram h;
  h.op = "dec.1.conv";
  h.scheme = "static per-tensor";
  EXPECT_EQ(histogramTitle(h), "dec.1.conv");
  EXPECT_EQ(histogramInfo(h), "static per-tensor");
  h.slot = 1;
  h.clippedFraction = 0.0012;
  h.shift = 0.0345;
  h.shiftName = "W1";
  EXPECT_EQ(histogramTitle(h), "dec.1.conv (input 1)");
  EXPECT_EQ(histogramInfo(h), "static per-tensor, clipped 0.12 %, shift W1 = 0.0345");
}

}  // namespace
}  // namespace mqb::gui
