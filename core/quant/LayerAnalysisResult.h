#pragma once
// What a layer-wise analysis of a quantization configuration found (SPEC section 5), as
// plain data without torch: per quantized op the isolated and cumulative error of its
// output (SQNR, MSE, cosine), the FP32 distribution of its inputs over the calibration
// data against the quantization grid, the FP32-vs-quantized distribution shift, weight
// ranges per output channel, and the sensitivity ranking. quant/LayerAnalysis.h computes
// it; the CLI exports its JSON and the desktop application plots its rows (LayerAnalysisRows).
#include <nlohmann/json.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "quant/HistogramBins.h"
#include "quant/QuantConfig.h"

namespace mqb::quant {

struct LayerError {
  double sqnrDb = 0;  // 10 log10(sum y^2 / sum (y - y_hat)^2); +inf when identical
  double mse = 0;
  double cosine = 1;
};

struct InputDistribution {
  int slot = 0;
  std::string scheme;                // "static per-tensor", "static per-channel", "dynamic per-voxel", ...
  HistogramBins calibration;         // FP32 values over the calibration patches (>= 256 bins)
  double clipLow = 0, clipHigh = 0;  // static grids: the clip range (widest group for per-channel)
  std::vector<double> levels;        // per-tensor static grids: every quantization level
  double clippedFraction = 0;        // fraction of calibration values outside the clip range(s)
  HistogramBins fp32Run;             // this op's input in the FP32 run of the analysis patches
  HistogramBins quantizedRun;        // ... and in the cumulative quantized run (common bins)
  double wasserstein1 = 0;           // distance between the two, in the input's units
};

struct OpAnalysis {
  int index = 0;
  std::string name;
  std::string kind;
  bool quantized = true;  // false when excluded / FP32 override
  LayerError isolated;    // only this op quantized, FP32 input
  LayerError cumulative;  // every op quantized, vs the FP32 run at this op
  std::vector<InputDistribution> inputs;
  std::vector<float> weightChannelMin, weightChannelMax;  // per output channel
};

struct LayerAnalysis {
  QuantConfig config;
  int analysisPatches = 0;
  std::vector<OpAnalysis> ops;  // graph order
  double seconds = 0;

  // Op names ordered from the most sensitive (lowest isolated SQNR) to the least.
  std::vector<std::string> sensitivityRanking() const;
  nlohmann::json toJson() const;
};

// The analysis as the plots show it: one error row per op and one histogram per op input,
// with the gaps of a plot as NaN (+inf SQNR of identical outputs, the isolated error of an
// op kept FP32, the clip range of a dynamic scheme).
struct LayerErrorRow {
  std::string op;
  double isolatedSqnrDb = NAN;
  double cumulativeSqnrDb = NAN;
  double isolatedMse = NAN, cumulativeMse = NAN;
  double isolatedCosine = NAN, cumulativeCosine = NAN;
  double shift = NAN;  // distribution-shift distance of the op's first input
};

struct ActivationHistogram {
  std::string op;
  int slot = 0;
  std::vector<double> edges;   // counts.size() + 1
  std::vector<double> counts;  // FP32 calibration distribution
  std::string scheme;          // "static per-tensor", "dynamic per-voxel", "fp32", ...
  // The same input on the analysis patches: FP32 run and cumulative quantized run (common bins).
  std::vector<double> fp32RunEdges, fp32RunCounts;
  std::vector<double> quantizedEdges, quantizedCounts;
  double clipLow = NAN, clipHigh = NAN;
  std::vector<double> levels;  // quantization levels inside the clip range
  double clippedFraction = NAN;
  double shift = NAN;
  std::string shiftName;  // "W1"
};

struct LayerAnalysisRows {
  std::string configuration;                    // QuantConfig::describe()
  std::vector<LayerErrorRow> layers;            // graph order
  std::vector<std::string> sensitivity;         // most sensitive first (lowest isolated SQNR)
  std::vector<ActivationHistogram> histograms;  // one per op input, graph order
  double seconds = 0;
  bool empty() const { return layers.empty(); }
};

LayerAnalysisRows plotRows(const LayerAnalysis& analysis);

}  // namespace mqb::quant
