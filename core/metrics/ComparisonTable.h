#pragma once
// The score table of one comparison: a model's FP32 and quantized segmentations of one CT,
// per organ against the ground truth and against each other (SPEC section 6). Plain data
// without torch: the study fills it, the desktop application shows and exports it.
#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "metrics/SegmentationMetrics.h"

namespace mqb {

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
  std::string precision;      // "INT W4A4" (quant::Precision::title())
  std::string configuration;  // quant::QuantConfig::describe()
  bool haveTruth = false;
  double toleranceMm = kDefaultNsdToleranceMm;
  std::vector<OrganComparison> organs;
  double meanFp32Dsc = NAN, meanFp32Nsd = NAN, meanQuantDsc = NAN, meanQuantNsd = NAN;
  double meanAgreeDsc = NAN, meanAgreeNsd = NAN;
  bool empty() const { return organs.empty(); }
};

}  // namespace mqb
