#include "quant/int8/Int8Support.h"

namespace mqb::quant {

std::string realInt8Problem(const QuantConfig& c) {
  if (c.precision.floatingPoint || c.precision.weightBits != 8 || c.precision.activationBits != 8)
    return "real INT8 execution runs W8A8 only (got " + c.precision.id() + "); other precisions are simulated";
  // The kernels take one activation scale per tensor; weights may be per output channel.
  if (c.granularity != Granularity::PerTensor && c.granularity != Granularity::PerChannel)
    return "real INT8 execution runs W8A8 with static per-tensor activation scales: choose granularity "
           "per-tensor or per-channel (per-channel weights), not " +
           granularityId(c.granularity);
  if (c.edgeBits != 0 && c.edgeBits != 8)
    return "real INT8 execution runs every op at W8A8: edge bits " + std::to_string(c.edgeBits) + " are simulated only";
  // The INT8 builder packs round-to-nearest weights; methods are simulated only for now.
  if (!c.method.roundToNearest())
    return "real INT8 execution packs round-to-nearest weights only: method " + c.method.id() +
           " runs simulated (execution simulated)";
  return {};
}

}  // namespace mqb::quant
