#pragma once
// A two-operand torch.einsum seen as a contraction (SPEC section 4): which dimensions of
// each operand are summed away (contracted) and which survive into the output (free).
// The quantizer needs exactly that: an activation operand gets one scale per combination
// of its free indices (the max runs over its contracted indices, like matmul's per-token /
// per-column rule), a constant operand is a weight with one scale per free index
// combination (its output channels).
//
// The frozen graph's aten::einsum(equation, [a, b]) takes its operands through a list,
// so per-operand hooks cannot be placed on it; rewriteTwoOperandEinsums() replaces it by
// mqb::einsum(equation, a, b), which calls the same at::einsum.
#include <torch/script.h>

#include <array>
#include <optional>
#include <string>
#include <vector>

namespace mqb::quant {

class EinsumEquation {
 public:
  // Parses a two-operand equation as LibTorch accepts it ("bhid,bhjd->bhij", implicit
  // output "ij,jk", ellipsis "...ij,...jk->...ik", spaces). Returns nullopt and sets
  // `whyNot` when the engine cannot map it (repeated index inside one operand, an
  // operand without a contracted index, an ellipsis summed away, not two operands).
  static std::optional<EinsumEquation> parse(const std::string& equation, std::string& whyNot);
  // True for a product with nothing summed (e.g. "bi,bi->bi", "i,j->ij"): an elementwise or
  // outer product, not a contraction, so it is not counted at all.
  static bool isPlainProduct(const std::string& equation);

  // Dims of operand 0/1 summed away (letters absent from the output) / kept. Letters before
  // an ellipsis count from the front (0, 1, ...), letters after it from the back (-1, -2, ...);
  // the ellipsis dims themselves are free.
  const std::vector<int64_t>& contractedDims(int operand) const { return contracted_[operand]; }
  const std::vector<int64_t>& freeDims(int operand) const { return free_[operand]; }
  // Whether the operand has an ellipsis (its free dims then also include the ellipsis dims).
  bool hasEllipsis(int operand) const { return ellipsis_[operand]; }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::array<bool, 2> ellipsis_{false, false};
  std::array<std::vector<int64_t>, 2> contracted_, free_;
};

// Replaces every aten::einsum with two tensor operands (a prim::ListConstruct of two) by
// mqb::einsum(equation, a, b), keeping the node's source range and call stack (op names).
void rewriteTwoOperandEinsums(torch::jit::Graph& graph);

// The symbol of the rewritten node.
c10::Symbol twoOperandEinsumSymbol();

// Multiply-accumulates of a contraction with these operand shapes (letters' sizes read
// from the operands; ellipsis dims broadcast): output elements x product of the sizes of
// the letters summed away. Works for any number of operands; 0 when the shapes do not
// fit the equation.
int64_t einsumMacs(const std::string& equation, const std::vector<std::vector<int64_t>>& operandShapes);

}  // namespace mqb::quant
