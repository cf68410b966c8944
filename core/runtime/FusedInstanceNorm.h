#pragma once
// Instance normalisation (+ the LeakyReLU that follows it in nnU-Net-style blocks) as one
// operator. LibTorch 1.13 computes instance_norm through batch_norm with scalar double
// loops for the statistics and then runs leaky_relu_ as another pass: 12 % + 2 % of a 48^3
// window of the zoo CNN on one thread, about 1 GB/s. Here each (image, channel) plane is
// read twice (mean, then squared deviations, from L2 for the plane sizes of 3D windows)
// and written once, in vectorised float blocks summed in double.
#include <torch/csrc/jit/ir/ir.h>
#include <torch/torch.h>

#include <functional>
#include <optional>

namespace mqb {

// instance_norm(x, weight, bias, use_input_stats=true, eps) over every dim after the
// first two of x [N, C, ...] (float32), then LeakyReLU(slope) when `slope` is given.
// `weight` / `bias` [C] or undefined (1 / 0).
torch::Tensor fusedInstanceNorm(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                                double eps, std::optional<double> slope);

// One (image, channel) plane's normalisation y = (x - centre) * scale + shift, with the
// channel's weight / bias folded in. Subtracting the float mean first keeps the result
// exact where x * scale and the mean's share would nearly cancel (a large offset, or a
// plane of one voxel, where scale is 1 / sqrt(eps)).
struct PlaneNorm {
  float centre = 0, scale = 1, shift = 0;
};

// Writes every (image, channel) plane of `x` [N, C, ...] (contiguous float32; weight /
// bias [C] or undefined, sizes checked by the caller) into the same place of `out`
// (contiguous, x's shape) with `write(xs, ys, n, channel, norm)`, planes in parallel: the
// one loop of the fused norm and of the quantization hook that takes a norm in.
using NormPlaneWriter =
    std::function<void(const float* xs, float* ys, int64_t n, int64_t channel, const PlaneNorm& norm)>;
void forEachInstanceNormPlane(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                              double eps, const torch::Tensor& out, const NormPlaneWriter& write);

// Process-wide switch, read when a model or a quantized graph is built. Default on;
// MQB_FUSED_NORM=0 in the environment keeps LibTorch's instance_norm (A/B measurements).
bool fusedInstanceNormEnabled();

// Rewrites, in a frozen graph, every aten::instance_norm that uses the input's statistics
// (no running stats) with constant weight, bias and eps into mqb::instance_norm, taking
// in the aten::leaky_relu(_) with a constant slope that is its only use. Returns the
// number of norms rewritten (0 when this switch or the fast-convolution switch is off).
int useFusedInstanceNorms(torch::jit::Graph& graph);

}  // namespace mqb
