#pragma once
// Plain data shared between the Qt-free analysis session (which talks to LibTorch) and the
// Qt front end. Nothing here includes torch or Qt headers, so the widgets can include it
// (torch uses the identifier `slots`, which Qt defines as a macro).
#include <array>
#include <cmath>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "ClassInfo.h"
#include "ModelMetadata.h"
#include "SegmentationMetrics.h"
#include "Volume.h"

namespace mqb::gui {

// One quantizable operation of the loaded model (QuantizableGraph::ops()).
struct OpInfo {
  int index = 0;
  std::string name;        // "encoder.2.conv1"
  std::string kind;        // "conv", "conv_transpose", "linear", "matmul"
  std::string modulePath;
  std::vector<int64_t> weightShape;  // empty for activation matmuls
  int64_t parameters = 0;
  bool pointwise = false;
  std::string shapeText() const;  // "32x16x3x3x3" or "--"
};

struct ModelInfo {
  std::string path;
  ModelMetadata metadata;
  int64_t parameterCount = 0;
  std::vector<OpInfo> ops;
  // What the engine can quantize of the model (SPEC section 4, quant::coverageOf without a
  // configuration): "81/105 contractions quantized (92.1 % of the MACs per patch); ...",
  // and every contraction that stays FP32 whatever the configuration, with the reason.
  std::string coverage;
  std::vector<std::pair<std::string, std::string>> fp32Contractions;  // name, reason
};

// The user's quantization settings: the torch-free mirror of quant::QuantConfig (same JSON
// keys, validated through QuantConfig::fromJson by the session).
struct QuantSettings {
  bool floatingPoint = false;  // "FP32": the quantized pane shows the model unquantized
  int weightBits = 8;
  int activationBits = 8;
  std::string granularity = "per-channel";  // per-tensor | per-channel | per-voxel | adaptive
  std::string calibrator = "minmax";        // minmax | percentile[:p] | mse | entropy
  bool symmetric = true;
  int calibrationPatches = 16;
  uint32_t calibrationSeed = 0;
  bool quantizeActivationMatmul = true;
  std::set<std::string> excludedOps;

  std::string precisionId() const;  // "W4A4" / "FP32"
  nlohmann::json toJson() const;    // QuantConfig JSON
  // Throws mqb::Error for invalid values (through QuantConfig::fromJson).
  static QuantSettings fromJson(const nlohmann::json& j);
  // "W4A4 adaptive, symmetric, minmax" (QuantConfig::describe()).
  std::string describe() const;
  // What the calibration statistics depend on (besides model + volume).
  std::string calibrationKey() const;
  bool operator==(const QuantSettings& o) const { return toJson() == o.toJson(); }
  bool operator!=(const QuantSettings& o) const { return !(*this == o); }
};

// One row of the per-organ comparison (NaN = organ absent from both masks, skipped).
struct OrganComparison {
  int id = 0;
  std::string name;
  std::array<uint8_t, 3> color{0, 0, 0};
  double fp32Dsc = NAN, fp32Nsd = NAN;    // FP32 vs ground truth
  double quantDsc = NAN, quantNsd = NAN;  // quantized vs ground truth
  double agreeDsc = NAN, agreeNsd = NAN;  // quantized vs FP32 ("agreement")
  int64_t fp32Voxels = 0, quantVoxels = 0, truthVoxels = 0;
};

struct ComparisonTable {
  std::string modelName;
  std::string framework, architecture, category;
  std::string modelPath, volumeName;
  int64_t parameterCount = 0;
  std::string precision;       // "INT W4A4"
  std::string configuration;   // QuantSettings::describe()
  bool haveTruth = false;
  double toleranceMm = kDefaultNsdToleranceMm;
  std::vector<OrganComparison> organs;
  double meanFp32Dsc = NAN, meanFp32Nsd = NAN, meanQuantDsc = NAN, meanQuantNsd = NAN;
  double meanAgreeDsc = NAN, meanAgreeNsd = NAN;
  bool empty() const { return organs.empty(); }
};

// Per-op layer analysis summary for the plots (filled when core/quant/LayerAnalysis.h exists).
struct LayerErrorRow {
  std::string op;
  double isolatedSqnrDb = NAN;
  double cumulativeSqnrDb = NAN;
  double isolatedMse = NAN, cumulativeMse = NAN;
  double isolatedCosine = NAN, cumulativeCosine = NAN;
  double shift = NAN;  // distribution-shift distance of the op input
};

struct ActivationHistogram {
  std::string op;
  int slot = 0;
  std::vector<double> edges;   // counts.size() + 1
  std::vector<double> counts;  // FP32 calibration distribution
  std::string scheme;  // "static per-tensor", "dynamic per-voxel", "fp32", ...
  // The same input on the analysis patches: FP32 run and cumulative quantized run (common bins).
  std::vector<double> fp32RunEdges, fp32RunCounts;
  std::vector<double> quantizedEdges, quantizedCounts;
  double clipLow = NAN, clipHigh = NAN;
  std::vector<double> levels;  // quantization levels inside the clip range (may be thinned)
  double clippedFraction = NAN;
  double shift = NAN;
  std::string shiftName;  // "W1", "KL"
};

struct LayerAnalysisResult {
  std::string configuration;
  std::vector<LayerErrorRow> layers;          // graph order
  std::vector<std::string> sensitivity;       // most sensitive first (lowest isolated SQNR)
  std::vector<ActivationHistogram> histograms;  // one per op input, graph order
  double seconds = 0;
  bool empty() const { return layers.empty(); }
};

}  // namespace mqb::gui
