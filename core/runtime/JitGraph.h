#pragma once
// Reading frozen TorchScript graphs for the passes that rewrite them (oneDNN route, fused
// norms and transposed convolutions, INT8 graphs): constant arguments of nodes, and the
// nodes of one kind, nested blocks included, collected before any of them is rewritten.
#include <torch/csrc/jit/ir/ir.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace mqb {

// An int[] argument given as a constant: `dims` entries, or one entry (or a plain int)
// standing for all of them; nullopt otherwise.
std::optional<std::vector<int64_t>> constantIntList(torch::jit::Value* v, int dims);

// A constant int argument; nullopt otherwise.
std::optional<int64_t> constantInt(torch::jit::Value* v);

// Every node of `kind` in `block` and the blocks nested in it. Collected first, so the
// caller may rewrite or destroy them while walking the list.
std::vector<torch::jit::Node*> nodesOfKind(torch::jit::Block* block, c10::Symbol kind);

}  // namespace mqb
