#include "runtime/JitGraph.h"

namespace mqb {

std::optional<std::vector<int64_t>> constantIntList(torch::jit::Value* v, int dims) {
  auto iv = torch::jit::toIValue(v);
  if (!iv) return std::nullopt;
  std::vector<int64_t> list;
  if (iv->isIntList())
    list = iv->toIntVector();
  else if (iv->isInt())
    list = {iv->toInt()};
  else
    return std::nullopt;
  if (list.size() == 1 && dims > 1) list.assign(static_cast<size_t>(dims), list[0]);
  if (static_cast<int>(list.size()) != dims) return std::nullopt;
  return list;
}

std::optional<int64_t> constantInt(torch::jit::Value* v) {
  auto iv = torch::jit::toIValue(v);
  if (!iv || !iv->isInt()) return std::nullopt;
  return iv->toInt();
}

namespace {

void collect(torch::jit::Block* block, c10::Symbol kind, std::vector<torch::jit::Node*>& out) {
  for (torch::jit::Node* node : block->nodes()) {
    if (node->kind() == kind) out.push_back(node);
    for (torch::jit::Block* sub : node->blocks()) collect(sub, kind, out);
  }
}

}  // namespace

std::vector<torch::jit::Node*> nodesOfKind(torch::jit::Block* block, c10::Symbol kind) {
  std::vector<torch::jit::Node*> nodes;
  collect(block, kind, nodes);
  return nodes;
}

}  // namespace mqb
