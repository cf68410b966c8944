#pragma once
// GPTQ (SPEC section 10; Frantar et al. 2022, "GPTQ: Accurate Post-Training Quantization
// for Generative Pre-trained Transformers", Algorithm 1): the integer levels of a weight
// matrix W [rows = output channels, columns] on a grid fixed beforehand (min-max scales,
// weightGrid()), chosen column by column so that each column's rounding error is
// compensated by the columns not yet quantized, weighted by the op's input Hessian
// H = 2 X X^T / n. Rows are independent and share H.
//
// Exactly the paper's reference: columns with diag H == 0 never see a non-zero input, so
// they get H_ii = 1 and W[:, i] = 0; `dampening * mean(diag H)` is added to the diagonal;
// optionally the columns are processed in descending diag H order ("act order") and put
// back in place at the end; the error of column j, (w_j - q_j) / U_jj, is propagated
// through row j of U, the upper Cholesky factor of H^-1, immediately inside a block of
// `blockSize` columns and as one matrix product for the columns after the block.
//
// Each level is chosen by fakeQuantValue() (QuantGrid.h) on the float32 value of the
// updated weight, i.e. the quantizer of SPEC section 1, so the result is always on the
// grid: every output divided by its row's scale is an integer within the grid's bounds.
// Everything else is computed in float64: H of a 3-D convolution is large (C * 27 columns)
// and often badly conditioned.
#include "quant/ContractionColumns.h"
#include "quant/QuantGrid.h"

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace mqb::quant {

struct GptqOptions {
  double dampening = 0.01;  // relative to mean(diag H)
  int64_t blockSize = 128;  // columns per lazy batch update; changes float64 rounding only
  bool actOrder = false;    // quantize columns in descending diag H order
};

// Running sum of X X^T over input columns, in float64. Samples holding a non-finite value
// are left out (and counted) instead of turning the whole Hessian into NaN. The sum takes
// columns^2 doubles (600 MB for a 320-channel 3x3x3 convolution), allocated at the first add.
class HessianAccumulator {
 public:
  explicit HessianAccumulator(int64_t columns);

  // columnsByN: [columns, n], n samples (any floating type; contractionColumns()' layout).
  void add(const torch::Tensor& columnsByN);
  // 2 X X^T / n over every sample added: a new float64 [columns, columns] tensor (the sum is
  // kept, so it costs another columns^2 doubles). mqb::Error before any sample.
  torch::Tensor hessian() const;

  int64_t columns() const { return columns_; }
  int64_t samples() const { return samples_; }
  int64_t skipped() const { return skipped_; }

 private:
  int64_t columns_ = 0;
  int64_t samples_ = 0;
  int64_t skipped_ = 0;
  torch::Tensor sum_;
};

struct GptqResult {
  torch::Tensor weight;    // float32, the quantized weight, exactly scale * levels
  torch::Tensor levels;    // int32, the integer levels w_hat / scale (symmetric: in [-qmax, qmax])
  double dampening = 0.0;  // the relative dampening that was used (options.dampening unless it had to grow)
};

// W2d: [rows, columns] float32. hessian: [columns, columns], symmetric positive
// semi-definite (not checked: which triangle is read depends on the column order).
// scale: [rows] (per output channel) or [1] (per tensor), the symmetric b-bit grid's
// scales. When H + dampening is not positive definite to working precision, the dampening
// is raised tenfold up to three times; after that, and for every bad argument, mqb::Error
// with a message that names no op (callers prefix it).
GptqResult gptqQuantize(const torch::Tensor& W2d, const torch::Tensor& hessian, const torch::Tensor& scale, int bits,
                        const GptqOptions& options = {});
// The same on any grid (symmetric or asymmetric): one GroupGrid per row, or one for all rows.
GptqResult gptqQuantize(const torch::Tensor& W2d, const torch::Tensor& hessian,
                        const std::vector<GroupGrid>& rowGrids, const GptqOptions& options = {});

// A whole op: `weight` in its own shape, `grid` from weightGrid(weight, axis, bits) with
// axis kPerTensor or outputChannelAxis(op.kind), and one Hessian per group of `op` (in
// the column order of contractionColumns()). Returns weight and levels in the weight's
// shape; `dampening` is the largest used by any group.
GptqResult gptqQuantizeWeight(const torch::Tensor& weight, const Contraction& op,
                              const std::vector<torch::Tensor>& hessians, const QuantGrid& grid,
                              const GptqOptions& options = {});

}  // namespace mqb::quant
