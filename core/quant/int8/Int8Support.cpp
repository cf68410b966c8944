#include "quant/int8/Int8Support.h"

namespace mqb::quant {

std::string realInt8Problem(const QuantConfig& c) {
  if (c.precision.floatingPoint || c.precision.weightBits != 8 || c.precision.activationBits != 8)
    return "real INT8 execution runs W8A8 only (got " + c.precision.id() + "); other precisions are simulated";
  // The kernels take one activation scale per tensor; weights may be per output channel.
  if (c.granularity != Granularity::PerTensor && c.granularity != Granularity::PerChannel)
    return "real INT8 execution runs W8A8 with static per-tensor activation scales: choose granularity "
           "per-tensor or per-channel (per-channel weights), not " + granularityId(c.granularity);
  return {};
}

}  // namespace mqb::quant
