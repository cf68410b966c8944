// Compile-time guard: the value headers the desktop application includes next to Qt must
// stay free of torch. This file is compiled with core's directory and nlohmann_json as the
// only include paths (no LibTorch), after the macros Qt defines, so a torch include or an
// identifier Qt's macros break fails the build (tests/core/CMakeLists.txt).
#define slots
#define signals public
#define emit
#define foreach(x) for (x)

#include "metrics/ComparisonTable.h"
#include "quant/CalibrationMethod.h"
#include "quant/HistogramBins.h"
#include "quant/int8/Int8Support.h"
#include "quant/LayerAnalysisResult.h"
#include "quant/QuantConfig.h"
#include "quant/int8/RealInt8Measurement.h"

#ifdef TORCH_API
#error "a torch-free value header pulled in LibTorch"
#endif

namespace {
// Referencing the types makes the compiler instantiate their members too.
[[maybe_unused]] size_t guardUse(const mqb::quant::QuantConfig& c, const mqb::quant::LayerAnalysisRows& r,
                                 const mqb::ComparisonTable& t) {
  return mqb::quant::QuantConfigHash()(c) + r.layers.size() + t.organs.size();
}
}  // namespace
