#pragma once
// The float <-> uint8 transitions around LibTorch's integer kernels, as TorchScript
// operators (mqb::int8_*). LibTorch 1.13 without fbgemm quantizes and dequantizes with a
// scalar loop (about 6 ns per element here, more than the integer convolution saves) and
// its quantized convolutions want channels-last input: these do it in one vectorisable
// pass that also transposes NC(D)HW <-> N(D)HWC. int8_dequantize_norm additionally folds
// the instance norm (and LeakyReLU) that follows every convolution of nnU-Net-style
// networks into the dequantization: statistics are taken from the integer tensor, the
// normalised activation is written once, in float32.
#include <torch/torch.h>

#include <vector>

namespace mqb::quant {

// x (float) -> quint8 with `scale` and `zeroPoint`, channels-last for 4-D/5-D tensors.
// The level is round_half_even(clamp(x / scale, -zeroPoint, 255 - zeroPoint)) + zeroPoint,
// the element rule of fake quantization (quant/QuantGrid.h), so inside the calibrated range the
// integer model sees exactly the simulated levels.
torch::Tensor int8Quantize(const torch::Tensor& x, double scale, int64_t zeroPoint);
// quint8 (any memory format) -> contiguous float32 (NC(D)HW).
torch::Tensor int8Dequantize(const torch::Tensor& q);
// instance_norm(dequantize(q), weight, bias, eps) followed by leaky_relu(slope) when
// `activation`; q is [N, C, spatial...]; result contiguous float32.
torch::Tensor int8DequantizeNorm(const torch::Tensor& q, const c10::optional<torch::Tensor>& weight,
                                 const c10::optional<torch::Tensor>& bias, double eps, double slope, bool activation);

// The same normalisation requantized at once to the next integer op's input grid (scale,
// zeroPoint): uint8 in, uint8 out (channels-last), through a per-(image, channel) table of
// the 256 input levels. Equal to int8Quantize(int8DequantizeNorm(q, ...), scale, zeroPoint)
// element for element, without the float tensor in between.
torch::Tensor int8NormRequantize(const torch::Tensor& q, const c10::optional<torch::Tensor>& weight,
                                 const c10::optional<torch::Tensor>& bias, double eps, double slope, bool activation,
                                 double scale, int64_t zeroPoint);

// quint8 -> quint8 on another grid: the level int8Quantize(int8Dequantize(q), scale,
// zeroPoint) gives, through a 256-entry table; channels-last out.
torch::Tensor int8Requantize(const torch::Tensor& q, double scale, int64_t zeroPoint);
// Concatenation along channels of quint8 tensors on one grid, channels-last out (the layout
// the next integer kernel reads): the cat of a U-Net decoder without leaving uint8.
torch::Tensor int8CatChannels(const std::vector<torch::Tensor>& parts);

// Makes sure the operators are registered (static libraries drop unreferenced registrars);
// every program that may load an INT8 model file calls it.
void registerInt8Operators();

}  // namespace mqb::quant
