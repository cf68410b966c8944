// Cost of scoring a segmentation (SPEC section 6) on the grids the application meets:
// a thin-slice clinical CT (512x512x20) and the bundled example (122x101x112), each with
// the 13 BTCV organs. The prediction is the phantom of another seed, so organs overlap
// partially, as a real prediction's do, and every surface needs its distance transform.
#include <benchmark/benchmark.h>

#include <array>
#include <map>

#include "demo/Phantom.h"
#include "metrics/SegmentationMetrics.h"

namespace {

struct Pair {
  mqb::LabelVolume pred, ref;
};

const Pair& labelPair(const std::array<int64_t, 3>& size, const std::array<double, 3>& spacing) {
  static std::map<std::array<int64_t, 3>, Pair> cache;
  auto it = cache.find(size);
  if (it == cache.end()) {
    mqb::PhantomOptions o;
    o.size = size;
    o.spacing = spacing;
    o.noiseSigmaHu = 0;
    Pair p;
    p.ref = mqb::generateAbdominalPhantom(o).labels;
    o.seed = 2;
    p.pred = mqb::generateAbdominalPhantom(o).labels;
    it = cache.emplace(size, std::move(p)).first;
  }
  return it->second;
}

void scoreBench(benchmark::State& state, std::array<int64_t, 3> size, std::array<double, 3> spacing) {
  const Pair& p = labelPair(size, spacing);
  const mqb::ClassList classes = mqb::phantomClasses();
  mqb::SegmentationScores scores;
  for (auto _ : state) {
    scores = mqb::scoreSegmentation(p.pred, p.ref, classes, mqb::kDefaultNsdToleranceMm);
    benchmark::DoNotOptimize(scores.meanNsd);
  }
  state.counters["meanDSC"] = scores.meanDsc;
  state.counters["meanNSD"] = scores.meanNsd;
  state.counters["organs"] = double(scores.organs.size());
  state.SetItemsProcessed(state.iterations() * size[0] * size[1] * size[2]);
}

void BM_ScoreSegmentation_512x512x20(benchmark::State& state) {
  scoreBench(state, {512, 512, 20}, {0.75, 0.75, 5.0});
}
BENCHMARK(BM_ScoreSegmentation_512x512x20)->Unit(benchmark::kMillisecond);

void BM_ScoreSegmentation_122x101x112(benchmark::State& state) {
  scoreBench(state, {122, 101, 112}, {3.0, 3.0, 3.0});
}
BENCHMARK(BM_ScoreSegmentation_122x101x112)->Unit(benchmark::kMillisecond);

// The phantom feeds tests and demos; its default grid must stay quick to make.
void BM_GenerateAbdominalPhantom(benchmark::State& state) {
  for (auto _ : state) {
    mqb::Phantom p = mqb::generateAbdominalPhantom();
    benchmark::DoNotOptimize(p.ct.voxels.data());
  }
}
BENCHMARK(BM_GenerateAbdominalPhantom)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
