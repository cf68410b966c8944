#include "runtime/FusedInstanceNorm.h"

#include "runtime/EnvSwitch.h"
#include "runtime/FastConvolutions.h"
#include "runtime/JitGraph.h"

#include <ATen/Parallel.h>
#include <torch/library.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace mqb {
namespace {

// Elements per float block before its partial sums go into the double total: short enough
// that float rounding stays far below the statistics' own spread.
constexpr int64_t kBlock = 2048;
constexpr int kLanes = 16;

// Sum of x[i] (or of (x[i] - shift)^2): lane-wise float accumulators (vectorised without
// reassociating anything), block totals in double.
template <bool Squared>
double planeSum(const float* x, int64_t n, float shift) {
  double total = 0;
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t e = std::min(n, b + kBlock);
    float acc[kLanes] = {};
    int64_t i = b;
    for (; i + kLanes <= e; i += kLanes)
      for (int l = 0; l < kLanes; ++l) {
        const float v = x[i + l] - shift;
        acc[l] += Squared ? v * v : v;
      }
    double block = 0;
    for (int l = 0; l < kLanes; ++l) block += acc[l];
    for (; i < e; ++i) {
      const double v = double(x[i]) - shift;
      block += Squared ? v * v : v;
    }
    total += block;
  }
  return total;
}

PlaneNorm instanceNormPlane(const float* xs, int64_t plane, double eps, float weight, float bias) {
  // Summed relative to the first voxel: float lanes then add values near 0, not near a
  // large offset (CT-like data 1000 +- 0.01 lost its spread in lane sums otherwise).
  const double mean = double(xs[0]) + planeSum<false>(xs, plane, xs[0]) / double(plane);
  const auto centre = static_cast<float>(mean);
  // Deviations from the float mean; E[(x - c)^2] = var + (mean - c)^2.
  const double offset = mean - double(centre);
  const double var = std::max(0.0, planeSum<true>(xs, plane, centre) / double(plane) - offset * offset);
  const double scale = double(weight) / std::sqrt(var + eps);
  return {centre, static_cast<float>(scale), static_cast<float>(double(bias) - offset * scale)};
}

void normalisePlane(const float* x, float* y, int64_t n, const PlaneNorm& a, bool leaky, float slope) {
  const float centre = a.centre, scale = a.scale, shift = a.shift;
  if (leaky) {
    // LeakyReLU as max + min * slope (see quant/FakeQuant.cpp's Leaky): vectorises, same values.
    for (int64_t i = 0; i < n; ++i) {
      const float v = (x[i] - centre) * scale + shift;
      y[i] = std::max(v, 0.0f) + std::min(v, 0.0f) * slope;
    }
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - centre) * scale + shift;
  }
}

torch::Tensor runOp(const torch::Tensor& x, const c10::optional<torch::Tensor>& weight,
                    const c10::optional<torch::Tensor>& bias, double eps, c10::optional<double> slope) {
  return fusedInstanceNorm(x, weight ? *weight : torch::Tensor(), bias ? *bias : torch::Tensor(), eps,
                           slope ? std::optional<double>(*slope) : std::nullopt);
}

std::atomic<bool>& fusedSwitch() {
  static std::atomic<bool> enabled{!envSwitchOff("MQB_FUSED_NORM")};
  return enabled;
}

bool isNone(torch::jit::Value* v) { return v->type()->kind() == c10::TypeKind::NoneType; }

// A constant float [C] tensor or None.
bool constantAffine(torch::jit::Value* v) {
  if (isNone(v)) return true;
  const auto iv = torch::jit::toIValue(v);
  if (!iv || !iv->isTensor()) return false;
  const torch::Tensor& t = iv->toTensor();
  return t.dim() == 1 && t.scalar_type() == torch::kFloat && t.device().is_cpu() && !t.is_mkldnn();
}

