#include "ExecutionSummary.h"

#include <cstdio>

namespace mqb::gui {

std::string describeExecution(const quant::QuantConfig& config, const quant::RealInt8Measurement* measured) {
  if (config.precision.floatingPoint && config.opPrecision.empty()) return "FP32";
  std::string text = config.precision.id() + " " + quant::granularityId(config.granularity);
  if (config.execution != quant::Execution::RealInt8) return text + ", simulated";
  text += ", real INT8";
  if (!measured) return text;
  char buffer[160];
  std::snprintf(buffer, sizeof buffer, " (%s): %.1f s", measured->engine.c_str(), measured->seconds);
  text += buffer;
  if (measured->fp32Windows > 0) {
    std::snprintf(buffer, sizeof buffer, ", FP32 %.1f s, %.2fx", measured->fp32Seconds, measured->speedup());
    text += buffer;
  }
  if (measured->sizeRatio() > 0) {
    std::snprintf(buffer, sizeof buffer, ", model %.2fx the FP32 file", measured->sizeRatio());
    text += buffer;
  }
  return text;
}

}  // namespace mqb::gui
