#pragma once
// Which configurations LibTorch's integer kernels can run (SPEC section 9), torch-free so the
// desktop application can say why before anything runs. Int8Model::checkConfig throws it.
#include <string>

#include "quant/QuantConfig.h"

namespace mqb::quant {

// "" when real INT8 execution can run `config` (W8A8, per-tensor or per-channel), else one
// line saying what to choose instead.
std::string realInt8Problem(const QuantConfig& config);

}  // namespace mqb::quant
