#pragma once
// SPEC section 9 conventions for the integer kernels: how a calibrated activation grid
// maps to uint8 with a zero point, how an op output is requantized, and how a weight
// becomes int8 narrow range [-127, 127] (the same scales and levels fake quantization
// uses) packed for LibTorch's quantized::conv / conv_transpose / linear.
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "quant/QuantGrid.h"

namespace mqb::quant {

struct Uint8QParams {
  double scale = 1.0;
  int64_t zeroPoint = 0;
};

// A static per-tensor grid as uint8: symmetric [-a, a] -> scale a/127, zero point 128
// (inside [-a, a] the levels are section 1's; below -a one more level, -128, exists);
// asymmetric -> the grid's own scale and zero point. Throws mqb::Error for other grids.
Uint8QParams activationQParams(const QuantGrid& grid);
// Requantization of an op's output from its calibrated FP32 range (widened to contain 0).
Uint8QParams outputQParams(float min, float max);

// int8 weight with the symmetric 8-bit grid of fakeQuantWeight (axis kPerTensor or the
// per-output-channel axis): levels round(clamp(w / s, -127, 127)), as a quantized tensor.
torch::Tensor quantizeWeightInt8(const torch::Tensor& weight, int64_t axis);

struct ConvGeometry {
  int spatialDims = 3;
  bool transposed = false;
  std::vector<int64_t> stride, padding, dilation, outputPadding;
  int64_t groups = 1;
};

// The packed-parameter objects (TorchScript custom classes; they serialise with
// torch.jit.save) for the current quantized engine.
c10::IValue prepackConvolution(const torch::Tensor& qweight, const c10::optional<torch::Tensor>& bias,
                               const ConvGeometry& geometry);
c10::IValue prepackLinear(const torch::Tensor& qweight, const c10::optional<torch::Tensor>& bias);

// "quantized::conv3d", "quantized::conv_transpose2d", "quantized::linear": the kernel
// that runs a packed op.
std::string convolutionKernel(const ConvGeometry& geometry);

}  // namespace mqb::quant
