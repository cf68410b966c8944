#pragma once
// The input columns of a weighted contraction (SPEC section 10, GPTQ): the vectors x such
// that every output value of the op is one row of its weight matrix times one x. A Hessian
// H = 2 X X^T / n of these columns is what GPTQ needs, and the weight matrix is the op's
// weight seen as [rows = output channels, columns] in the same column order (toRows).
//
//  - convolution, weight [Co, C/g, *k]: the column of an output position is its receptive
//    field, indexed (input channel within the group, kernel offset), zero where it falls in
//    the padding (im2col).
//  - transposed convolution, weight [C, Co/g, *k]: the column of an output position p is
//    indexed (input channel within the group, kernel offset k); its value is
//    x[c, (p + padding - k * dilation) / stride] when that division is exact and in range,
//    else 0 (for kernel == stride exactly one offset is non-zero per position).
//  - linear, weight [out, in]: the column of a token is its input vector.
// A grouped convolution has one column matrix (and so one Hessian) per group: group g's
// output channels only ever see its own input channels.
#include <ATen/core/Generator.h>
#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace mqb::quant {

enum class ContractionKind { Convolution, TransposedConvolution, Linear };

// How an op applies its weight. The spatial vectors have one entry per spatial dimension
// (1, 2 or 3, the weight's dim() - 2), or a single entry used for every dimension; they
// are ignored for linear ops. Only zero padding exists at this level (TorchScript applies
// other padding modes as a separate op before the convolution).
struct Contraction {
  ContractionKind kind = ContractionKind::Linear;
  std::vector<int64_t> stride{1};
  std::vector<int64_t> padding{0};
  std::vector<int64_t> dilation{1};
  std::vector<int64_t> outputPadding{0};  // transposed convolutions only
  int64_t groups = 1;

  static Contraction linear();
  static Contraction convolution(std::vector<int64_t> stride, std::vector<int64_t> padding,
                                 std::vector<int64_t> dilation = {1}, int64_t groups = 1);
  static Contraction transposedConvolution(std::vector<int64_t> stride, std::vector<int64_t> padding,
                                           std::vector<int64_t> outputPadding = {0}, int64_t groups = 1,
                                           std::vector<int64_t> dilation = {1});
};

// The weight axis of the output channels: the per-channel grid's axis (1 for transposed
// convolutions, SPEC section 2; 0 otherwise).
int64_t outputChannelAxis(ContractionKind kind);

// The weight as [output channels, C/groups * kernel volume] (linear: [out, in]) in the
// column order of contractionColumns(). Output channel o is row o, so a per-channel
// grid's group o scales row o, and group g's rows are the contiguous block
// [g * rows / groups, (g + 1) * rows / groups). A new contiguous tensor.
torch::Tensor toRows(const torch::Tensor& weight, const Contraction& op);
// The inverse of toRows: `rows` back to a weight of shape `weightShape`.
torch::Tensor fromRows(const torch::Tensor& rows, at::IntArrayRef weightShape, const Contraction& op);

struct ContractionColumns {
  // One float32 [C/groups * kernel volume, m] matrix per group (linear: one [in, m]).
  std::vector<torch::Tensor> groups;
  // [m] int64, ascending: the sampled output positions as flat indices into the op's
  // output without its channel axis, i.e. [N, *output spatial] (linear: the tokens of
  // the input flattened to [tokens, in]).
  torch::Tensor positions;
  int64_t totalPositions = 0;  // before sampling
};

// The columns of the op's output positions, for `input` as the op receives it (conv:
// [N, C, *spatial]; linear: [..., in]). When there are more than `maxPositions` output
// positions, `maxPositions` of them are drawn uniformly without replacement with
// `generator` (so memory stays bounded and a seed reproduces the sample); otherwise all
// are used. Throws mqb::Error when shapes and `op` do not fit together.
ContractionColumns contractionColumns(const torch::Tensor& input, const torch::Tensor& weight, const Contraction& op,
                                      int64_t maxPositions, at::Generator& generator);

}  // namespace mqb::quant
