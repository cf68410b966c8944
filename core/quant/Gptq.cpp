#include "quant/Gptq.h"

#include "support/Error.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

namespace mqb::quant {

namespace {

// Dampening is raised tenfold this many times before GPTQ gives up on a Hessian.
constexpr int kDampeningRetries = 3;

std::string shapeText(at::IntArrayRef shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

std::string numberText(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", v);
  return buffer;
}

// isfinite() of a whole float64 matrix builds full-size temporaries (600 MB each at 8640
// columns); slabs of rows keep the check's memory small.
bool allFinite(const torch::Tensor& m) {
  constexpr int64_t kSlab = 256;
  for (int64_t r = 0; r < m.size(0); r += kSlab)
    if (!m.narrow(0, r, std::min(kSlab, m.size(0) - r)).isfinite().all().item<bool>()) return false;
  return true;
}

// Below this size a triangular block is inverted by one solve against the identity.
constexpr int64_t kTriangularLeaf = 128;

// m (lower triangular, any strides) becomes m^-1 in place, by the blocked recursion
// inv([[A, 0], [B, C]]) = [[A^-1, 0], [-C^-1 B A^-1, C^-1]]: two triangular solves per level,
// n^3 / 3 multiply-adds in all like LAPACK's trtri (which LibTorch does not expose), where a
// solve against the identity would cost n^3.
void invertLowerInPlace(const torch::Tensor& m) {
  const int64_t n = m.size(0);
  if (n <= kTriangularLeaf) {
    m.copy_(torch::linalg_solve_triangular(m, torch::eye(n, m.options()), /*upper=*/false));
    return;
  }
  const int64_t h = n / 2;
  const torch::Tensor a = m.narrow(0, 0, h).narrow(1, 0, h);
  const torch::Tensor b = m.narrow(0, h, n - h).narrow(1, 0, h);
  const torch::Tensor c = m.narrow(0, h, n - h).narrow(1, h, n - h);
  torch::Tensor x = torch::linalg_solve_triangular(c, b, /*upper=*/false, /*left=*/true);
  x = torch::linalg_solve_triangular(a, x, /*upper=*/false, /*left=*/false);
  b.copy_(x.neg_());
  x.reset();
  invertLowerInPlace(a);
  invertLowerInPlace(c);
}

// U, upper triangular with U^T U = H^-1 (the factor Algorithm 1 reads), from `reversed`
// = J H J (J the exchange matrix, H dampened, in processing order), or an undefined tensor
// when H is not positive definite to working precision. With J H J = M M^T (Cholesky),
// H = (J M J)(J M J)^T and so U = (J M J)^-1 = J M^-1 J: one Cholesky and one triangular
// inverse, half the work of the reference's cholesky -> cholesky_inverse -> cholesky, and
// the same U (the upper Cholesky factor with a positive diagonal is unique).
// `reversed` is consumed, so at most two columns^2 float64 matrices exist at a time
// (1.2 GB for 8640 columns) besides the caller's Hessian.
torch::Tensor inverseCholeskyUpper(torch::Tensor reversed) {
  // Asked for the upper factor M^T, LAPACK's column-major result is M itself in row-major
  // order, so that M^-1 can become U below without a copy.
  auto [upper, info] = torch::linalg_cholesky_ex(reversed, /*upper=*/true, /*check_errors=*/false);
  reversed.reset();
  if (info.item<int64_t>() != 0) return {};
  torch::Tensor m = upper.transpose(0, 1).contiguous();
  upper.reset();
  invertLowerInPlace(m);
  if (!allFinite(m)) return {};
  // J M^-1 J of a row-major square matrix is its storage reversed: U in row-major order,
  // which the column loop reads by pointer.
  double* data = m.data_ptr<double>();
  std::reverse(data, data + m.numel());
  if (!(m.diagonal().min().item<double>() > 0.0)) return {};
  return m;
}

void checkRowGrids(const std::vector<GroupGrid>& grids, int64_t rows) {
  if (grids.size() != 1 && static_cast<int64_t>(grids.size()) != rows)
    throw Error("GPTQ: " + std::to_string(grids.size()) + " grids for " + std::to_string(rows) +
                " rows (give one per row or one for all)");
  for (const GroupGrid& g : grids) {
    if (!(g.scale > 0.0f) || !std::isfinite(g.scale)) throw Error("GPTQ: a scale is not positive and finite");
    if (!(g.lo <= 0.0f && g.hi >= 0.0f) || g.lo != std::nearbyint(g.lo) || g.hi != std::nearbyint(g.hi))
      throw Error("GPTQ: a grid's bounds are not integers around 0");
  }
}

// Algorithm 1 of the paper on W [rows, columns] (float64, contiguous, in processing order,
// updated in place) with U from inverseCholeskyUpper(). Rows are independent, so within a
// block each thread takes whole rows; the block's accumulated errors then update all later
// columns with one matrix product (the lazy batch update).
void quantizeColumns(torch::Tensor& w, const torch::Tensor& u, const std::vector<GroupGrid>& grids, int64_t blockSize,
                     float* quantized, int32_t* levels) {
  const int64_t rows = w.size(0);
  const int64_t cols = w.size(1);
  double* wp = w.data_ptr<double>();
  const double* up = u.data_ptr<double>();
  for (int64_t i1 = 0; i1 < cols; i1 += blockSize) {
    const int64_t i2 = std::min(cols, i1 + blockSize);
    const int64_t count = i2 - i1;
    torch::Tensor errors = torch::empty({rows, count}, torch::kDouble);
    double* ep = errors.data_ptr<double>();
    at::parallel_for(0, rows, 1, [&](int64_t rowBegin, int64_t rowEnd) {
      for (int64_t r = rowBegin; r < rowEnd; ++r) {
        const GroupGrid& g = grids[grids.size() == 1 ? 0 : static_cast<size_t>(r)];
        double* wr = wp + r * cols;
        for (int64_t j = i1; j < i2; ++j) {
          // The SPEC's float32 quantizer on the float32 value of the updated weight; the
          // level is recovered from the same clamped, rounded quotient fakeQuantValue uses.
          float v = static_cast<float>(wr[j]) / g.scale;
          v = v < g.lo ? g.lo : v;
          v = v > g.hi ? g.hi : v;
          const float level = roundHalfEven(v);
          const float q = g.scale * level;
          quantized[r * cols + j] = q;
          levels[r * cols + j] = static_cast<int32_t>(level);
          const double* uj = up + j * cols;
          const double e = (wr[j] - static_cast<double>(q)) / uj[j];
          ep[r * count + (j - i1)] = e;
          for (int64_t k = j + 1; k < i2; ++k) wr[k] -= e * uj[k];
        }
      }
    });
    if (i2 < cols)
      w.narrow(1, i2, cols - i2).addmm_(errors, u.narrow(0, i1, count).narrow(1, i2, cols - i2), 1.0, -1.0);
  }
}

}  // namespace

HessianAccumulator::HessianAccumulator(int64_t columns) : columns_(columns) {
  if (columns < 1) throw Error("GPTQ: a Hessian needs at least one column");
}

void HessianAccumulator::add(const torch::Tensor& columnsByN) {
  if (!columnsByN.defined() || columnsByN.dim() != 2 || columnsByN.size(0) != columns_)
    throw Error("GPTQ: Hessian samples must be [" + std::to_string(columns_) + ", n], not " +
                (columnsByN.defined() ? shapeText(columnsByN.sizes()) : std::string("missing")));
  if (!columnsByN.is_floating_point()) throw Error("GPTQ: Hessian samples must be floating point");
  // Checked before the float64 copy, whose isfinite() temporaries would be twice as large.
  const torch::Tensor finite = columnsByN.isfinite().all(0);
  const int64_t n = columnsByN.size(1);
  const int64_t kept = finite.sum().item<int64_t>();
  skipped_ += n - kept;
  if (kept == 0) return;
  const torch::Tensor x =
      (kept < n ? columnsByN.index_select(1, finite.nonzero().reshape({-1})) : columnsByN).to(torch::kDouble);
  if (!sum_.defined()) sum_ = torch::zeros({columns_, columns_}, torch::kDouble);
  sum_.addmm_(x, x.t());
  samples_ += kept;
}

torch::Tensor HessianAccumulator::hessian() const {
  if (samples_ == 0)
    throw Error("GPTQ: no calibration samples reached the op" +
                (skipped_ ? " (" + std::to_string(skipped_) + " had non-finite values)" : std::string()));
  return sum_ * (2.0 / static_cast<double>(samples_));
}

GptqResult gptqQuantize(const torch::Tensor& W2d, const torch::Tensor& hessian,
                        const std::vector<GroupGrid>& rowGrids, const GptqOptions& options) {
  if (!W2d.defined() || W2d.dim() != 2 || W2d.numel() == 0)
    throw Error("GPTQ: the weight must be a non-empty [rows, columns] matrix");
  if (!W2d.is_floating_point()) throw Error("GPTQ: the weight must be floating point");
  const int64_t rows = W2d.size(0);
  const int64_t cols = W2d.size(1);
  if (!hessian.defined() || hessian.dim() != 2 || hessian.size(0) != cols || hessian.size(1) != cols)
    throw Error("GPTQ: the Hessian must be [" + std::to_string(cols) + ", " + std::to_string(cols) + "], not " +
                (hessian.defined() ? shapeText(hessian.sizes()) : std::string("missing")));
  if (!(options.dampening >= 0.0) || !std::isfinite(options.dampening))
    throw Error("GPTQ: dampening must be a finite number >= 0, not " + numberText(options.dampening));
  if (options.blockSize < 1) throw Error("GPTQ: the block size must be at least 1");
  checkRowGrids(rowGrids, rows);

  torch::Tensor w = W2d.contiguous().to(torch::kDouble, /*non_blocking=*/false, /*copy=*/true);
  if (!allFinite(w)) throw Error("GPTQ: the weight has non-finite values");
  if (!allFinite(hessian)) throw Error("GPTQ: the Hessian has non-finite values");
  const torch::Tensor diagonal = hessian.diagonal().to(torch::kDouble, /*non_blocking=*/false, /*copy=*/true);
  if (diagonal.min().item<double>() < 0.0) throw Error("GPTQ: the Hessian has a negative diagonal entry (not X X^T)");

  // A column whose input is always 0 cannot change the output; the reference zeroes it and
  // gives it a unit Hessian entry so that H stays invertible.
  const torch::Tensor dead = diagonal.eq(0.0);
  diagonal.masked_fill_(dead, 1.0);
  w.masked_fill_(dead.unsqueeze(0), 0.0);
  const double meanDiagonal = diagonal.mean().item<double>();
  torch::Tensor permutation;
  if (options.actOrder) {
    // Stable, so equal diagonal entries keep their column order and a run is reproducible.
    permutation = std::get<1>(diagonal.sort(/*stable=*/true, /*dim=*/0, /*descending=*/true));
    w = w.index_select(1, permutation);
  }
  // The dampened Hessian in reversed processing order (inverseCholeskyUpper's J H J),
  // rebuilt from the caller's for every attempt rather than kept: a copy would hold another
  // columns^2 doubles throughout.
  const torch::Tensor reversedOrder = permutation.defined() ? permutation.flip(0)
                                                            : torch::arange(cols - 1, -1, -1, torch::kLong);
  auto dampenedReversed = [&](double relativeDampening) {
    torch::Tensor h = hessian.index_select(0, reversedOrder).index_select(1, reversedOrder).to(torch::kDouble);
    h.diagonal().copy_(diagonal.index_select(0, reversedOrder) + relativeDampening * meanDiagonal);
    return h;
  };

  GptqResult result;
  torch::Tensor u;
  // Without any dampening the retries start from the default.
  const double base = options.dampening > 0.0 ? options.dampening : GptqOptions{}.dampening;
  double dampening = options.dampening;
  for (int attempt = 0; attempt <= kDampeningRetries && !u.defined(); ++attempt) {
    if (attempt > 0) dampening = base * std::pow(10.0, options.dampening > 0.0 ? attempt : attempt - 1);
    u = inverseCholeskyUpper(dampenedReversed(dampening));
  }
  if (!u.defined())
    throw Error("GPTQ: the Hessian is not positive definite even with dampening " + numberText(dampening) +
                " x mean(diag H)");
  result.dampening = dampening;

  torch::Tensor quantized = torch::empty({rows, cols}, torch::kFloat);
  torch::Tensor levels = torch::empty({rows, cols}, torch::kInt);
  quantizeColumns(w, u, rowGrids, options.blockSize, quantized.data_ptr<float>(), levels.data_ptr<int32_t>());
  if (permutation.defined()) {
    const torch::Tensor inverse = torch::argsort(permutation);
    quantized = quantized.index_select(1, inverse);
    levels = levels.index_select(1, inverse);
  }
  result.weight = quantized;
  result.levels = levels;
  return result;
}

GptqResult gptqQuantize(const torch::Tensor& W2d, const torch::Tensor& hessian, const torch::Tensor& scale, int bits,
                        const GptqOptions& options) {
  checkBits(bits);
  if (!scale.defined() || scale.dim() > 1 || scale.numel() < 1) throw Error("GPTQ: the scale must be [rows] or [1]");
  const torch::Tensor s = scale.to(torch::kFloat).contiguous();
  const auto qmax = static_cast<float>(symmetricQmax(bits));
  std::vector<GroupGrid> grids(static_cast<size_t>(s.numel()));
  for (size_t i = 0; i < grids.size(); ++i) {
    grids[i].scale = s.data_ptr<float>()[i];
    grids[i].lo = -qmax;
    grids[i].hi = qmax;
  }
  return gptqQuantize(W2d, hessian, grids, options);
}

GptqResult gptqQuantizeWeight(const torch::Tensor& weight, const Contraction& op,
                              const std::vector<torch::Tensor>& hessians, const QuantGrid& grid,
                              const GptqOptions& options) {
  checkBits(grid.bits);
  const int64_t axis = outputChannelAxis(op.kind);
  if (grid.axis != kPerTensor && grid.axis != axis)
    throw Error("GPTQ: the weight grid must be per tensor or along the output channels (axis " +
                std::to_string(axis) + ")");
  const torch::Tensor rows = toRows(weight, op);
  const int64_t groups = op.groups;
  if (static_cast<int64_t>(hessians.size()) != groups)
    throw Error("GPTQ: " + std::to_string(hessians.size()) + " Hessians for " + std::to_string(groups) + " groups");
  const int64_t total = rows.size(0);
  if (grid.axis != kPerTensor && static_cast<int64_t>(grid.groups.size()) != total)
    throw Error("GPTQ: the grid has " + std::to_string(grid.groups.size()) + " channels but the weight " +
                std::to_string(total));
  if (grid.groups.empty()) throw Error("GPTQ: the grid has no scales");
  const int64_t perGroup = total / groups;
  torch::Tensor quantized = torch::empty_like(rows, torch::kFloat);
  torch::Tensor levels = torch::empty(rows.sizes(), torch::kInt);
  GptqResult result;
  for (int64_t g = 0; g < groups; ++g) {
    std::vector<GroupGrid> rowGrids;
    if (grid.axis == kPerTensor)
      rowGrids.push_back(grid.groups.front());
    else
      rowGrids.assign(grid.groups.begin() + g * perGroup, grid.groups.begin() + (g + 1) * perGroup);
    GptqResult part =
        gptqQuantize(rows.narrow(0, g * perGroup, perGroup), hessians[static_cast<size_t>(g)], rowGrids, options);
    quantized.narrow(0, g * perGroup, perGroup).copy_(part.weight);
    levels.narrow(0, g * perGroup, perGroup).copy_(part.levels);
    result.dampening = std::max(result.dampening, part.dampening);
  }
  result.weight = fromRows(quantized, weight.sizes(), op);
  // fromRows moves values only, so it serves the integer levels as well.
  result.levels = fromRows(levels, weight.sizes(), op);
  return result;
}

}  // namespace mqb::quant
