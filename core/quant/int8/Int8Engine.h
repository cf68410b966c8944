#pragma once
// Which LibTorch quantized engine runs the integer kernels (SPEC section 9). Debian's
// LibTorch 1.13 has onednn and qnnpack (no fbgemm). onednn is chosen where it exists: on
// x86 it runs 3-D convolutions with VNNI/AVX2 integer kernels, while qnnpack is built for
// ARM and its conv_transpose3d returns wrong output shapes in 1.13. MQB_INT8_ENGINE
// (onednn / qnnpack) overrides the choice, e.g. for A/B measurements.
#include <string>
#include <vector>

namespace mqb::quant {

std::vector<std::string> availableInt8Engines();
// The engine name for this machine; throws mqb::Error when none is available or the
// environment names one this LibTorch lacks.
std::string chooseInt8Engine();
// Makes `engine` LibTorch's current quantized engine (packing and kernels use it).
void useInt8Engine(const std::string& engine);
std::string currentInt8Engine();

// Whether `engine`'s u8 x s8 kernels may saturate here: on x86 without VNNI, onednn (like
// fbgemm) multiplies activation/weight pairs with vpmaddubsw, whose int16 pair sums
// saturate above 32767 (e.g. levels 200 * 127 * 2). Frameworks then use 7-bit activations
// (reduce_range); MedQuanBench keeps SPEC 9's 8-bit grids and reports the possibility.
bool int8AccumulatorMaySaturate(const std::string& engine);

}  // namespace mqb::quant
