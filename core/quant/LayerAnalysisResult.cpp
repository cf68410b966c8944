#include "quant/LayerAnalysisResult.h"

namespace mqb::quant {

LayerAnalysisRows plotRows(const LayerAnalysis& analysis) {
  LayerAnalysisRows rows;
  rows.configuration = analysis.config.describe();
  rows.seconds = analysis.seconds;
  auto finite = [](double v) { return std::isfinite(v) ? v : NAN; };
  for (const OpAnalysis& op : analysis.ops) {
    LayerErrorRow row;
    row.op = op.name;
    if (op.quantized) {
      // +inf SQNR (identical outputs) is shown as a gap.
      row.isolatedSqnrDb = finite(op.isolated.sqnrDb);
      row.cumulativeSqnrDb = finite(op.cumulative.sqnrDb);
      row.isolatedMse = op.isolated.mse;
      row.isolatedCosine = op.isolated.cosine;
    }
    row.cumulativeMse = op.cumulative.mse;
    row.cumulativeCosine = op.cumulative.cosine;
    if (!op.quantized) row.cumulativeSqnrDb = finite(op.cumulative.sqnrDb);
    if (!op.inputs.empty()) row.shift = op.inputs.front().wasserstein1;
    rows.layers.push_back(row);
    for (const InputDistribution& in : op.inputs) {
      ActivationHistogram h;
      h.op = op.name;
      h.slot = in.slot;
      h.scheme = in.scheme;
      h.edges = in.calibration.edges;
      h.counts = in.calibration.counts;
      h.fp32RunEdges = in.fp32Run.edges;
      h.fp32RunCounts = in.fp32Run.counts;
      h.quantizedEdges = in.quantizedRun.edges;
      h.quantizedCounts = in.quantizedRun.counts;
      const bool isStatic = in.scheme.rfind("static", 0) == 0;
      h.clipLow = isStatic ? in.clipLow : NAN;
      h.clipHigh = isStatic ? in.clipHigh : NAN;
      h.levels = in.levels;
      h.clippedFraction = isStatic ? in.clippedFraction : NAN;
      h.shift = in.wasserstein1;
      h.shiftName = "W1";
      rows.histograms.push_back(std::move(h));
    }
  }
  rows.sensitivity = analysis.sensitivityRanking();
  return rows;
}

}  // namespace mqb::quant