bool rewrite(torch::jit::Graph& graph, torch::jit::Node* norm) {
  // aten::instance_norm(input, weight, bias, running_mean, running_var, use_input_stats,
  //                     momentum, eps, cudnn_enabled)
  if (norm->inputs().size() != 9) return false;
  if (!constantAffine(norm->input(1)) || !constantAffine(norm->input(2))) return false;
  // Running statistics would be updated in place: leave those norms to LibTorch.
  if (!isNone(norm->input(3)) || !isNone(norm->input(4))) return false;
  const auto useInputStats = torch::jit::toIValue(norm->input(5));
  const auto eps = torch::jit::toIValue(norm->input(7));
  if (!useInputStats || !useInputStats->isBool() || !useInputStats->toBool() || !eps || !eps->isDouble())
    return false;

  static const auto leaky = c10::Symbol::fromQualString("aten::leaky_relu");
  static const auto leakyInPlace = c10::Symbol::fromQualString("aten::leaky_relu_");
  torch::jit::Node* activation = nullptr;
  c10::IValue slope;  // None
  const auto& uses = norm->output()->uses();
  if (uses.size() == 1) {
    torch::jit::Node* user = uses[0].user;
    if ((user->kind() == leaky || user->kind() == leakyInPlace) && user->inputs().size() == 2 &&
        user->input(0) == norm->output() && user->owningBlock() == norm->owningBlock()) {
      const auto s = torch::jit::toIValue(user->input(1));
      if (s && (s->isDouble() || s->isInt())) {
        activation = user;
        slope = s->toScalar().toDouble();
      }
    }
  }
  static const auto fused = c10::Symbol::fromQualString("mqb::instance_norm");
  torch::jit::WithInsertPoint guard(norm);
  torch::jit::Node* op = graph.create(fused, {norm->input(0), norm->input(1), norm->input(2),
                                              graph.insertConstant(eps->toDouble()), graph.insertConstant(slope)});
  op->insertBefore(norm);
  torch::jit::Node* last = activation ? activation : norm;
  op->output()->setType(last->output()->type());
  last->output()->replaceAllUsesWith(op->output());
  if (activation) activation->destroy();
  norm->destroy();
  return true;
}

}  // namespace

torch::Tensor fusedInstanceNorm(const torch::Tensor& input, const torch::Tensor& weight, const torch::Tensor& bias,
                                double eps, std::optional<double> slope) {
  TORCH_CHECK(input.dim() >= 2 && input.scalar_type() == torch::kFloat && input.device().is_cpu(),
              "mqb::instance_norm: needs a float32 CPU tensor [N, C, spatial...]");
  const torch::Tensor x = input.contiguous();
  const int64_t channels = x.size(1);
  TORCH_CHECK(!weight.defined() || weight.numel() == channels, "mqb::instance_norm: weight size");
  TORCH_CHECK(!bias.defined() || bias.numel() == channels, "mqb::instance_norm: bias size");
  torch::Tensor out = torch::empty_like(x, torch::MemoryFormat::Contiguous);
  const bool leaky = slope.has_value();
  const float s = leaky ? static_cast<float>(*slope) : 0.0f;
  forEachInstanceNormPlane(x, weight, bias, eps, out,
                           [&](const float* xs, float* ys, int64_t n, int64_t, const PlaneNorm& a) {
                             normalisePlane(xs, ys, n, a, leaky, s);
                           });
  return out;
}

void forEachInstanceNormPlane(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                              double eps, const torch::Tensor& out, const NormPlaneWriter& write) {
  const int64_t channels = x.size(1);
  const int64_t planes = x.size(0) * channels;
  if (planes == 0 || x.numel() == 0) return;
  const int64_t plane = x.numel() / planes;
  const torch::Tensor w = weight.defined() ? weight.contiguous() : torch::Tensor();
  const torch::Tensor b = bias.defined() ? bias.contiguous() : torch::Tensor();
  const float* wp = w.defined() ? w.data_ptr<float>() : nullptr;
  const float* bp = b.defined() ? b.data_ptr<float>() : nullptr;
  const float* xp = x.data_ptr<float>();
  float* yp = out.data_ptr<float>();
  at::parallel_for(0, planes, std::max<int64_t>(1, (int64_t{1} << 16) / plane), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const int64_t c = p % channels;
      const PlaneNorm a = instanceNormPlane(xp + p * plane, plane, eps, wp ? wp[c] : 1.0f, bp ? bp[c] : 0.0f);
      write(xp + p * plane, yp + p * plane, plane, c, a);
    }
  });
}

bool fusedInstanceNormEnabled() { return fusedSwitch().load(); }

int useFusedInstanceNorms(torch::jit::Graph& graph) {
  // Part of the fast route: MQB_FAST_CONV=0 (the pipeline before it) keeps LibTorch's norms.
  if (!fusedInstanceNormEnabled() || !fastConvolutionsEnabled()) return 0;
  int n = 0;
  for (torch::jit::Node* norm : nodesOfKind(graph.block(), c10::Symbol::fromQualString("aten::instance_norm")))
    n += rewrite(graph, norm) ? 1 : 0;
  return n;
}

// A pure function of its inputs (FROM_SCHEMA).
TORCH_LIBRARY_FRAGMENT(mqb, m) {
  m.def("instance_norm(Tensor x, Tensor? weight, Tensor? bias, float eps, float? slope) -> Tensor", runOp);
}

}  // namespace mqb
