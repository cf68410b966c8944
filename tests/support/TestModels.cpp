#include "TestModels.h"

#include <torch/script.h>
#include <torch/torch.h>

#include <fstream>

namespace mqb::test {

nlohmann::json bandModelMetadata(int patch, double spacingMm) {
  return {{"format_version", 1},
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

void writeBandModel(const std::string& path, const nlohmann::json& metadata, bool sidecar, int outputChannels) {
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

namespace {

torch::jit::Module convModule(const std::string& type, torch::Tensor w, torch::Tensor b, const std::string& call) {
  torch::jit::Module m(type);
  m.register_parameter("weight", w, false);
  m.register_parameter("bias", b, false);
  m.define("def forward(self, x):\n    return " + call + "\n");
  return m;
}

}  // namespace

void writeMixedOpsModel(const std::string& path, uint64_t seed) {
  torch::manual_seed(seed);
  auto he = [](std::vector<int64_t> shape, int64_t fanIn) {
    return torch::randn(shape) * std::sqrt(2.0 / double(fanIn));
  };
  torch::jit::Module enc = convModule("Enc", he({8, 1, 3, 3, 3}, 27), torch::randn({8}) * 0.1,
                                      "torch.conv3d(x, self.weight, self.bias, [1, 1, 1], [1, 1, 1])");
  torch::jit::Module down = convModule("Down", he({16, 8, 2, 2, 2}, 64), torch::randn({16}) * 0.1,
                                       "torch.conv3d(x, self.weight, self.bias, [2, 2, 2])");
  torch::jit::Module attn("Attention");
  for (const char* name : {"q", "k", "v", "proj"}) {
    torch::jit::Module lin = convModule(std::string("Linear_") + name, he({16, 16}, 16), torch::randn({16}) * 0.1,
                                        "torch.linear(x, self.weight, self.bias)");
    attn.register_module(name, lin);
  }
  attn.define(R"JIT(
    def forward(self, x):
        q = self.q.forward(x)
        k = self.k.forward(x)
        v = self.v.forward(x)
        a = torch.softmax(torch.matmul(q, k.transpose(-2, -1)) * 0.25, dim=-1)
        return self.proj.forward(torch.matmul(a, v))
  )JIT");
  torch::jit::Module up = convModule("Up", he({16, 8, 2, 2, 2}, 128), torch::randn({8}) * 0.1,
                                     "torch.conv_transpose3d(x, self.weight, self.bias, [2, 2, 2])");
  torch::jit::Module head =
      convModule("Head", he({3, 8, 1, 1, 1}, 8), torch::randn({3}) * 0.1, "torch.conv3d(x, self.weight, self.bias)");
  torch::jit::Module net("MixedNet");
  net.register_module("enc", enc);
  net.register_module("down", down);
  net.register_module("attn", attn);
  net.register_module("up", up);
  net.register_module("head", head);
  net.define(R"JIT(
    def forward(self, x):
        h = torch.relu(self.enc.forward(x))
        d = torch.relu(self.down.forward(h))
        n = d.size(0)
        c = d.size(1)
        t = d.flatten(2).transpose(1, 2)
        t = t + self.attn.forward(t)
        d2 = t.transpose(1, 2).reshape(n, c, d.size(2), d.size(3), d.size(4))
        u = torch.relu(self.up.forward(d2)) + h
        return self.head.forward(u)
  )JIT");
  save(net, path, bandModelMetadata(16, 2.0), false);
}

void writeConvChainModel(const std::string& path, int patch, int channels, int layers) {
  torch::manual_seed(3);
  torch::jit::Module m("ConvChain");
  std::string body = "def forward(self, x):\n    h = x\n";
  for (int i = 0; i < layers; ++i) {
    const int64_t in = i == 0 ? 1 : channels, out = i == layers - 1 ? 3 : channels;
    m.register_parameter("w" + std::to_string(i), torch::randn({out, in, 3, 3, 3}) * std::sqrt(2.0 / (27.0 * in)),
                         false);
    m.register_parameter("b" + std::to_string(i), torch::zeros({out}), false);
    const std::string conv = "torch.conv3d(h, self.w" + std::to_string(i) + ", self.b" + std::to_string(i) +
                             ", [1, 1, 1], [1, 1, 1])";
    body += i == layers - 1 ? "    return " + conv + "\n" : "    h = torch.relu(" + conv + ")\n";
  }
  m.define(body);
  save(m, path, bandModelMetadata(patch, 2.0), false);
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
