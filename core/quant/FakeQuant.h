#pragma once
// Fake quantization kernels (SPEC sections 1-2): quantize then dequantize float32 CPU
// tensors, for every granularity the engine offers. Each element follows
// fakeQuantValue() of QuantGrid.h exactly, i.e. round(x / s) with a true division (not
// x * (1/s), which differs from the SPEC at exact half points such as x/s = 2.5), ties
// to even.
//
// Inputs must be float32 on the CPU; non-contiguous inputs are copied to contiguous
// memory first. Results are contiguous. The *Into variants write into a preallocated
// contiguous float32 `out` of the input's shape, which may be the input itself (in-place);
// any other overlap between `out` and the input is not supported.
//
// The kernels parallelise with at::parallel_for (at::get_num_threads() threads). That
// needs mqb_core to be compiled with OpenMP, like LibTorch itself, or they run serially.
#include "quant/QuantGrid.h"

#include <torch/torch.h>

namespace mqb::quant {

// Static grid: per-tensor (grid.axis == kPerTensor) or per-channel along grid.axis, whose
// size must equal the number of groups. For conv inputs [N,C,D,H,W] per-channel is axis 1;
// for conv weights axis 0; for ConvTranspose3d weights [Ci,Co/g,k,k,k] axis 1.
torch::Tensor fakeQuant(const torch::Tensor& x, const QuantGrid& grid);
void fakeQuantInto(const torch::Tensor& x, const QuantGrid& grid, const torch::Tensor& out);
// fakeQuantInto(leaky_relu(x, negativeSlope)) in one pass, bit-identical to the two steps
// (ATen's leaky_relu: x > 0 ? x : x * float(slope)): the activation in front of a quantized
// op is folded into its quantization instead of streaming the tensor twice.
void fakeQuantLeakyInto(const torch::Tensor& x, double negativeSlope, const QuantGrid& grid, const torch::Tensor& out);

// fakeQuantInto(leaky_relu(instance_norm(x, weight, bias, eps), slope)) for x [N, C, ...]
// and a per-tensor or per-channel (axis 1) grid: the norm's statistics pass, then one pass
// writing quantized values (runtime/FusedInstanceNorm.h's arithmetic, so the values equal
// mqb::instance_norm followed by fakeQuantLeakyInto). `weight` / `bias` [C] or undefined.
void fakeQuantNormLeakyInto(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                            double eps, double negativeSlope, const QuantGrid& grid, const torch::Tensor& out);

// Dynamic per-voxel / per-token quantization: every position (all indices except
// `channelDim`) gets its own grid, computed from the values along `channelDim` at that
// position: amax = max |x| (symmetric) or min/max widened to contain 0 (asymmetric).
// Only finite values enter these ranges: a NaN element stays NaN and an infinite one
// saturates at the grid's end, without disturbing the rest of its voxel or token.
// channelDim is 1 for conv inputs [N,C,D,H,W] (per-voxel) and -1 (the last dimension)
// for linear inputs [..., T, C] (per-token); negative values count from the end.
// The statistics and the quantization are fused: channel-strided inputs are processed in
// blocks of contiguous positions whose per-position range stays in cache between the
// reduction pass and the quantization pass, so no full-size temporary is ever made.
torch::Tensor fakeQuantDynamic(const torch::Tensor& x, int64_t channelDim, int bits, bool symmetric = true);
void fakeQuantDynamicInto(const torch::Tensor& x, int64_t channelDim, int bits, bool symmetric,
                          const torch::Tensor& out);

// Min-max grid of a weight tensor: per output channel along `perChannelAxis`, or one grid
// for the whole tensor when it is kPerTensor (-1). Weights are quantized once per
// configuration, so this favours clarity over speed.
QuantGrid weightGrid(const torch::Tensor& weight, int64_t perChannelAxis, int bits, bool symmetric = true);
// fakeQuant(weight, weightGrid(...)): a new tensor, the weight itself is left untouched.
torch::Tensor fakeQuantWeight(const torch::Tensor& weight, int64_t perChannelAxis, int bits, bool symmetric = true);

}  // namespace mqb::quant
