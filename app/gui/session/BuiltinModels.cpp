#include <torch/script.h>
#include <torch/torch.h>

#include "BuiltinModels.h"

#include <nlohmann/json.hpp>

#include "support/Error.h"

namespace mqb::gui {

void writeSyntheticBandModel(const std::string& path, int patch, double spacing) {
  const nlohmann::json metadata = {
      {"format_version", 1},
      {"name", "synthetic-band-model"},
      {"framework", "builtin"},
      {"architecture", "3-layer CNN (synthetic)"},
      {"category", "CNN"},
      {"description", "Synthetic intensity-band model for benchmarks; not trained."},
      {"classes",
       {{{"id", 0}, {"name", "background"}, {"color", {0, 0, 0}}},
        {{"id", 1}, {"name", "soft tissue"}, {"color", {220, 80, 60}}},
        {{"id", 2}, {"name", "bone / contrast"}, {"color", {240, 220, 90}}}}},
      {"input_channels", 1},
      {"patch_size", {patch, patch, patch}},
      {"target_spacing", {spacing, spacing, spacing}},
      {"orientation", "LPS"},
      {"preprocessing", {{"type", "clip_scale"}, {"clip", {-175, 250}}, {"range", {0, 1}}}},
      {"output", {{"type", "logits"}, {"channels", 3}}}};
  try {
    torch::NoGradGuard noGrad;
    torch::jit::Module m("SyntheticBandModel");
    // Layer 1: 8 channels, each a 3x3x3 mean of the input with a band threshold.
    torch::Tensor w1 = torch::full({8, 1, 3, 3, 3}, 1.0f / 27.0f);
    torch::Tensor b1 = torch::tensor({-0.35f, -0.65f, -0.2f, -0.5f, -0.8f, -0.1f, -0.45f, -0.9f});
    // Layer 2: mostly identity (centre tap) with a little neighbourhood mixing.
    torch::Tensor w2 = torch::zeros({8, 8, 3, 3, 3});
    for (int c = 0; c < 8; ++c) {
      w2[c][c] = torch::full({3, 3, 3}, 0.02f);
      w2[c][c][1][1][1] = 1.0f - 26 * 0.02f;
    }
    torch::Tensor b2 = torch::zeros({8});
    // Head: the band model's decision on channels 0 (x-0.35) and 1 (x-0.65).
    torch::Tensor w3 = torch::zeros({3, 8, 1, 1, 1});
    w3[1][0] = 10.0f;
    w3[1][1] = -40.0f;
    w3[2][1] = 40.0f;
    torch::Tensor b3 = torch::tensor({0.05f, 0.0f, -1.0f});
    m.register_parameter("w1", w1, false);
    m.register_parameter("b1", b1, false);
    m.register_parameter("w2", w2, false);
    m.register_parameter("b2", b2, false);
    m.register_parameter("w3", w3, false);
    m.register_parameter("b3", b3, false);
    m.define(R"JIT(
    def forward(self, x):
        h = torch.relu(torch.conv3d(x, self.w1, self.b1, [1, 1, 1], [1, 1, 1]))
        h = torch.relu(torch.conv3d(h, self.w2, self.b2, [1, 1, 1], [1, 1, 1]))
        return torch.conv3d(h, self.w3, self.b3)
  )JIT");
    torch::jit::ExtraFilesMap extra{{"medquanbench.json", metadata.dump(2)}};
    m.save(path, extra);
  } catch (const std::exception& e) {
    throw Error(path + ": cannot write the synthetic model: " + e.what());
  }
}

}  // namespace mqb::gui
