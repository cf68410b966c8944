#pragma once
// What a quantization run is: precision (W/A bits), granularity, symmetry, calibrator and
// per-op exceptions (SPEC sections 1-4). Plain data with a JSON form, so runs are
// reproducible, and parsing that rejects anything ambiguous with a clear message.
// Torch-free, so the desktop application's widgets use it directly (and
// tests/core/guard_torch_free_headers.cpp keeps it so).
#include <cstddef>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "quant/CalibrationMethod.h"
#include "quant/QuantMethod.h"

namespace mqb::quant {

enum class Granularity { PerTensor, PerChannel, PerVoxel, Adaptive };

// "per-tensor", "per-channel" (alias "per-token"), "per-voxel", "adaptive"
// (alias "adaptive-stratification"). Throws mqb::Error listing the valid names.
Granularity parseGranularity(const std::string& text);
std::string granularityId(Granularity g);     // "per-channel"
std::string granularityTitle(Granularity g);  // "Per-channel" / "Adaptive stratification"
// Every granularity, in the order a user is offered them (the GUI's combo box).
const std::vector<Granularity>& allGranularities();

// How a configuration runs: simulated (fake quantization in float32, every scheme) or on
// LibTorch's integer kernels (W8A8, static per-tensor activations; SPEC section 9).
enum class Execution { Simulated, RealInt8 };
// "simulated", "real-int8" (alias "int8", "real"). Throws mqb::Error listing the valid names.
Execution parseExecution(const std::string& text);
std::string executionId(Execution e);

struct Precision {
  bool floatingPoint = true;  // FP32: no quantization at all
  int weightBits = 32;
  int activationBits = 32;

  static Precision fp32() { return {}; }
  static Precision integer(int w, int a);
  // "FP32", "W8A8", "W4A8", "INT W4A4" (case-insensitive). Bits 2..16, else mqb::Error.
  static Precision parse(const std::string& text);
  std::string id() const;     // "FP32", "W8A8"
  std::string title() const;  // "FP32", "INT W8A8"
  bool operator==(const Precision& o) const {
    return floatingPoint == o.floatingPoint &&
           (floatingPoint || (weightBits == o.weightBits && activationBits == o.activationBits));
  }
  bool operator!=(const Precision& o) const { return !(*this == o); }
};

// What calibration statistics depend on besides model, volume and ground truth: the
// sampled patches. Not bits, granularity, symmetry or calibrator (one pass serves them all).
struct CalibrationKey {
  int patches = 16;
  uint32_t seed = 0;
  bool operator==(const CalibrationKey& o) const { return patches == o.patches && seed == o.seed; }
  bool operator!=(const CalibrationKey& o) const { return !(*this == o); }
  bool operator<(const CalibrationKey& o) const { return patches != o.patches ? patches < o.patches : seed < o.seed; }
};

struct QuantConfig {
  Precision precision = Precision::integer(8, 8);
  Granularity granularity = Granularity::PerChannel;
  bool symmetric = true;
  CalibrationMethod calibrator;  // for static activation scales
  int calibrationPatches = 16;
  uint32_t calibrationSeed = 0;
  bool quantizeActivationMatmul = true;          // attention Q·K^T and A·V
  std::set<std::string> excludedOps;             // kept in FP32
  std::map<std::string, Precision> opPrecision;  // per-op overrides (mixed precision)
  Execution execution = Execution::Simulated;
  QuantMethod method;  // how the quantized weights are chosen (SPEC section 10)
  // > 0: the contractions reading the model input and those producing its output run at
  // W<edgeBits>A<edgeBits> (SPEC section 10, "edge layers") unless an op has its own precision.
  int edgeBits = 0;

  // `edgeOp`: the op reads the model input or produces its output (QuantOp::edge()).
  Precision precisionOf(const std::string& opName, bool edgeOp = false) const;
  CalibrationKey calibrationKey() const { return {calibrationPatches, calibrationSeed}; }
  std::string describe() const;  // "W4A4 adaptive, symmetric, minmax, 2 ops FP32"
  nlohmann::json toJson() const;
  static QuantConfig fromJson(const nlohmann::json& j);
  // Same run: every field that changes a result (an FP32 precision ignores its bits).
  bool operator==(const QuantConfig& o) const;
  bool operator!=(const QuantConfig& o) const { return !(*this == o); }
};

struct QuantConfigHash {
  size_t operator()(const QuantConfig& c) const;
};

}  // namespace mqb::quant
