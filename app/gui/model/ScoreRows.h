#pragma once
// What the analysis tabs and the organ legend show of a ComparisonTable: the score table's
// header and rows, the DSC / NSD bar series with their tooltips, and the legend's detail
// column. Qt-free; the widgets copy these strings and numbers into their Qt types.
#include <string>
#include <vector>

#include "SessionTypes.h"

namespace mqb::gui {

// Which comparison a bar series shows; the widget picks the colour from it.
enum class ScoreSeriesRole { Fp32VsTruth, QuantizedVsTruth, QuantizedVsFp32 };

struct ScoreSeries {
  std::string name;  // "FP32 vs GT", "INT W4A4 vs FP32"
  ScoreSeriesRole role = ScoreSeriesRole::QuantizedVsFp32;
  std::vector<double> values;  // one per organ, NaN = no bar
};

struct ScorePlotRows {
  std::string axisTitle;              // "DSC", "NSD @ 2 mm"
  std::vector<std::string> organs;    // category names
  std::vector<ScoreSeries> series;    // vs GT (when there is ground truth), then vs FP32
  std::vector<std::string> tooltips;  // one per organ, rich text
};

enum class ScoreMetric { Dsc, Nsd };

ScorePlotRows scorePlotRows(const ComparisonTable& table, ScoreMetric metric);

struct ScoreTableRows {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // one per organ, then "mean"
};

// Organ | FP32 DSC | Q DSC (Δ%) | FP32 NSD | Q NSD (Δ%) (with ground truth) | DSC vs FP32 |
// NSD vs FP32 | FP32 voxels | Q voxels; the last row is the mean (no voxel counts).
ScoreTableRows scoreTableRows(const ComparisonTable& table);

// The organ legend: its detail column title and header tooltip, and one value per organ.
std::string legendDetailTitle(const ComparisonTable& table);
std::string legendDetailTooltip(const ComparisonTable& table);
std::string legendDetail(const ComparisonTable& table, const OrganComparison& organ);

}  // namespace mqb::gui
