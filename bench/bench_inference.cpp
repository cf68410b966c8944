// The parts of sliding-window inference that are not the model's forward, on the example
// CT (abdomen-ct/example_ct.nii.gz, read from $MQB_DATA_DIR or ../shared/data) with the
// anchor model's metadata (bench/make_unet.py: 14 classes, 96^3 patch, 3 mm, clip-scale):
// volume preparation, window extraction, Gaussian blend, finiteness check, argmax and the
// nearest-neighbour resampling back, and the whole pipeline around a model that answers
// instantly. No model file is needed. mqb_bench_perf sliding relates these to the forward.
//
//   build-bench/bin/bench_inference --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true \
//       --benchmark_report_aggregates_only=true
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <cstdio>
#include <memory>
#include <optional>

#include "BenchCommon.h"
#include "model/ModelMetadata.h"
#include "inference/SlidingWindowInference.h"
#include "io/VolumeIO.h"
#include "inference/VolumePreparation.h"

namespace {

using namespace mqb;

ModelMetadata anchorMetadata(int patch) {
  nlohmann::json classes = nlohmann::json::array();
  for (int i = 0; i < 14; ++i)
    classes.push_back({{"id", i},
                       {"name", i == 0 ? std::string("background") : "organ " + std::to_string(i)},
                       {"color", {i * 15, 255 - i * 15, (i * 70) % 256}}});
  nlohmann::json j = {{"format_version", 1},
                      {"name", "bench-unet"},
                      {"framework", "bench"},
                      {"architecture", "3D U-Net"},
                      {"category", "CNN"},
                      {"classes", classes},
                      {"input_channels", 1},
                      {"patch_size", {patch, patch, patch}},
                      {"target_spacing", {3, 3, 3}},
                      {"orientation", "LPS"},
                      {"preprocessing", {{"type", "clip_scale"}, {"clip", {-175, 250}}, {"range", {0, 1}}}},
                      {"output", {{"type", "logits"}, {"channels", 14}}}};
  return ModelMetadata::fromJson(j, "bench_inference");
}

struct Fixture {
  ModelMetadata md = anchorMetadata(96);
  ImageVolume volume;
  PreparedVolume pv;
  WindowPlan plan;
  torch::Tensor windowOut;   // [1, 14, 96, 96, 96] like a model output
  torch::Tensor importance;  // [96, 96, 96]
  torch::Tensor logits;      // [14, D, H, W]
  bool ok = false;

  static Fixture& get() {
    static Fixture f = [] {
      Fixture s;
      const std::string ct = bench::exampleCtPath();
      if (ct.empty()) return s;
      s.volume = readImage(ct);
      s.pv = prepareVolume(s.volume, s.md, FeedbackStage(nullptr, 0, 1, ""));
      const auto& in = s.pv.input;
      s.plan = planWindows({in.size(2), in.size(3), in.size(4)}, s.md.patchSize, 0.5);
      torch::manual_seed(0);
      s.windowOut = torch::randn({1, 14, 96, 96, 96});
      s.importance = gaussianImportanceMap(s.md.patchSize);
      s.logits = torch::randn({14, in.size(2), in.size(3), in.size(4)});
      s.ok = true;
      return s;
    }();
    return f;
  }
};

bool ready(benchmark::State& state) {
  if (Fixture::get().ok) return true;
  state.SkipWithError("example CT not found: set MQB_DATA_DIR to the folder holding abdomen-ct/");
  return false;
}

class InstantModel : public PatchPredictor {
 public:
  InstantModel(const ModelMetadata& md, torch::Tensor out) : md_(md), out_(std::move(out)) {}
  torch::Tensor predict(const torch::Tensor&) override { return out_; }
  const ModelMetadata& metadata() const override { return md_; }
  torch::Device device() const override { return torch::kCPU; }

