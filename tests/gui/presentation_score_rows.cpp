// Score table rows, DSC / NSD plot series and legend details (app/gui/model/ScoreRows).
#include <gtest/gtest.h>

#include <cmath>

#include "ScoreRows.h"

namespace mqb::gui {
namespace {

ComparisonTable twoOrgans(bool truth) {
  ComparisonTable t;
  t.precision = "INT W4A4";
  t.haveTruth = truth;
  t.toleranceMm = 1.5;
  OrganComparison liver;
  liver.id = 1;
  liver.name = "liver";
  liver.fp32Dsc = 0.9;
  liver.quantDsc = 0.81;  // 10 % drop
  liver.fp32Nsd = 0.8;
  liver.quantNsd = 0.84;  // 5 % gain
  liver.agreeDsc = 0.95;
  liver.agreeNsd = 0.97;
  liver.fp32Voxels = 1200;
  liver.quantVoxels = 1100;
  OrganComparison odd;
  odd.id = 2;
  odd.name = "a<b";  // absent from both masks: NaN scores
  t.organs = {liver, odd};
  t.meanFp32Dsc = 0.9;
  t.meanQuantDsc = 0.81;
  t.meanFp32Nsd = 0.8;
  t.meanQuantNsd = 0.84;
  t.meanAgreeDsc = 0.95;
  t.meanAgreeNsd = 0.97;
  return t;
}

TEST(ScoreRows, TableWithGroundTruthShowsScoresDropsAndVoxels) {
  const ScoreTableRows r = scoreTableRows(twoOrgans(true));
  ASSERT_EQ(r.header.size(), 9u);
  EXPECT_EQ(r.header[2], "INT W4A4 DSC (\u2193\u0394%)");
  ASSERT_EQ(r.rows.size(), 3u);  // two organs and the mean
  EXPECT_EQ(r.rows[0], (std::vector<std::string>{"liver", "0.900", "0.810 (10.0%)", "0.800", "0.840 (5.0%\u2191)",
                                                 "0.950", "0.970", "1200", "1100"}));
  EXPECT_EQ(r.rows[1][1], "--");
  EXPECT_EQ(r.rows[1][2], "--");
  EXPECT_EQ(r.rows[2][0], "mean");
  EXPECT_EQ(r.rows[2][7], "");  // no voxel count for the mean
}

TEST(ScoreRows, TableWithoutGroundTruthHasOnlyTheAgreementColumns) {
  const ScoreTableRows r = scoreTableRows(twoOrgans(false));
  EXPECT_EQ(r.header,
            (std::vector<std::string>{"Organ", "DSC vs FP32", "NSD vs FP32", "FP32 voxels", "INT W4A4 voxels"}));
  EXPECT_EQ(r.rows[0], (std::vector<std::string>{"liver", "0.950", "0.970", "1200", "1100"}));
}

TEST(ScoreRows, PlotSeriesFollowTheMetricAndTheGroundTruth) {
  const ComparisonTable t = twoOrgans(true);
  const ScorePlotRows dsc = scorePlotRows(t, ScoreMetric::Dsc);
  EXPECT_EQ(dsc.axisTitle, "DSC");
  EXPECT_EQ(dsc.organs, (std::vector<std::string>{"liver", "a<b"}));
  ASSERT_EQ(dsc.series.size(), 3u);
  EXPECT_EQ(dsc.series[0].role, ScoreSeriesRole::Fp32VsTruth);
  EXPECT_EQ(dsc.series[1].role, ScoreSeriesRole::QuantizedVsTruth);
  EXPECT_EQ(dsc.series[2].role, ScoreSeriesRole::QuantizedVsFp32);
  EXPECT_EQ(dsc.series[2].name, "INT W4A4 vs FP32");
  EXPECT_DOUBLE_EQ(dsc.series[1].values[0], 0.81);
  EXPECT_TRUE(std::isnan(dsc.series[1].values[1]));

  const ScorePlotRows nsd = scorePlotRows(t, ScoreMetric::Nsd);
  EXPECT_EQ(nsd.axisTitle, "NSD @ 1.5 mm");
  EXPECT_DOUBLE_EQ(nsd.series[0].values[0], 0.8);
  EXPECT_NE(nsd.tooltips[0].find("tolerance 1.5 mm"), std::string::npos) << nsd.tooltips[0];
  // Organ names are rich text in the tooltip: escaped.
  EXPECT_NE(nsd.tooltips[1].find("<b>a&lt;b</b>"), std::string::npos) << nsd.tooltips[1];

  const ScorePlotRows agreementOnly = scorePlotRows(twoOrgans(false), ScoreMetric::Dsc);
  ASSERT_EQ(agreementOnly.series.size(), 1u);
  EXPECT_EQ(agreementOnly.series[0].role, ScoreSeriesRole::QuantizedVsFp32);
}

TEST(ScoreRows, LegendShowsTheDropAgainstGroundTruthElseTheAgreement) {
  const ComparisonTable withTruth = twoOrgans(true), without = twoOrgans(false);
  EXPECT_EQ(legendDetailTitle(withTruth), "DSC vs GT");
  EXPECT_EQ(legendDetail(withTruth, withTruth.organs[0]), "0.810 (10.0%)");
  EXPECT_EQ(legendDetailTitle(without), "DSC vs FP32");
  EXPECT_EQ(legendDetail(without, without.organs[0]), "0.950");
}

}  // namespace
}  // namespace mqb::gui
