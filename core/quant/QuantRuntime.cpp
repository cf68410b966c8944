#include "quant/QuantRuntime.h"

#include <torch/library.h>

#include <atomic>
#include <mutex>

#include "Error.h"
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

torch::Tensor outHook(const torch::Tensor& y, int64_t ctx, int64_t op) {
  return runtimeFor(ctx).onOutput(y, op);
}

}  // namespace

// CONSERVATIVE alias analysis: the graph optimiser must treat the hooks as having side
// effects (observers), never fold, reorder or eliminate them.
TORCH_LIBRARY(mqb, m) {
  m.def(torch::schema("mqb::act(Tensor x, int ctx, int op, int slot) -> Tensor",
                      c10::AliasAnalysisKind::CONSERVATIVE),
        actHook);
  m.def(torch::schema("mqb::act_leaky(Tensor pre, float slope, int ctx, int op, int slot) -> Tensor",
                      c10::AliasAnalysisKind::CONSERVATIVE),
        leakyHook);
  m.def(torch::schema("mqb::out(Tensor y, int ctx, int op) -> Tensor", c10::AliasAnalysisKind::CONSERVATIVE),
        outHook);
}

void registerQuantOperators() {}

torch::Tensor ActivationPlan::apply(const torch::Tensor& x) const {
  switch (mode) {
    case Mode::PassThrough: return x;
    case Mode::Static: return fakeQuant(x, grid);
    case Mode::Dynamic: return fakeQuantDynamic(x, dynamicDim, bits, symmetric);
  }
  return x;
}

torch::Tensor ActivationPlan::applyOverwriting(const torch::Tensor& x) const {
  if (!overwriteInput || mode == Mode::PassThrough || !x.is_contiguous() || x.scalar_type() != torch::kFloat ||
      !x.device().is_cpu() || x.requires_grad())
    return apply(x);
  if (mode == Mode::Static) fakeQuantInto(x, grid, x);
  else fakeQuantDynamicInto(x, dynamicDim, bits, symmetric, x);
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

torch::Tensor QuantRuntime::onOutput(const torch::Tensor& y, int64_t op) {
  if (observer_) observer_->onOutput(static_cast<int>(op), y);
  return y;
}

}  // namespace mqb::quant
