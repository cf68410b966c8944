#include "TestModels.h"

#include <torch/script.h>
#include <torch/torch.h>

#include <fstream>

namespace mqb::test {

nlohmann::json bandModelMetadata(int patch, double spacingMm) {
  return {
      {"format_version", 1},
      {"name", "band-test-model"},
      {"framework", "test"},
      {"architecture", "pointwise"},
      {"category", "CNN"},
      {"classes",
       {{{"id", 0}, {"name", "background"}, {"color", {0, 0, 0}}},
        {{"id", 1}, {"name", "low"}, {"color", {255, 0, 0}}},
        {{"id", 2}, {"name", "high"}, {"color", {0, 255, 0}}}}},
      {"input_channels", 1},
      {"patch_size", {patch, patch, patch}},
      {"target_spacing", {spacingMm, spacingMm, spacingMm}},
      {"orientation", "LPS"},
      {"preprocessing", {{"type", "clip_scale"}, {"clip", {-175, 250}}, {"range", {0, 1}}}},
      {"output", {{"type", "logits"}, {"channels", 3}}}};
}

namespace {

void save(torch::jit::Module& m, const std::string& path, const nlohmann::json& metadata, bool sidecar) {
  if (sidecar) {
    m.save(path);
    std::string json = path.substr(0, path.rfind('.')) + ".json";
    std::ofstream(json) << metadata.dump(2);
  } else {
    torch::jit::ExtraFilesMap extra{{"medquanbench.json", metadata.dump(2)}};
    m.save(path, extra);
  }
}

}  // namespace

void writeBandModel(const std::string& path, const nlohmann::json& metadata, bool sidecar,
                    int outputChannels) {
  torch::jit::Module m("BandModel");
  // h0 = relu(x - 0.35), h1 = relu(x - 0.65)
  m.register_parameter("w1", torch::ones({2, 1, 1, 1, 1}), false);
  m.register_parameter("b1", torch::tensor({-0.35f, -0.65f}), false);
  // logits: l0 = 0.05, l1 = 10*h0 - 40*h1, l2 = 40*h1 - 1  (decision boundaries ~0.355 / ~0.7)
  torch::Tensor w2 = torch::zeros({outputChannels, 2, 1, 1, 1});
  torch::Tensor b2 = torch::zeros({outputChannels});
  w2[1][0] = 10.0f;
  w2[1][1] = -40.0f;
  if (outputChannels > 2) w2[2][1] = 40.0f;
  b2[0] = 0.05f;
  if (outputChannels > 2) b2[2] = -1.0f;
  for (int c = 3; c < outputChannels; ++c) b2[c] = -100.0f;
  m.register_parameter("w2", w2, false);
  m.register_parameter("b2", b2, false);
  m.define(R"JIT(
    def forward(self, x):
        h = torch.relu(torch.conv3d(x, self.w1, self.b1))
        return torch.conv3d(h, self.w2, self.b2)
  )JIT");
  save(m, path, metadata, sidecar);
}

void writeNaNModel(const std::string& path, const nlohmann::json& metadata) {
  torch::jit::Module m("NaNModel");
  m.register_parameter("w", torch::ones({3, 1, 1, 1, 1}), false);
  m.define(R"JIT(
    def forward(self, x):
        return torch.conv3d(x, self.w) * float('nan')
  )JIT");
  save(m, path, metadata, false);
}

}  // namespace mqb::test
