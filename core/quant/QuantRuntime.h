#pragma once
// The run-time side of the rewritten graph. Two custom operators are inserted around
// every quantizable op: mqb::act(x, ctx, op, slot) on each activation input and
// mqb::out(y, ctx, op) on the output; mqb::act_leaky(pre, slope, ctx, op, slot) replaces
// act and the LeakyReLU in front of it where QuantizedModel folds the two, and
// mqb::act_norm(x, weight, bias, eps, slope, ctx, op, slot) also the instance norm in front
// of that LeakyReLU. They look up
// the QuantRuntime registered under `ctx` and apply its plan (fake-quantize with a static
// grid or dynamic per-voxel/token scales, or pass through), and let an observer see FP32
// inputs/outputs (calibration, layer analysis). One instrumented graph serves every use.
#include <torch/torch.h>

#include <array>
#include <vector>

#include "quant/QuantGrid.h"

namespace mqb::quant {

struct ActivationPlan {
  enum class Mode { PassThrough, Static, Dynamic };
  Mode mode = Mode::PassThrough;
  QuantGrid grid;          // Static
  int64_t dynamicDim = 1;  // Dynamic: the reduced (channel/hidden) dimension
  // Dynamic, when set: several dims reduced together instead of dynamicDim (an einsum
  // operand contracting over several indices gets one scale per combination of the rest).
  std::vector<int64_t> dynamicDims;
  int bits = 8;
  bool symmetric = true;
  // The op is the last reader of this input (QuantOp::inputOverwritable): quantize in place.
  bool overwriteInput = false;
  // The LeakyReLU producing this input was folded into the hook (mqb::act_leaky): the hook
  // receives its input and applies it (QuantizedModel; Static plans only).
  bool foldedLeaky = false;
  bool foldedInPlace = false;  // the folded activation was leaky_relu_
  torch::Tensor apply(const torch::Tensor& x) const;
  // apply() writing into x itself when allowed and x is contiguous float32 (else a copy).
  torch::Tensor applyOverwriting(const torch::Tensor& x) const;
};

class HookObserver {
 public:
  virtual ~HookObserver() = default;
  // x is the op's input before quantization; y the op's output.
  virtual void onInput(int op, int slot, const torch::Tensor& x) {}
  virtual void onOutput(int op, const torch::Tensor& y) {}
  // Whether the observer keeps references to the inputs it is shown beyond onInput; if
  // not, inputs may be quantized in place after onInput returned.
  virtual bool retainsInputs() const { return true; }
};

class QuantRuntime {
 public:
  explicit QuantRuntime(size_t ops);
  ~QuantRuntime();
  QuantRuntime(const QuantRuntime&) = delete;
  QuantRuntime& operator=(const QuantRuntime&) = delete;

  int64_t id() const { return id_; }
  std::vector<std::array<ActivationPlan, 2>>& plans() { return plans_; }
  const std::vector<std::array<ActivationPlan, 2>>& plans() const { return plans_; }
  void setObserver(HookObserver* observer) { observer_ = observer; }
  bool observed() const { return observer_ != nullptr; }

  torch::Tensor onActivation(const torch::Tensor& x, int64_t op, int64_t slot);
  // Input `pre` of a folded LeakyReLU (ActivationPlan::foldedLeaky).
  torch::Tensor onLeakyActivation(const torch::Tensor& pre, double slope, int64_t op, int64_t slot);
  // Input `x` of an instance norm whose LeakyReLU was folded into this hook
  // (mqb::act_norm: QuantizedModel fuses the two after its graph passes).
  torch::Tensor onNormActivation(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                                 double eps, double slope, int64_t op, int64_t slot);
  torch::Tensor onOutput(const torch::Tensor& y, int64_t op);

 private:
  int64_t id_;
  std::vector<std::array<ActivationPlan, 2>> plans_;
  HookObserver* observer_ = nullptr;
};

// Makes sure the operators are registered (static libraries may drop unused registrars).
void registerQuantOperators();

}  // namespace mqb::quant