 private:
  const ModelMetadata& md_;
  torch::Tensor out_;
};

void BM_PrepareVolume(benchmark::State& state) {
  if (!ready(state)) return;
  auto& f = Fixture::get();
  for (auto _ : state) benchmark::DoNotOptimize(prepareVolume(f.volume, f.md, FeedbackStage(nullptr, 0, 1, "")));
}

void BM_GaussianImportanceMap(benchmark::State& state) {
  if (!ready(state)) return;
  auto& f = Fixture::get();
  for (auto _ : state) benchmark::DoNotOptimize(gaussianImportanceMap(f.md.patchSize));
}

// Every window of the plan: slice + contiguous copy of the input patch.
void BM_WindowExtractAll(benchmark::State& state) {
  if (!ready(state)) return;
  auto& f = Fixture::get();
  const auto& p = f.md.patchSize;
  for (auto _ : state)
    for (const auto& s : f.plan.starts)
      benchmark::DoNotOptimize(
          f.pv.input.slice(2, s[0], s[0] + p[0]).slice(3, s[1], s[1] + p[1]).slice(4, s[2], s[2] + p[2]).contiguous());
  state.counters["windows"] = f.plan.starts.size();
}

// Every window of the plan: logits[window] += out * importance (addcmul_ as the engine does).
void BM_BlendAll(benchmark::State& state) {
  if (!ready(state)) return;
  auto& f = Fixture::get();
  const auto& p = f.md.patchSize;
  torch::NoGradGuard g;
  for (auto _ : state)
    for (const auto& s : f.plan.starts)
      f.logits.slice(1, s[0], s[0] + p[0])
          .slice(2, s[1], s[1] + p[1])
          .slice(3, s[2], s[2] + p[2])
          .addcmul_(f.windowOut[0], f.importance);
  state.counters["windows"] = f.plan.starts.size();
}

void BM_IsFiniteCheck(benchmark::State& state) {
  if (!ready(state)) return;
  auto& f = Fixture::get();
  for (auto _ : state) benchmark::DoNotOptimize(torch::isfinite(f.logits).all().item<bool>());
}

void BM_ArgmaxToUint8(benchmark::State& state) {
  if (!ready(state)) return;
  auto& f = Fixture::get();
  const auto& pv = f.pv;
  for (auto _ : state)
    benchmark::DoNotOptimize(f.logits.slice(1, pv.padBefore[0], pv.padBefore[0] + pv.resampledSize[0])
                                 .slice(2, pv.padBefore[1], pv.padBefore[1] + pv.resampledSize[1])
                                 .slice(3, pv.padBefore[2], pv.padBefore[2] + pv.resampledSize[2])
                                 .argmax(0)
                                 .to(torch::kUInt8)
                                 .contiguous());
}

void BM_ToOriginalGrid(benchmark::State& state) {
  if (!ready(state)) return;
  auto& f = Fixture::get();
  const auto& pv = f.pv;
  torch::Tensor labels =
      torch::randint(0, 14, {pv.resampledSize[0], pv.resampledSize[1], pv.resampledSize[2]}, torch::kUInt8);
  for (auto _ : state) benchmark::DoNotOptimize(pv.toOriginalGrid(labels));
}

void BM_LogitsZeros(benchmark::State& state) {
  if (!ready(state)) return;
  auto& f = Fixture::get();
  for (auto _ : state) benchmark::DoNotOptimize(torch::zeros_like(f.logits));
}

// The whole runSlidingWindow around a model that answers instantly: the pipeline's own cost.
void BM_SlidingWindowInstantModel(benchmark::State& state) {
  if (!ready(state)) return;
  auto& f = Fixture::get();
  InstantModel m(f.md, f.windowOut);
  InferenceOptions o;
  o.windowBatch = 1;
  for (auto _ : state) benchmark::DoNotOptimize(runSlidingWindow(m, f.pv, o, FeedbackStage(nullptr, 0, 1, "")));
  state.counters["windows"] = f.plan.starts.size();
}

BENCHMARK(BM_PrepareVolume)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK(BM_GaussianImportanceMap)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK(BM_WindowExtractAll)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK(BM_BlendAll)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK(BM_IsFiniteCheck)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK(BM_ArgmaxToUint8)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK(BM_ToOriginalGrid)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK(BM_LogitsZeros)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK(BM_SlidingWindowInstantModel)->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  std::printf("ATen threads: %d; example CT: %s\n", at::get_num_threads(),
              bench::exampleCtPath().empty() ? "NOT FOUND (benchmarks skip)" : bench::exampleCtPath().c_str());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
