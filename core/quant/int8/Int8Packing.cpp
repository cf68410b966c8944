#include "quant/int8/Int8Packing.h"

#include <ATen/core/dispatch/Dispatcher.h>

#include "support/Error.h"
#include "quant/FakeQuant.h"

namespace mqb::quant {
namespace {

c10::IValue callPrepack(const std::string& name, std::vector<c10::IValue> stack) {
  const auto op = c10::Dispatcher::singleton().findSchemaOrThrow(name.c_str(), "");
  op.callBoxed(&stack);
  if (stack.size() != 1) throw Error(name + ": unexpected result");
  return stack[0];
}

c10::IValue optionalTensor(const c10::optional<torch::Tensor>& t) {
  return t && t->defined() ? c10::IValue(t->contiguous()) : c10::IValue();
}

}  // namespace

Uint8QParams activationQParams(const QuantGrid& grid) {
  if (grid.bits != 8 || grid.groups.size() != 1)
    throw Error("integer kernels need an 8-bit per-tensor activation grid");
  const GroupGrid& g = grid.groups[0];
  Uint8QParams p;
  p.scale = g.scale;
  p.zeroPoint = grid.symmetric ? 128 : static_cast<int64_t>(g.zeroPoint);
  return p;
}

Uint8QParams outputQParams(float min, float max) {
  const GroupGrid g = asymmetricGroup(min, max, 8);
  return {g.scale, static_cast<int64_t>(g.zeroPoint)};
}

torch::Tensor quantizeWeightInt8(const torch::Tensor& weight, int64_t axis) {
  const torch::Tensor w = weight.to(torch::kFloat).contiguous();
  const QuantGrid grid = weightGrid(w, axis, 8, /*symmetric=*/true);
  std::vector<float> scales;
  for (const GroupGrid& g : grid.groups) scales.push_back(g.scale);
  torch::Tensor s = torch::tensor(scales, torch::kFloat);
  if (axis != kPerTensor) {
    std::vector<int64_t> shape(static_cast<size_t>(w.dim()), 1);
    shape[static_cast<size_t>(axis)] = w.size(axis);
    s = s.reshape(shape);
  }
  // Division, clamp, then round half to even: the element rule of fakeQuantValue.
  const torch::Tensor levels = (w / s).clamp(-127.0, 127.0).round().to(torch::kChar);
  if (axis == kPerTensor) return at::_make_per_tensor_quantized_tensor(levels, scales[0], 0);
  return at::_make_per_channel_quantized_tensor(levels, torch::tensor(scales, torch::kDouble),
                                                torch::zeros({static_cast<int64_t>(scales.size())}, torch::kLong),
                                                axis);
}

std::string convolutionKernel(const ConvGeometry& g) {
  return std::string("quantized::conv") + (g.transposed ? "_transpose" : "") + std::to_string(g.spatialDims) + "d";
}

c10::IValue prepackConvolution(const torch::Tensor& qweight, const c10::optional<torch::Tensor>& bias,
                               const ConvGeometry& g) {
  const std::string name = convolutionKernel(g) + "_prepack";
  if (g.transposed)
    return callPrepack(name,
                       {qweight, optionalTensor(bias), g.stride, g.padding, g.outputPadding, g.dilation, g.groups});
  return callPrepack(name, {qweight, optionalTensor(bias), g.stride, g.padding, g.dilation, g.groups});
}

c10::IValue prepackLinear(const torch::Tensor& qweight, const c10::optional<torch::Tensor>& bias) {
  return callPrepack("quantized::linear_prepack", {qweight, optionalTensor(bias)});
}

}  // namespace mqb::quant
