// What the in-forward cancellation points (core/CancelPoint) cost: one window of the zoo CNN
// on one thread, the same frozen oneDNN graph with and without the points, both run while a
// live Feedback is watched, as in a real run. Budget: < 1 % of a window.
//
//   build/bin/bench_cancel_points --benchmark_repetitions=5
#include <benchmark/benchmark.h>
#include <torch/csrc/jit/passes/freeze_module.h>
#include <torch/torch.h>

#include <filesystem>
#include <string>

#include "runtime/CancelPoint.h"
#include "runtime/FastConvolutions.h"
#include "model/SegmentationModel.h"

namespace {

const std::string kModel = std::string(MQB_SOURCE_DIR) + "/models/zoo/MQB-nnUNet-S.pt";

void windowForward(benchmark::State& state, bool points) {
  if (!std::filesystem::exists(kModel)) {
    state.SkipWithError(("zoo model not found: " + kModel).c_str());
    return;
  }
  at::set_num_threads(1);
  mqb::SegmentationModel model = mqb::SegmentationModel::load(kModel);
  torch::jit::Module frozen = torch::jit::freeze(model.module());
  auto graph = frozen.get_method("forward").graph();
  mqb::useFastConvolutions(graph);
  if (points) state.counters["points"] = mqb::insertCancelPoints(*graph);
  const auto& ps = model.metadata().patchSize;
  torch::manual_seed(1);
  const torch::Tensor x = torch::rand({1, model.metadata().inputChannels, ps[0], ps[1], ps[2]});
  torch::NoGradGuard noGrad;
  mqb::Feedback feedback;
  mqb::CancelScope watch(&feedback);
  frozen.forward({x});  // oneDNN primitive caches
  for (auto _ : state) benchmark::DoNotOptimize(frozen.forward({x}));
}

void BM_WindowWithCancelPoints(benchmark::State& state) { windowForward(state, true); }
void BM_WindowWithoutCancelPoints(benchmark::State& state) { windowForward(state, false); }

}  // namespace

BENCHMARK(BM_WindowWithCancelPoints)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_WindowWithoutCancelPoints)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK_MAIN();
