// Throughput of the fake quantization kernels against a plain tensor copy, on the
// activation size that dominates a 3D segmentation network: a 64-channel 96^3 conv input.
// Every benchmark streams the same bytes (read input, write output), so bytes_per_second
// is directly comparable; the table printed at the end gives each one as a fraction of
// the copy of the same tensor. The torch rows are the reference a user could write
// without these kernels; they allocate their result, so compare them with
// BM_PerTensorAlloc rather than with the in-place-to-preallocated rows.
#include "quant/FakeQuant.h"
#include "quant/Histogram.h"
#include "quant/QuantGrid.h"

#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

namespace q = mqb::quant;

constexpr int64_t kChannels = 64;
constexpr int64_t kSide = 96;
constexpr int64_t kVoxels = kSide * kSide * kSide;

// Inputs are allocated once: 226 MB each, far beyond the caches, like a real activation.
struct Tensors {
  torch::Tensor volume;  // [1, 64, 96, 96, 96]
  torch::Tensor volumeOut;
  torch::Tensor tokens;  // [1, 96^3/8, 64]: the token layout of a transformer stage
  torch::Tensor tokensOut;
  torch::Tensor tokensFull;  // [1, 96^3, 64]: the volume itself in channels-last order
  torch::Tensor tokensFullOut;

  static Tensors& get() {
    static Tensors t = [] {
      torch::manual_seed(0);
      Tensors s;
      s.volume = torch::randn({1, kChannels, kSide, kSide, kSide});
      s.volumeOut = torch::empty_like(s.volume);
      s.tokens = torch::randn({1, kVoxels / 8, kChannels});
      s.tokensOut = torch::empty_like(s.tokens);
      s.tokensFull = torch::randn({1, kVoxels, kChannels});
      s.tokensFullOut = torch::empty_like(s.tokensFull);
      return s;
    }();
    return t;
  }
};

void setBytes(benchmark::State& state, const torch::Tensor& x) {
  // One read and one write of every element.
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * x.numel() * 2 *
                          static_cast<int64_t>(sizeof(float)));
}

void BM_Copy(benchmark::State& state) {
  auto& t = Tensors::get();
  for (auto _ : state) t.volumeOut.copy_(t.volume);
  setBytes(state, t.volume);
}

void BM_PerTensor(benchmark::State& state) {
  auto& t = Tensors::get();
  const auto grid = q::QuantGrid::fromAmax({4.0f}, 8);
  for (auto _ : state) q::fakeQuantInto(t.volume, grid, t.volumeOut);
  setBytes(state, t.volume);
}

// LeakyReLU folded into the per-tensor pass (what QuantizedModel runs where a LeakyReLU
// feeds a statically quantized input); compare with BM_PerTensor + BM_LeakyRelu.
void BM_PerTensorLeaky(benchmark::State& state) {
  auto& t = Tensors::get();
  const auto grid = q::QuantGrid::fromAmax({4.0f}, 8);
  for (auto _ : state) q::fakeQuantLeakyInto(t.volume, 0.01, grid, t.volumeOut);
  setBytes(state, t.volume);
}

void BM_LeakyRelu(benchmark::State& state) {
  auto& t = Tensors::get();
  for (auto _ : state) at::leaky_relu_out(t.volumeOut, t.volume, 0.01);
  setBytes(state, t.volume);
}

// Out of place, allocating its result like the torch reference rows do: the difference
// to BM_PerTensor is the cost of a fresh 226 MB allocation (page faults) per call.
void BM_PerTensorAlloc(benchmark::State& state) {
  auto& t = Tensors::get();
  const auto grid = q::QuantGrid::fromAmax({4.0f}, 8);
  for (auto _ : state) {
    auto y = q::fakeQuant(t.volume, grid);
    benchmark::DoNotOptimize(y.data_ptr<float>());
  }
  setBytes(state, t.volume);
}

void BM_PerTensorAsym(benchmark::State& state) {
  auto& t = Tensors::get();
  const auto grid = q::QuantGrid::fromMinMax({-3.0f}, {5.0f}, 8);
  for (auto _ : state) q::fakeQuantInto(t.volume, grid, t.volumeOut);
  setBytes(state, t.volume);
}

void BM_PerChannel(benchmark::State& state) {
  auto& t = Tensors::get();
  std::vector<float> amax(kChannels);
  for (int64_t c = 0; c < kChannels; ++c) amax[c] = 3.0f + 0.01f * static_cast<float>(c);
  const auto grid = q::QuantGrid::fromAmax(amax, 8, 1);
  for (auto _ : state) q::fakeQuantInto(t.volume, grid, t.volumeOut);
  setBytes(state, t.volume);
}

void BM_PerVoxel(benchmark::State& state) {
  auto& t = Tensors::get();
  for (auto _ : state) q::fakeQuantDynamicInto(t.volume, 1, 8, true, t.volumeOut);
  setBytes(state, t.volume);
}

void BM_PerVoxelAsym(benchmark::State& state) {
  auto& t = Tensors::get();
  for (auto _ : state) q::fakeQuantDynamicInto(t.volume, 1, 8, false, t.volumeOut);
  setBytes(state, t.volume);
}

