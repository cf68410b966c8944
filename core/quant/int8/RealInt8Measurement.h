#pragma once
// What a real-INT8 run (QuantConfig::execution == RealInt8) measured next to FP32: time per
// sliding window of both (the same windows, the same process), and the size of the INT8
// model file against the FP32 one. Torch-free: the desktop application shows it.
#include <cstdint>
#include <string>

namespace mqb::quant {

struct RealInt8Measurement {
  std::string engine;  // the integer kernels' engine: onednn / qnnpack
  std::string graph;   // Int8GraphOptions::id
  int integerOps = 0, totalOps = 0;
  double seconds = 0;  // INT8 whole volume
  int windows = 0;
  double fp32Seconds = 0;  // FP32 whole volume; 0 while FP32 has not run
  int fp32Windows = 0;
  int64_t modelBytes = 0;      // the INT8 model as `export-int8` writes it
  int64_t fp32ModelBytes = 0;  // the FP32 model file; 0 when there is no file

  double secondsPerWindow() const { return windows > 0 ? seconds / windows : 0.0; }
  double fp32SecondsPerWindow() const { return fp32Windows > 0 ? fp32Seconds / fp32Windows : 0.0; }
  // Per window, so runs over different window counts (preview vs volume) still compare; 0 = unknown.
  double speedup() const {
    return secondsPerWindow() > 0 && fp32SecondsPerWindow() > 0 ? fp32SecondsPerWindow() / secondsPerWindow() : 0.0;
  }
  double sizeRatio() const { return fp32ModelBytes > 0 ? double(modelBytes) / double(fp32ModelBytes) : 0.0; }
};

}  // namespace mqb::quant
