#include "runtime/StrideTransposedConvolution.h"

#include "runtime/JitGraph.h"

#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <vector>

namespace mqb {
namespace {

const c10::Symbol& scatterSymbol() {
  static const c10::Symbol s = c10::Symbol::fromQualString("mqb::stride_scatter");
  return s;
}

torch::Tensor runScatter(const torch::Tensor& products, const c10::optional<torch::Tensor>& bias,
                         c10::IntArrayRef kernel) {
  TORCH_CHECK(kernel.size() == 3, "mqb::stride_scatter: the kernel needs 3 sizes");
  return strideTransposedScatter(products, bias ? *bias : torch::Tensor(), {kernel[0], kernel[1], kernel[2]});
}

// The inputs of a transposed convolution, whichever node spells it.
struct TransposedInputs {
  torch::jit::Value *input = nullptr, *weight = nullptr, *bias = nullptr, *stride = nullptr, *padding = nullptr,
                    *outputPadding = nullptr, *dilation = nullptr, *groups = nullptr;
};

bool transposedInputs(torch::jit::Node* n, TransposedInputs& in) {
  static const auto convolution = c10::Symbol::fromQualString("aten::_convolution");
  static const auto convTranspose = c10::Symbol::fromQualString("aten::conv_transpose3d");
  const auto& v = n->inputs();
  if (n->kind() == convolution && v.size() >= 12) {
    // (input, weight, bias, stride, padding, dilation, transposed, output_padding, groups, ...)
    const auto transposed = torch::jit::toIValue(v[6]);
    if (!transposed || !transposed->isBool() || !transposed->toBool()) return false;
    in = {v[0], v[1], v[2], v[3], v[4], v[7], v[5], v[8]};
    return true;
  }
  if (n->kind() == convTranspose && v.size() == 8) {
    // (input, weight, bias, stride, padding, output_padding, groups, dilation)
    in = {v[0], v[1], v[2], v[3], v[4], v[5], v[7], v[6]};
    return true;
  }
  return false;
}

bool rewrite(torch::jit::Graph& graph, torch::jit::Node* n) {
  TransposedInputs in;
  if (!transposedInputs(n, in)) return false;
  const auto weight = torch::jit::toIValue(in.weight);
  if (!weight || !weight->isTensor()) return false;
  const torch::Tensor w = weight->toTensor();
  if (w.dim() != 5 || w.scalar_type() != torch::kFloat || !w.device().is_cpu() || w.is_mkldnn()) return false;
  const auto bias = torch::jit::toIValue(in.bias);
  if (!bias) return false;
  if (!bias->isNone()) {
    if (!bias->isTensor()) return false;
    const torch::Tensor& b = bias->toTensor();
    if (b.dim() != 1 || b.size(0) != w.size(1) || b.scalar_type() != torch::kFloat || b.is_mkldnn()) return false;
  }
  const auto stride = constantIntList(in.stride, 3), padding = constantIntList(in.padding, 3);
  const auto outputPadding = constantIntList(in.outputPadding, 3), dilation = constantIntList(in.dilation, 3);
  if (!stride || !padding || !outputPadding || !dilation || constantInt(in.groups) != 1) return false;
  for (size_t d = 0; d < 3; ++d)
    if ((*stride)[d] != w.size(2 + static_cast<int64_t>(d)) || (*padding)[d] != 0 || (*outputPadding)[d] != 0 ||
        (*dilation)[d] != 1)
      return false;

  static const auto conv3d = c10::Symbol::fromQualString("aten::conv3d");
  torch::jit::WithInsertPoint guard(n);
  torch::jit::Value* pointwise = graph.insertConstant(strideTransposedPointwiseWeight(w));
  torch::jit::Value* none = graph.insertConstant(c10::IValue());
  torch::jit::Value* ones = graph.insertConstant(std::vector<int64_t>{1, 1, 1});
  torch::jit::Value* zeros = graph.insertConstant(std::vector<int64_t>{0, 0, 0});
  torch::jit::Value* one = graph.insertConstant(int64_t{1});
  torch::jit::Value* kernel = graph.insertConstant(std::vector<int64_t>{w.size(2), w.size(3), w.size(4)});
  torch::jit::Node* conv = graph.create(conv3d, {in.input, pointwise, none, ones, zeros, ones, one});
  conv->insertBefore(n);
  conv->output()->setType(c10::TensorType::get());
  torch::jit::Node* scatter = graph.create(scatterSymbol(), {conv->output(), in.bias, kernel});
  scatter->insertBefore(n);
  scatter->output()->setType(n->output()->type());
  n->output()->replaceAllUsesWith(scatter->output());
  n->destroy();
  return true;
}

}  // namespace

torch::Tensor strideTransposedPointwiseWeight(const torch::Tensor& weight) {
  const int64_t ci = weight.size(0);
  return weight.permute({1, 2, 3, 4, 0}).reshape({-1, ci, 1, 1, 1}).contiguous();
}

torch::Tensor strideTransposedScatter(const torch::Tensor& input, const torch::Tensor& bias,
                                      const std::array<int64_t, 3>& kernel) {
  // An unbatched input [Co*K, D, H, W] (LibTorch's transposed convolution accepts one).
  if (input.dim() == 4) return strideTransposedScatter(input.unsqueeze(0), bias, kernel).squeeze(0);
  const int64_t kd = kernel[0], kh = kernel[1], kw = kernel[2], taps = kd * kh * kw;
  TORCH_CHECK(input.dim() == 5 && input.scalar_type() == torch::kFloat && input.device().is_cpu() && taps > 0 &&
                  input.size(1) % taps == 0,
              "mqb::stride_scatter: needs float32 CPU products [N, Co*K, D, H, W]");
  const torch::Tensor p = input.contiguous();
  const int64_t batch = p.size(0), depth = p.size(2), height = p.size(3), width = p.size(4);
  const int64_t outChannels = p.size(1) / taps;
  TORCH_CHECK(!bias.defined() || bias.numel() == outChannels, "mqb::stride_scatter: bias size");
  const int64_t outDepth = depth * kd, outHeight = height * kh, outWidth = width * kw;
  torch::Tensor out = torch::empty({batch, outChannels, outDepth, outHeight, outWidth}, p.options());
  if (out.numel() == 0) return out;
  const torch::Tensor b = bias.defined() ? bias.contiguous() : torch::Tensor();
  const float* bp = b.defined() ? b.data_ptr<float>() : nullptr;
  const float* pp = p.data_ptr<float>();
  float* op = out.data_ptr<float>();
  const int64_t plane = height * width;
  // One task per (image, output channel, input slice): its kd*H*kh output rows, read from
  // K contiguous product rows.
  const int64_t tasks = batch * outChannels * depth;
  at::parallel_for(0, tasks, std::max<int64_t>(1, (int64_t{1} << 16) / (taps * plane)), [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t d = t % depth, co = (t / depth) % outChannels, n = t / (depth * outChannels);
      const float bv = bp ? bp[co] : 0.0f;
      const float* slab = pp + ((n * outChannels + co) * taps * depth + d) * plane;  // tap 0 of (n, co, d)
      float* outBlock = op + ((n * outChannels + co) * outDepth + d * kd) * outHeight * outWidth;
      for (int64_t i = 0; i < kd; ++i)
        for (int64_t h = 0; h < height; ++h)
          for (int64_t j = 0; j < kh; ++j) {
            float* o = outBlock + (i * outHeight + h * kh + j) * outWidth;
            const float* src = slab + ((i * kh + j) * kw) * depth * plane + h * width;
            const int64_t tapStride = depth * plane;  // next tap = next product channel
            if (kw == 2) {
              const float* s0 = src;
              const float* s1 = src + tapStride;
              for (int64_t x = 0; x < width; ++x) {
                o[2 * x] = s0[x] + bv;
                o[2 * x + 1] = s1[x] + bv;
              }
            } else {
              for (int64_t x = 0; x < width; ++x)
                for (int64_t l = 0; l < kw; ++l) o[x * kw + l] = src[l * tapStride + x] + bv;
            }
          }
    }
  });
  return out;
}

int useStrideTransposedConvolutions(torch::jit::Graph& graph) {
  int n = 0;
  for (const char* kind : {"aten::_convolution", "aten::conv_transpose3d"})
    for (torch::jit::Node* node : nodesOfKind(graph.block(), c10::Symbol::fromQualString(kind)))
      n += rewrite(graph, node) ? 1 : 0;
  return n;
}

// A pure function of its inputs (FROM_SCHEMA): the optimiser may treat it like an aten op.
TORCH_LIBRARY_FRAGMENT(mqb, m) {
  m.def("stride_scatter(Tensor products, Tensor? bias, int[] kernel) -> Tensor", runScatter);
}

}  // namespace mqb
