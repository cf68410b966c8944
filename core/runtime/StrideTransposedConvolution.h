#pragma once
// A 3D transposed convolution whose kernel equals its stride (the 2x2x2 stride-2
// upsampling of U-Net decoders) writes every output voxel from exactly one input voxel:
// it is a pointwise (1x1x1) convolution to Co*kd*kh*kw channels followed by a scatter of
// those channels into the output's interleaved positions. LibTorch 1.13 has no oneDNN
// kernel for transposed convolutions; its native one (slow_conv_transpose3d) spent 24 ms
// of a ~250 ms 48^3 window of the zoo CNN on the last decoder stage alone. Rewritten, the
// pointwise convolution runs in oneDNN like every other convolution (same OpenMP threads,
// no BLAS thread pool spinning against them) and the scatter is one pass over the output.
#include <torch/csrc/jit/ir/ir.h>
#include <torch/torch.h>

#include <array>

namespace mqb {

// The weight [Ci, Co, kd, kh, kw] as a pointwise convolution weight [Co*K, Ci, 1, 1, 1]
// (K = kd*kh*kw): output channel co*K + (i*kh + j)*kw + l holds weight[:, co, i, j, l].
torch::Tensor strideTransposedPointwiseWeight(const torch::Tensor& weight);

// The transposed convolution's output from the pointwise convolution's `products`
// [N, Co*K, D, H, W]: out[n, co, d*kd+i, h*kh+j, w*kw+l] = products[n, co*K+tap, d, h, w]
// + bias[co] (`bias` [Co] or undefined).
torch::Tensor strideTransposedScatter(const torch::Tensor& products, const torch::Tensor& bias,
                                      const std::array<int64_t, 3>& kernel);

// Rewrites, before ConvertFrozenOpsToMKLDNN, every transposed 3D convolution of `graph`
// (frozen; aten::_convolution with transposed=true as tracing records it, or
// aten::conv_transpose3d) that has a constant float weight, stride == kernel size, no
// padding, no output padding, dilation 1 and one group into aten::conv3d (pointwise, no
// bias) + mqb::stride_scatter. Returns the number of convolutions rewritten.
int useStrideTransposedConvolutions(torch::jit::Graph& graph);

}  // namespace mqb
