#include "quant/ContractionColumns.h"

#include "quant/ReductionGroups.h"
#include "support/Error.h"

#include <string>
#include <utility>

namespace mqb::quant {

namespace {

const char* kindName(ContractionKind kind) {
  switch (kind) {
    case ContractionKind::Convolution: return "convolution";
    case ContractionKind::TransposedConvolution: return "transposed convolution";
    case ContractionKind::Linear: return "linear";
  }
  return "contraction";
}

std::string shapeText(at::IntArrayRef shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

// A single entry applies to every spatial dimension, as in torch's Python API.
std::vector<int64_t> perDimension(const std::vector<int64_t>& values, int64_t dims, const char* what, int64_t minimum) {
  if (values.size() != 1 && static_cast<int64_t>(values.size()) != dims)
    throw Error(std::string("GPTQ columns: ") + what + " has " + std::to_string(values.size()) + " entries for a " +
                std::to_string(dims) + "-d convolution");
  std::vector<int64_t> out = values.size() == 1 ? std::vector<int64_t>(dims, values[0]) : values;
  for (int64_t v : out)
    if (v < minimum)
      throw Error(std::string("GPTQ columns: ") + what + " must be at least " + std::to_string(minimum));
  return out;
}

// Everything the column gather needs about a convolution, checked against the tensors.
struct ConvGeometry {
  int64_t dims = 0;
  int64_t batch = 0;
  int64_t channels = 0;  // input channels, all groups
  int64_t groups = 1;
  std::vector<int64_t> in, kernel, out, stride, padding, dilation;
  int64_t inVolume = 1, kernelVolume = 1, outVolume = 1;
};

ConvGeometry convGeometry(const torch::Tensor& input, const torch::Tensor& weight, const Contraction& op) {
  const bool transposed = op.kind == ContractionKind::TransposedConvolution;
  ConvGeometry g;
  g.dims = weight.dim() - 2;
  if (g.dims < 1 || g.dims > 3)
    throw Error(std::string("GPTQ columns: a ") + kindName(op.kind) + " weight must have 3 to 5 dimensions, not " +
                shapeText(weight.sizes()));
  if (input.dim() != weight.dim())
    throw Error("GPTQ columns: input " + shapeText(input.sizes()) + " does not fit weight " + shapeText(weight.sizes()));
  if (op.groups < 1 || weight.size(0) % op.groups != 0)
    throw Error("GPTQ columns: " + std::to_string(op.groups) + " groups do not divide weight " +
                shapeText(weight.sizes()));
  g.groups = op.groups;
  g.batch = input.size(0);
  g.channels = input.size(1);
  const int64_t expected = transposed ? weight.size(0) : weight.size(1) * op.groups;
  if (g.channels != expected)
    throw Error("GPTQ columns: input " + shapeText(input.sizes()) + " has " + std::to_string(g.channels) +
                " channels but the " + kindName(op.kind) + " weight " + shapeText(weight.sizes()) + " expects " +
                std::to_string(expected));
  g.stride = perDimension(op.stride, g.dims, "stride", 1);
  g.padding = perDimension(op.padding, g.dims, "padding", 0);
  g.dilation = perDimension(op.dilation, g.dims, "dilation", 1);
  const std::vector<int64_t> outputPadding = transposed ? perDimension(op.outputPadding, g.dims, "output padding", 0)
                                                        : std::vector<int64_t>(g.dims, 0);
  for (int64_t d = 0; d < g.dims; ++d) {
    const int64_t in = input.size(d + 2);
    const int64_t k = weight.size(d + 2);
    const int64_t span = g.dilation[d] * (k - 1);
    const int64_t out =
        transposed
            ? (in - 1) * g.stride[d] - 2 * g.padding[d] + span + outputPadding[d] + 1
            : (in + 2 * g.padding[d] - span - 1 >= 0 ? (in + 2 * g.padding[d] - span - 1) / g.stride[d] + 1 : 0);
    if (out <= 0 || in <= 0 || k <= 0)
      throw Error("GPTQ columns: input " + shapeText(input.sizes()) + " gives no output for the " +
                  kindName(op.kind) + " weight " + shapeText(weight.sizes()));
    g.in.push_back(in);
    g.kernel.push_back(k);
    g.out.push_back(out);
    g.inVolume *= in;
    g.kernelVolume *= k;
    g.outVolume *= out;
  }
  return g;
}

torch::Tensor samplePositions(int64_t total, int64_t maxPositions, at::Generator& generator) {
  if (maxPositions < 1) throw Error("GPTQ columns: at least one position must be sampled");
  if (total <= maxPositions) return torch::arange(total, torch::kLong);
  // Ascending order keeps each batch item's positions together and the gathers local.
  const torch::Tensor chosen = torch::randperm(total, generator, torch::kLong).narrow(0, 0, maxPositions);
  return std::get<0>(chosen.sort());
}

// For every kernel offset and sampled position, the flat index into the input's spatial
// volume of the value that column entry holds, or -1 where it is a zero (padding, or a
// transposed convolution's offset that does not land on an input voxel).
torch::Tensor sourceIndices(const ConvGeometry& g, const int64_t* positions, int64_t count, bool transposed) {
  torch::Tensor index = torch::empty({g.kernelVolume, count}, torch::kLong);
  int64_t* idx = index.data_ptr<int64_t>();
  std::vector<int64_t> outCoord(g.dims), kCoord(g.dims);
  for (int64_t p = 0; p < count; ++p) {
    int64_t rest = positions[p] % g.outVolume;
    for (int64_t d = g.dims - 1; d >= 0; --d) {
      outCoord[d] = rest % g.out[d];
      rest /= g.out[d];
    }
    for (int64_t k = 0; k < g.kernelVolume; ++k) {
      int64_t krest = k;
      for (int64_t d = g.dims - 1; d >= 0; --d) {
        kCoord[d] = krest % g.kernel[d];
        krest /= g.kernel[d];
      }
      int64_t flat = 0;
      bool valid = true;
      for (int64_t d = 0; d < g.dims && valid; ++d) {
        int64_t i;
        if (transposed) {
          const int64_t t = outCoord[d] + g.padding[d] - kCoord[d] * g.dilation[d];
          valid = t >= 0 && t % g.stride[d] == 0;
          i = t / g.stride[d];
        } else {
          i = outCoord[d] * g.stride[d] - g.padding[d] + kCoord[d] * g.dilation[d];
        }
        valid = valid && i >= 0 && i < g.in[d];
        flat = flat * g.in[d] + i;
      }
      idx[k * count + p] = valid ? flat : -1;
    }
  }
  return index;
}

ContractionColumns convolutionColumns(const torch::Tensor& input, const torch::Tensor& weight, const Contraction& op,
                                      int64_t maxPositions, at::Generator& generator) {
  const bool transposed = op.kind == ContractionKind::TransposedConvolution;
  const ConvGeometry g = convGeometry(input, weight, op);
  const torch::Tensor x = contiguousFloat32(input, "GPTQ columns").reshape({g.batch, g.channels, g.inVolume});
  ContractionColumns result;
  result.totalPositions = g.batch * g.outVolume;
  result.positions = samplePositions(result.totalPositions, maxPositions, generator);
  const int64_t m = result.positions.numel();
  const int64_t* pos = result.positions.data_ptr<int64_t>();
  torch::Tensor all = torch::empty({g.channels, g.kernelVolume, m}, torch::kFloat);
  // Sampled positions are sorted, so each batch item owns one contiguous run of them and
  // its gather reads only its own [C, volume] slab, with no copy of the input.
  for (int64_t begin = 0; begin < m;) {
    const int64_t n = pos[begin] / g.outVolume;
    int64_t end = begin;
    while (end < m && pos[end] / g.outVolume == n) ++end;
    const int64_t count = end - begin;
    const torch::Tensor index = sourceIndices(g, pos + begin, count, transposed).reshape({-1});
    const torch::Tensor valid = index.ge(0);
    torch::Tensor gathered = x[n].index_select(1, index.clamp_min(0));
    // masked_fill, not a multiply by the mask: a NaN or inf at the stand-in index 0 must
    // not leak into entries that are zero by definition.
    gathered.masked_fill_(valid.logical_not().unsqueeze(0), 0.0f);
    all.narrow(2, begin, count).copy_(gathered.reshape({g.channels, g.kernelVolume, count}));
    begin = end;
  }
  const int64_t perGroup = g.channels / g.groups;
  for (int64_t k = 0; k < g.groups; ++k)
    result.groups.push_back(all.narrow(0, k * perGroup, perGroup).reshape({perGroup * g.kernelVolume, m}));
  return result;
}

ContractionColumns linearColumns(const torch::Tensor& input, const torch::Tensor& weight, int64_t maxPositions,
                                 at::Generator& generator) {
  if (weight.dim() != 2)
    throw Error("GPTQ columns: a linear weight must be [out, in], not " + shapeText(weight.sizes()));
  if (input.dim() < 1 || input.size(-1) != weight.size(1))
    throw Error("GPTQ columns: linear input " + shapeText(input.sizes()) + " does not end in the weight's " +
                std::to_string(weight.size(1)) + " input features");
  const torch::Tensor tokens = contiguousFloat32(input, "GPTQ columns").reshape({-1, weight.size(1)});
  ContractionColumns result;
  result.totalPositions = tokens.size(0);
  if (result.totalPositions == 0) throw Error("GPTQ columns: the linear input has no tokens");
  result.positions = samplePositions(result.totalPositions, maxPositions, generator);
  result.groups.push_back(tokens.index_select(0, result.positions).t().contiguous());
  return result;
}

void checkRowsShape(at::IntArrayRef shape, const Contraction& op) {
  const bool linear = op.kind == ContractionKind::Linear;
  if (linear ? shape.size() != 2 : (shape.size() < 3 || shape.size() > 5))
    throw Error(std::string("GPTQ: ") + shapeText(shape) + " is not a " + kindName(op.kind) + " weight shape");
  if (op.groups < 1 || (!linear && shape[0] % op.groups != 0))
    throw Error("GPTQ: " + std::to_string(op.groups) + " groups do not divide weight " + shapeText(shape));
  if (linear && op.groups != 1) throw Error("GPTQ: a linear op has no groups");
}

}  // namespace

Contraction Contraction::linear() { return {}; }

Contraction Contraction::convolution(std::vector<int64_t> stride, std::vector<int64_t> padding,
                                     std::vector<int64_t> dilation, int64_t groups) {
  Contraction op;
  op.kind = ContractionKind::Convolution;
  op.stride = std::move(stride);
  op.padding = std::move(padding);
  op.dilation = std::move(dilation);
  op.groups = groups;
  return op;
}

Contraction Contraction::transposedConvolution(std::vector<int64_t> stride, std::vector<int64_t> padding,
                                               std::vector<int64_t> outputPadding, int64_t groups,
                                               std::vector<int64_t> dilation) {
  Contraction op;
  op.kind = ContractionKind::TransposedConvolution;
  op.stride = std::move(stride);
  op.padding = std::move(padding);
  op.dilation = std::move(dilation);
  op.outputPadding = std::move(outputPadding);
  op.groups = groups;
  return op;
}

int64_t outputChannelAxis(ContractionKind kind) { return kind == ContractionKind::TransposedConvolution ? 1 : 0; }

torch::Tensor toRows(const torch::Tensor& weight, const Contraction& op) {
  checkRowsShape(weight.sizes(), op);
  if (op.kind != ContractionKind::TransposedConvolution)
    return weight.reshape({weight.size(0), -1}).clone(torch::MemoryFormat::Contiguous);
  // [C, Co/g, *k] -> [g, C/g, Co/g, kvol] -> [g, Co/g, C/g, kvol]: output channel
  // g * Co/g + o reads its group's input channels in the order of the columns.
  const int64_t g = op.groups;
  const int64_t inPerGroup = weight.size(0) / g;
  const int64_t outPerGroup = weight.size(1);
  return weight.reshape({g, inPerGroup, outPerGroup, -1})
      .permute({0, 2, 1, 3})
      .reshape({g * outPerGroup, -1})
      .clone(torch::MemoryFormat::Contiguous);
}

torch::Tensor fromRows(const torch::Tensor& rows, at::IntArrayRef weightShape, const Contraction& op) {
  checkRowsShape(weightShape, op);
  int64_t numel = 1;
  for (int64_t s : weightShape) numel *= s;
  const int64_t outputs = weightShape[static_cast<size_t>(outputChannelAxis(op.kind))] *
                          (op.kind == ContractionKind::TransposedConvolution ? op.groups : 1);
  if (rows.dim() != 2 || rows.numel() != numel || rows.size(0) != outputs)
    throw Error("GPTQ: rows " + shapeText(rows.sizes()) + " do not fit weight " + shapeText(weightShape));
  if (op.kind != ContractionKind::TransposedConvolution)
    return rows.reshape(weightShape).clone(torch::MemoryFormat::Contiguous);
  const int64_t g = op.groups;
  const int64_t inPerGroup = weightShape[0] / g;
  const int64_t outPerGroup = weightShape[1];
  return rows.reshape({g, outPerGroup, inPerGroup, -1})
      .permute({0, 2, 1, 3})
      .reshape(weightShape)
      .clone(torch::MemoryFormat::Contiguous);
}

ContractionColumns contractionColumns(const torch::Tensor& input, const torch::Tensor& weight, const Contraction& op,
                                      int64_t maxPositions, at::Generator& generator) {
  if (!input.defined() || !weight.defined()) throw Error("GPTQ columns: input or weight is missing");
  if (op.kind == ContractionKind::Linear) return linearColumns(input, weight, maxPositions, generator);
  return convolutionColumns(input, weight, op, maxPositions, generator);
}

}  // namespace mqb::quant