void BM_CopyTokens(benchmark::State& state) {
  auto& t = Tensors::get();
  for (auto _ : state) t.tokensOut.copy_(t.tokens);
  setBytes(state, t.tokens);
}

void BM_PerToken(benchmark::State& state) {
  auto& t = Tensors::get();
  for (auto _ : state) q::fakeQuantDynamicInto(t.tokens, -1, 8, true, t.tokensOut);
  setBytes(state, t.tokens);
}

void BM_CopyTokensFull(benchmark::State& state) {
  auto& t = Tensors::get();
  for (auto _ : state) t.tokensFullOut.copy_(t.tokensFull);
  setBytes(state, t.tokensFull);
}

void BM_PerTokenFull(benchmark::State& state) {
  auto& t = Tensors::get();
  for (auto _ : state) q::fakeQuantDynamicInto(t.tokensFull, -1, 8, true, t.tokensFullOut);
  setBytes(state, t.tokensFull);
}

void BM_TorchFakeQuantPerTensor(benchmark::State& state) {
  auto& t = Tensors::get();
  for (auto _ : state) {
    auto y = torch::fake_quantize_per_tensor_affine(t.volume, 4.0 / 127.0, 0, -127, 127);
    benchmark::DoNotOptimize(y.data_ptr<float>());
  }
  setBytes(state, t.volume);
}

void BM_TorchOpsPerVoxel(benchmark::State& state) {
  auto& t = Tensors::get();
  for (auto _ : state) {
    auto s = t.volume.abs().amax(1, true).clamp_min(1e-12) / 127.0;
    auto y = (t.volume / s).round().clamp(-127, 127) * s;
    benchmark::DoNotOptimize(y.data_ptr<float>());
  }
  setBytes(state, t.volume);
}

// The activation histogram of the calibrators and the layer analysis (one add() of the
// whole tensor: min/max pass + binning), on LeakyReLU-like data with mixed signs.
void BM_Histogram(benchmark::State& state) {
  auto& t = Tensors::get();
  static torch::Tensor mixed = torch::leaky_relu(t.volume - 0.5, 0.01);
  for (auto _ : state) {
    q::Histogram h;
    h.add(mixed);
    benchmark::DoNotOptimize(h.count());
  }
  state.SetBytesProcessed(state.iterations() * mixed.numel() * int64_t{4});
}

BENCHMARK(BM_Histogram)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Copy)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_PerTensor)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_PerTensorLeaky)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_LeakyRelu)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_PerTensorAlloc)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_PerTensorAsym)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_PerChannel)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_PerVoxel)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_PerVoxelAsym)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_TorchFakeQuantPerTensor)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_TorchOpsPerVoxel)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_CopyTokens)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_PerToken)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_CopyTokensFull)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_PerTokenFull)->Unit(benchmark::kMillisecond)->UseRealTime();

// Summary rows in a fixed order (runs may be interleaved), each with the copy of the same
// tensor it is compared against.
const std::vector<std::pair<std::string, std::string>> kSummary = {
    {"BM_Copy", "BM_Copy"},
    {"BM_PerTensor", "BM_Copy"},
    {"BM_PerTensorAsym", "BM_Copy"},
    {"BM_PerChannel", "BM_Copy"},
    {"BM_PerVoxel", "BM_Copy"},
    {"BM_PerVoxelAsym", "BM_Copy"},
    {"BM_PerTensorAlloc", "BM_Copy"},
    {"BM_TorchFakeQuantPerTensor", "BM_Copy"},
    {"BM_TorchOpsPerVoxel", "BM_Copy"},
    {"BM_CopyTokens", "BM_CopyTokens"},
    {"BM_PerToken", "BM_CopyTokens"},
    {"BM_CopyTokensFull", "BM_CopyTokensFull"},
    {"BM_PerTokenFull", "BM_CopyTokensFull"},
};

// The console output plus, at the end, each benchmark's throughput over its copy's.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& run : runs) {
      // With --benchmark_repetitions the mean aggregate (reported last) is what counts.
      const bool mean = run.run_type == Run::RT_Aggregate && run.aggregate_name == "mean";
      if (run.error_occurred || (run.run_type != Run::RT_Iteration && !mean)) continue;
      const auto it = run.counters.find("bytes_per_second");
      if (it != run.counters.end()) rates_[run.run_name.function_name] = it->second.value;
    }
  }

  void Finalize() override {
    ConsoleReporter::Finalize();
    std::printf("\n%-28s %10s %10s\n", "benchmark", "GB/s", "vs copy");
    for (const auto& [name, copy] : kSummary) {
      if (!rates_.count(name)) continue;
      const double rate = rates_[name];
      if (rates_.count(copy))
        std::printf("%-28s %10.2f %9.2fx\n", name.c_str(), rate / 1e9, rate / rates_[copy]);
      else
        std::printf("%-28s %10.2f %10s\n", name.c_str(), rate / 1e9, "-");
    }
  }

 private:
  std::map<std::string, double> rates_;
};

}  // namespace

int main(int argc, char** argv) {
  // LibTorch defaults to one OpenMP thread on this machine; use every core, as the
  // application does for inference.
  at::set_num_threads(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  std::printf("at::get_num_threads() = %d\n", at::get_num_threads());
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
