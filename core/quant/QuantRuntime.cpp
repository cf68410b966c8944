#include "quant/QuantRuntime.h"

#include <torch/library.h>

#include <atomic>
#include <mutex>

#include "support/Error.h"
#include "runtime/FusedInstanceNorm.h"
#include "quant/FakeQuant.h"

namespace mqb::quant {
namespace {

constexpr int64_t kMaxRuntimes = 4096;
std::array<std::atomic<QuantRuntime*>, kMaxRuntimes> g_runtimes{};
std::mutex g_allocation;

int64_t allocateId(QuantRuntime* r) {
  std::lock_guard<std::mutex> lock(g_allocation);
  for (int64_t i = 0; i < kMaxRuntimes; ++i) {
    if (g_runtimes[i].load() == nullptr) {
      g_runtimes[i].store(r);
      return i;
    }
  }
  throw Error("too many quantized models alive at once");
}

QuantRuntime& runtimeFor(int64_t ctx) {
  QuantRuntime* r = ctx >= 0 && ctx < kMaxRuntimes ? g_runtimes[ctx].load() : nullptr;
  if (!r) throw Error("quantized graph used after its configuration was released");
  return *r;
}

torch::Tensor actHook(const torch::Tensor& x, int64_t ctx, int64_t op, int64_t slot) {
  return runtimeFor(ctx).onActivation(x, op, slot);
}

torch::Tensor leakyHook(const torch::Tensor& pre, double slope, int64_t ctx, int64_t op, int64_t slot) {
  return runtimeFor(ctx).onLeakyActivation(pre, slope, op, slot);
}

torch::Tensor normHook(const torch::Tensor& x, const c10::optional<torch::Tensor>& weight,
                       const c10::optional<torch::Tensor>& bias, double eps, double slope, int64_t ctx, int64_t op,
                       int64_t slot) {
  return runtimeFor(ctx).onNormActivation(x, weight ? *weight : torch::Tensor(), bias ? *bias : torch::Tensor(), eps,
                                          slope, op, slot);
}

torch::Tensor outHook(const torch::Tensor& y, int64_t ctx, int64_t op) { return runtimeFor(ctx).onOutput(y, op); }

// fakeQuantDynamic over several dims at once: they are moved last and merged into one, so
// every combination of the other dims is one token of the kernel.
torch::Tensor fakeQuantDynamicOver(const torch::Tensor& x, const std::vector<int64_t>& dims, int bits, bool symmetric) {
  const int64_t rank = x.dim();
  std::vector<bool> reduced(static_cast<size_t>(rank), false);
  for (int64_t d : dims) reduced.at(static_cast<size_t>(d < 0 ? d + rank : d)) = true;
  std::vector<int64_t> perm;
  for (int64_t d = 0; d < rank; ++d)
    if (!reduced[static_cast<size_t>(d)]) perm.push_back(d);
  const int64_t kept = static_cast<int64_t>(perm.size());
  for (int64_t d = 0; d < rank; ++d)
    if (reduced[static_cast<size_t>(d)]) perm.push_back(d);
  const torch::Tensor moved = x.permute(perm);
  std::vector<int64_t> tokens(moved.sizes().begin(), moved.sizes().begin() + kept);
  tokens.push_back(-1);
  const torch::Tensor q = fakeQuantDynamic(moved.reshape(tokens), -1, bits, symmetric).reshape(moved.sizes());
  std::vector<int64_t> inverse(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) inverse[static_cast<size_t>(perm[i])] = static_cast<int64_t>(i);
  return q.permute(inverse);
}

}  // namespace

// CONSERVATIVE alias analysis: the graph optimiser must treat the hooks as having side
// effects (observers), never fold, reorder or eliminate them.
TORCH_LIBRARY(mqb, m) {
  m.def(torch::schema("mqb::act(Tensor x, int ctx, int op, int slot) -> Tensor", c10::AliasAnalysisKind::CONSERVATIVE),
        actHook);
  m.def(torch::schema("mqb::act_leaky(Tensor pre, float slope, int ctx, int op, int slot) -> Tensor",
                      c10::AliasAnalysisKind::CONSERVATIVE),
        leakyHook);
  m.def(torch::schema("mqb::act_norm(Tensor x, Tensor? weight, Tensor? bias, float eps, float slope, int ctx, "
                      "int op, int slot) -> Tensor",
                      c10::AliasAnalysisKind::CONSERVATIVE),
        normHook);
  m.def(torch::schema("mqb::out(Tensor y, int ctx, int op) -> Tensor", c10::AliasAnalysisKind::CONSERVATIVE), outHook);
}

void registerQuantOperators() {}

torch::Tensor ActivationPlan::apply(const torch::Tensor& x) const {
  switch (mode) {
    case Mode::PassThrough: return x;
    case Mode::Static: return fakeQuant(x, grid);
    case Mode::Dynamic:
      return dynamicDims.empty() ? fakeQuantDynamic(x, dynamicDim, bits, symmetric)
                                 : fakeQuantDynamicOver(x, dynamicDims, bits, symmetric);
  }
  return x;
}

torch::Tensor ActivationPlan::applyOverwriting(const torch::Tensor& x) const {
  if (!overwriteInput || mode == Mode::PassThrough || !dynamicDims.empty() || !x.is_contiguous() ||
      x.scalar_type() != torch::kFloat || !x.device().is_cpu() || x.requires_grad())
    return apply(x);
  if (mode == Mode::Static)
    fakeQuantInto(x, grid, x);
  else
    fakeQuantDynamicInto(x, dynamicDim, bits, symmetric, x);
  return x;
}

QuantRuntime::QuantRuntime(size_t ops) : id_(allocateId(this)), plans_(ops) {}

QuantRuntime::~QuantRuntime() { g_runtimes[id_].store(nullptr); }

torch::Tensor QuantRuntime::onActivation(const torch::Tensor& x, int64_t op, int64_t slot) {
  const ActivationPlan& plan = plans_[static_cast<size_t>(op)][static_cast<size_t>(slot)];
  if (observer_) {
    observer_->onInput(static_cast<int>(op), static_cast<int>(slot), x);
    if (observer_->retainsInputs()) return plan.apply(x);
  }
  return plan.applyOverwriting(x);
}

torch::Tensor QuantRuntime::onLeakyActivation(const torch::Tensor& pre, double slope, int64_t op, int64_t slot) {
  const ActivationPlan& plan = plans_[static_cast<size_t>(op)][static_cast<size_t>(slot)];
  const bool plain = pre.is_contiguous() && pre.scalar_type() == torch::kFloat && pre.device().is_cpu() &&
                     !pre.requires_grad();
  if (observer_ || plan.mode != ActivationPlan::Mode::Static || !plain) {
    // The activation as the graph had it, then the usual hook: observers see the op's input.
    torch::Tensor x = pre;  // a handle: leaky_relu_ writes into pre's storage, as the graph did
    if (plan.foldedInPlace)
      at::leaky_relu_(x, slope);
    else
      x = at::leaky_relu(pre, slope);
    return onActivation(x, op, slot);
  }
  // One pass: the in-place form may overwrite `pre` (the op is the last reader of every
  // alias); the out-of-place form must leave it intact.
  const torch::Tensor out = plan.foldedInPlace ? pre : torch::empty_like(pre);
  fakeQuantLeakyInto(pre, slope, plan.grid, out);
  return out;
}

torch::Tensor QuantRuntime::onNormActivation(const torch::Tensor& x, const torch::Tensor& weight,
                                             const torch::Tensor& bias, double eps, double slope, int64_t op,
                                             int64_t slot) {
  const ActivationPlan& plan = plans_[static_cast<size_t>(op)][static_cast<size_t>(slot)];
  if (observer_ || plan.mode != ActivationPlan::Mode::Static || x.dim() < 2 || x.scalar_type() != torch::kFloat ||
      !x.device().is_cpu() || x.requires_grad())
    // The norm and activation as the graph had them, then the usual hook: observers see
    // the op's input.
    return onActivation(fusedInstanceNorm(x, weight, bias, eps, slope), op, slot);
  const torch::Tensor out = torch::empty(x.sizes(), x.options().memory_format(torch::MemoryFormat::Contiguous));
  fakeQuantNormLeakyInto(x, weight, bias, eps, slope, plan.grid, out);
  return out;
}

torch::Tensor QuantRuntime::onOutput(const torch::Tensor& y, int64_t op) {
  if (observer_) observer_->onOutput(static_cast<int>(op), y);
  return y;
}

}  // namespace mqb::quant
