// The code patterns of the paper's five architectures (MONAI einsum self-attention, Swin
// window attention with relative position bias and shifted-window mask, MedFormer einsum
// attention over semantic maps, nnU-Net nested ModuleLists with a decoder that references
// its encoder), as small models of our own (models/patterns.py) scripted and traced at
// test time: every contraction is found and quantizable, op names keep every container
// and index and are the same for both export methods, and parameters are counted once.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "model/SegmentationModel.h"
#include "TestSupport.h"
#include "quant/QuantCoverage.h"

using namespace mqb;
using namespace mqb::quant;

namespace {

struct Patterns {
  std::string dir;
  nlohmann::json manifest;
  std::string skip;  // why the models could not be made
};

const Patterns& patterns() {
  static const Patterns p = [] {
    Patterns r;
    r.dir = test::tempDir() + "/patterns";
    const std::string python = MQB_PYTHON;
    if (std::system((python + " -c 'import torch' >/dev/null 2>&1").c_str()) != 0) {
      r.skip = python + " with torch is not available";
      return r;
    }
    const std::string cmd = "cd '" + std::string(MQB_SOURCE_DIR) + "' && " + python + " -m models.patterns '" +
                            r.dir + "' >'" + r.dir + ".log' 2>&1";
    if (std::system(cmd.c_str()) != 0) return r;  // the test fails on the missing manifest
    std::ifstream in(r.dir + "/manifest.json");
    if (in) in >> r.manifest;
    return r;
  }();
  return p;
}

#define MQB_REQUIRE_PATTERNS()                                   \
  if (!patterns().skip.empty()) GTEST_SKIP() << patterns().skip; \
  ASSERT_FALSE(patterns().manifest.is_null()) << "models.patterns failed, see " << patterns().dir << ".log"

std::vector<std::string> opNames(const QuantizableGraph& g) {
  std::vector<std::string> names;
  for (const auto& op : g.ops()) names.push_back(op.name);
  return names;
}

// Loads both exports of a pattern and checks what every pattern must satisfy.
std::vector<std::string> checkPattern(const std::string& pattern) {
  const auto& entry = patterns().manifest.at(pattern);
  std::vector<std::string> names;
  for (const char* method : {"script", "trace"}) {
    const std::string path = entry.at("files").at(method).get<std::string>();
    SegmentationModel model = SegmentationModel::load(path);
    EXPECT_EQ(model.parameterCount(), entry.at("parameters").get<int64_t>()) << pattern << " " << method;
    QuantizableGraph g(model.module(), path);
    const Coverage cov = coverageOf(g, nullptr, model.metadata());
    EXPECT_EQ(cov.quantized(), cov.total()) << pattern << " " << method << ": " << cov.summary();
    EXPECT_TRUE(g.unsupported().empty()) << pattern << " " << method;
    EXPECT_DOUBLE_EQ(cov.macShare(), 1.0) << pattern << " " << method;
    if (names.empty())
      names = opNames(g);
    else
      EXPECT_EQ(opNames(g), names) << pattern << ": traced names differ from scripted ones";
    QuantizableGraph again(model.module(), path);
    EXPECT_EQ(opNames(again), opNames(g)) << pattern << " " << method << ": names not stable";
  }
  return names;
}

std::vector<std::string> block(const std::string& prefix, const std::vector<std::string>& suffixes) {
  std::vector<std::string> out;
  for (const auto& s : suffixes) out.push_back(prefix + s);
  return out;
}

std::vector<std::string> concat(std::initializer_list<std::vector<std::string>> parts) {
  std::vector<std::string> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

}  // namespace

TEST(ArchitecturePatterns, MonaiEinsumSelfAttentionIsFoundAndNamedPerBlock) {
  MQB_REQUIRE_PATTERNS();
  const std::vector<std::string> perBlock{"attn.qkv",      "attn.einsum", "attn.einsum_1",
                                          "attn.out_proj", "mlp.linear1", "mlp.linear2"};
  EXPECT_EQ(checkPattern("unetr-like"),
            concat({{"patch_embedding"}, block("blocks.0.", perBlock), block("blocks.1.", perBlock), {"up", "out"}}));
}

TEST(ArchitecturePatterns, SwinStagesAndShiftedBlocksAreDistinguishable) {
  MQB_REQUIRE_PATTERNS();
  const std::vector<std::string> perBlock{"attn.qkv",  "attn.matmul", "attn.matmul_1",
                                          "attn.proj", "mlp.linear1", "mlp.linear2"};
  auto stage = [&](const std::string& s) {
    return concat({block("swinViT." + s + ".0.blocks.0.", perBlock),
                   block("swinViT." + s + ".0.blocks.1.", perBlock),
                   {"swinViT." + s + ".0.downsample.reduction"}});
  };
  EXPECT_EQ(checkPattern("swin-like"),
            concat({{"swinViT.patch_embed"}, stage("layers1"), stage("layers2"), {"up", "out"}}));
}

TEST(ArchitecturePatterns, MedFormerEinsumAttentionOverSemanticMaps) {
  MQB_REQUIRE_PATTERNS();
  // The last layer's map update feeds nothing: the frozen graph drops it.
  EXPECT_EQ(checkPattern("medformer-like"),
            (std::vector<std::string>{"inc", "map_gen.base_proj", "map_gen.semantic_proj", "map_gen",
                                      "layers.0.feat_qv", "layers.0.map_qv", "layers.0.einsum", "layers.0.einsum_1",
                                      "layers.0.einsum_2", "layers.0.out_proj", "layers.0.map_out",
                                      "layers.1.feat_qv", "layers.1.map_qv", "layers.1.einsum", "layers.1.einsum_1",
                                      "layers.1.out_proj", "heads.up", "heads.seg"}));
}

TEST(ArchitecturePatterns, NnUNetNestedContainersAndSharedEncoder) {
  MQB_REQUIRE_PATTERNS();
  EXPECT_EQ(checkPattern("plainconvunet-like"),
            (std::vector<std::string>{
                "encoder.stages.0.0.convs.0.conv", "encoder.stages.0.0.convs.1.conv",
                "encoder.stages.1.0.convs.0.conv", "encoder.stages.1.0.convs.1.conv",
                "encoder.stages.2.0.convs.0.conv", "encoder.stages.2.0.convs.1.conv", "decoder.transpconvs.0",
                "decoder.stages.0.convs.0.conv", "decoder.stages.0.convs.1.conv", "decoder.transpconvs.1",
                "decoder.stages.1.convs.0.conv", "decoder.stages.1.convs.1.conv", "decoder.seg_layers.1"}));
}
