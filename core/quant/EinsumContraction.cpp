#include "quant/EinsumContraction.h"

#include <torch/csrc/jit/ir/ir.h>
#include <torch/library.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

namespace mqb::quant {
namespace {

// One operand or output term: its letters before and after an optional "...".
struct Term {
  std::string before, after;
  bool ellipsis = false;
  std::string letters() const { return before + after; }
};

bool parseTerm(const std::string& t, Term& out, std::string& why) {
  const size_t p = t.find("...");
  if (p == std::string::npos) {
    out.before = t;
  } else {
    out.ellipsis = true;
    out.before = t.substr(0, p);
    out.after = t.substr(p + 3);
    if (out.after.find('.') != std::string::npos) {
      why = "more than one ellipsis in '" + t + "'";
      return false;
    }
  }
  for (char c : out.letters())
    if (!std::isalpha(static_cast<unsigned char>(c))) {
      why = std::string("invalid character '") + c + "'";
      return false;
    }
  return true;
}

// The whole equation: input terms and the output term (the implicit output is built as
// LibTorch does: ellipsis first, then the letters occurring once, in ASCII order).
bool parseEquation(const std::string& equation, std::vector<Term>& inputs, Term& output, std::string& why) {
  std::string eq;
  for (char c : equation)
    if (!std::isspace(static_cast<unsigned char>(c))) eq += c;
  const size_t arrow = eq.find("->");
  const std::string lhs = eq.substr(0, arrow);
  size_t start = 0;
  while (true) {
    const size_t comma = lhs.find(',', start);
    Term t;
    if (!parseTerm(lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start), t, why))
      return false;
    inputs.push_back(t);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (arrow != std::string::npos) return parseTerm(eq.substr(arrow + 2), output, why);
  std::map<char, int> count;
  for (const Term& t : inputs) {
    for (char c : t.letters()) count[c]++;
    output.ellipsis = output.ellipsis || t.ellipsis;
  }
  for (const auto& [c, k] : count)
    if (k == 1) output.before += c;
  return true;
}

}  // namespace

std::optional<EinsumEquation> EinsumEquation::parse(const std::string& equation, std::string& whyNot) {
  std::vector<Term> inputs;
  Term output;
  if (!parseEquation(equation, inputs, output, whyNot)) return std::nullopt;
  if (inputs.size() != 2) {
    whyNot = "einsum with " + std::to_string(inputs.size()) + " operands";
    return std::nullopt;
  }
  EinsumEquation e;
  e.text_ = equation;
  const std::string kept = output.letters();
  for (int k = 0; k < 2; ++k) {
    const Term& t = inputs[k];
    std::set<char> seen;
    for (char c : t.letters())
      if (!seen.insert(c).second) {
        whyNot = std::string("index '") + c + "' repeated within operand " + std::to_string(k + 1) + " (a diagonal)";
        return std::nullopt;
      }
    if (t.ellipsis && !output.ellipsis) {
      whyNot = "the ellipsis dimensions of operand " + std::to_string(k + 1) + " are summed away";
      return std::nullopt;
    }
    e.ellipsis_[k] = t.ellipsis;
    auto place = [&](char c, int64_t dim) {
      (kept.find(c) == std::string::npos ? e.contracted_[k] : e.free_[k]).push_back(dim);
    };
    for (size_t i = 0; i < t.before.size(); ++i) place(t.before[i], static_cast<int64_t>(i));
    for (size_t i = 0; i < t.after.size(); ++i) place(t.after[i], -static_cast<int64_t>(t.after.size() - i));
  }
  if (e.contracted_[0].empty() && e.contracted_[1].empty()) {
    whyNot = "nothing is summed (an elementwise or outer product)";
    return std::nullopt;
  }
  for (int k = 0; k < 2; ++k)
    if (e.contracted_[k].empty()) {
      whyNot = "operand " + std::to_string(k + 1) + " has no contracted index";
      return std::nullopt;
    }
  return e;
}

bool EinsumEquation::isPlainProduct(const std::string& equation) {
  std::vector<Term> inputs;
  Term output;
  std::string why;
  if (!parseEquation(equation, inputs, output, why)) return false;
  const std::string kept = output.letters();
  for (const Term& t : inputs) {
    if (t.ellipsis && !output.ellipsis) return false;
    for (char c : t.letters())
      if (kept.find(c) == std::string::npos) return false;
  }
  return true;
}

int64_t einsumMacs(const std::string& equation, const std::vector<std::vector<int64_t>>& operandShapes) {
  std::vector<Term> inputs;
  Term output;
  std::string why;
  if (!parseEquation(equation, inputs, output, why) || inputs.size() != operandShapes.size()) return 0;
  std::map<char, int64_t> size;
  std::vector<int64_t> ellipsisDims;  // right-aligned broadcast of every operand's ellipsis dims
  for (size_t k = 0; k < inputs.size(); ++k) {
    const Term& t = inputs[k];
    const auto& s = operandShapes[k];
    const size_t named = t.before.size() + t.after.size();
    if (s.size() < named || (!t.ellipsis && s.size() != named)) return 0;
    for (size_t i = 0; i < t.before.size(); ++i) size[t.before[i]] = std::max(size[t.before[i]], s[i]);
    for (size_t i = 0; i < t.after.size(); ++i) {
      const char c = t.after[i];
      size[c] = std::max(size[c], s[s.size() - t.after.size() + i]);
    }
    const size_t e = s.size() - named;
    if (ellipsisDims.size() < e) ellipsisDims.insert(ellipsisDims.begin(), e - ellipsisDims.size(), 1);
    for (size_t i = 0; i < e; ++i) {
      int64_t& d = ellipsisDims[ellipsisDims.size() - e + i];
      d = std::max(d, s[t.before.size() + i]);
    }
  }
  int64_t macs = 1;
  for (const auto& [c, n] : size) macs *= n;  // every index once: output x summed ones
  for (int64_t d : ellipsisDims) macs *= d;
  return macs;
}

c10::Symbol twoOperandEinsumSymbol() {
  static const c10::Symbol s = c10::Symbol::fromQualString("mqb::einsum");
  return s;
}

namespace {

torch::Tensor twoOperandEinsum(c10::string_view equation, const torch::Tensor& a, const torch::Tensor& b) {
  torch::Tensor y = at::einsum(equation, {a, b});
  // The schema promises a fresh tensor (alias analysis relies on it).
  if (y.is_alias_of(a) || y.is_alias_of(b)) y = y.clone();
  return y;
}

void rewriteBlock(torch::jit::Block* block) {
  static const auto einsum = c10::Symbol::fromQualString("aten::einsum");
  for (auto it = block->nodes().begin(); it != block->nodes().end();) {
    torch::jit::Node* n = *it;
    ++it;
    for (torch::jit::Block* inner : n->blocks()) rewriteBlock(inner);
    if (n->kind() != einsum || n->inputs().size() < 2) continue;
    torch::jit::Node* list = n->input(1)->node();
    if (list->kind() != c10::prim::ListConstruct || list->inputs().size() != 2) continue;
    const auto eq = torch::jit::toIValue(n->input(0));
    if (!eq || !eq->isString()) continue;
    torch::jit::Node* e =
        n->owningGraph()->create(twoOperandEinsumSymbol(), {n->input(0), list->input(0), list->input(1)});
    e->insertBefore(n);
    e->copyMetadata(n);
    e->copyAttributes(*n);  // the module path the engine recorded
    e->output()->setType(n->output()->type());
    n->output()->replaceAllUsesWith(e->output());
    n->destroy();
    if (!list->hasUses()) list->destroy();
  }
}

}  // namespace

void rewriteTwoOperandEinsums(torch::jit::Graph& graph) { rewriteBlock(graph.block()); }

TORCH_LIBRARY_FRAGMENT(mqb, m) {
  m.def(torch::schema("mqb::einsum(str equation, Tensor a, Tensor b) -> Tensor", c10::AliasAnalysisKind::FROM_SCHEMA),
        twoOperandEinsum);
}

}  // namespace mqb::quant
