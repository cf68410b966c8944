#pragma once
// Small TorchScript models built in C++ (torch::jit::Module::define), so the core suites
// need no model files and no Python. Their outputs are known in closed form.
#include <nlohmann/json.hpp>
#include <string>

namespace mqb::test {

// Metadata for a 3-class model (background, "low", "high") with the given patch and spacing.
nlohmann::json bandModelMetadata(int patch = 16, double spacingMm = 2.0);

// A pointwise (1x1x1 conv - ReLU - 1x1x1 conv) classifier of the preprocessed intensity:
// class 0 below 0.35, class 1 in (0.35, 0.65), class 2 above ~0.7 (units after clip_scale
// of [-175, 250] HU to [0, 1]). Pointwise, so sliding-window blending cannot change it:
// inference must reproduce thresholding exactly on the model grid.
// Writes the model to `path`; metadata embedded unless sidecar is true.
void writeBandModel(const std::string& path, const nlohmann::json& metadata, bool sidecar = false,
                    int outputChannels = 3);

// Same signature, but forward returns NaN everywhere.
void writeNaNModel(const std::string& path, const nlohmann::json& metadata);

// A small hybrid network exercising every quantizable op kind, with named submodules:
//   enc (conv3d 3x3x3, 1->8), down (conv3d 2x2x2 stride 2, 8->16), attn.q / attn.k /
//   attn.v / attn.proj (linear 16->16), attn.matmul (Q.K^T) and attn.matmul_1 (A.V),
//   up (conv_transpose3d 2x2x2 stride 2, 16->8), head (1x1x1 conv, 8->3).
// Patch 16^3, 3 classes (band metadata), deterministic weights from `seed`.
void writeMixedOpsModel(const std::string& path, uint64_t seed = 7);

// A plain chain of `layers` 3x3x3 convolutions (1 -> channels -> ... -> 3) with ReLUs and a
// patch of patch^3 (band metadata): a forward of many short ops whose length is set by the
// caller (cancellation inside one window). Deterministic weights.
void writeConvChainModel(const std::string& path, int patch, int channels, int layers);

// HU values that land in the middle of each band of the band model.
constexpr float kBandBackgroundHu = -100.0f;  // -> 0.176
constexpr float kBandLowHu = 40.0f;           // -> 0.506
constexpr float kBandHighHu = 200.0f;         // -> 0.882

}  // namespace mqb::test
