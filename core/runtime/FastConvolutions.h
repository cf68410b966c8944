#pragma once
// LibTorch 1.13 sends a batch-1 3D convolution with N*C*D*H <= 20480 to its native
// vol2col + GEMM kernel (slow_conv3d) instead of oneDNN: a heuristic written for 2D images
// that catches most convolutions of a 3D segmentation network (14 of the zoo CNN's 19 at
// 48^3), which then run 2-3x slower. Rewriting a frozen graph's float convolutions with
// constant weights into oneDNN convolutions whose weights are reordered once (the pass
// behind torch.jit.optimize_for_inference) removes that for the FP32 model and for the
// fake-quantized graphs alike: the quantization hooks stay where they are, on dense
// tensors, and the convolution in between runs in oneDNN.
#include <torch/csrc/jit/ir/ir.h>

#include <memory>

namespace mqb {

// Process-wide switch, read when a model or a quantized graph is built. Default on;
// MQB_FAST_CONV=0 in the environment turns it off (A/B measurements against the native
// LibTorch kernels, and a fallback should a oneDNN build misbehave).
bool fastConvolutionsEnabled();
void setFastConvolutions(bool enabled);

// Rewrites `graph` (frozen: weights are constants) in place when the switch is on and
// LibTorch has oneDNN, and turns transposed convolutions whose kernel equals their stride
// into a oneDNN pointwise convolution and a scatter (StrideTransposedConvolution.h);
// returns the number of convolutions now in oneDNN (MQB_STRIDE_TRANSPOSED=0 in the
// environment keeps LibTorch's transposed convolutions, for A/B measurements). Node
// attributes on convolutions (QuantizableGraph's op names) are removed: see the .cpp.
int useFastConvolutions(std::shared_ptr<torch::jit::Graph>& graph);

}  // namespace mqb
