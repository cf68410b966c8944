// Peak resident memory (VmHWM of /proc/self/status, and getrusage ru_maxrss) of ONE stage
// of the inference pipeline, in a fresh process: run it once per mode from the shell (the
// loop in docs/performance.md, "Benchmark programs"), and subtract the baseline.
//
//   mqb_bench_peak_rss baseline   libraries + CT read + TorchScript loaded and frozen, no forward
//   mqb_bench_peak_rss forward    the same + SegmentationModel::load (one validation forward on
//                                 a patch) + one more forward on a CT patch: one window's activations
//   mqb_bench_peak_rss inference  the same as forward + segmentVolume (window batch 1) on the CT
//   mqb_bench_peak_rss quant-inference  ... + W8A8 per-voxel quantized segmentVolume (no calibration)
//   mqb_bench_peak_rss calibration [--patches 16]  ... + calibration of every op's input on
//                                 that many CT patches (windows in parallel: each worker holds
//                                 a recording of one patch's hook inputs until it is replayed)
//
// Options: --model M.pt (default $MQB_BENCH_MODEL or <build>/bench-unet-96.pt),
// --volume CT (default $MQB_DATA_DIR/abdomen-ct/example_ct.nii.gz). Prints one JSON object.
#include <ATen/Parallel.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "BenchCommon.h"
#include "support/Error.h"
#include "model/SegmentationModel.h"
#include "inference/SlidingWindowInference.h"
#include "runtime/BlasThreads.h"
#include "runtime/CachingCpuAllocator.h"
#include "io/VolumeIO.h"
#include "inference/VolumePreparation.h"
#include "quant/CalibrationData.h"
#include "quant/QuantizableGraph.h"
#include "quant/QuantizedModel.h"

using namespace mqb;
using namespace mqb::bench;

int main(int argc, char** argv) {
  installCachingCpuAllocator();           // as the applications do (MQB_CPU_CACHE=0 to compare without)
  setBlasThreads(at::get_num_threads());  // OpenBLAS follows the ATen threads, as in the applications
  try {
    if (argc < 2)
      throw Error(
          "usage: mqb_bench_peak_rss baseline|forward|inference|quant-inference|calibration [--model M] [--volume CT] [--patches N]");
    const std::string mode = argv[1];
    std::string modelPath = benchModelPath(), volumePath = exampleCtPath();
    int patches = 16;
    for (int i = 2; i + 1 < argc; i += 2) {
      const std::string k = argv[i];
      if (k == "--model")
        modelPath = argv[i + 1];
      else if (k == "--volume")
        volumePath = argv[i + 1];
      else if (k == "--patches")
        patches = std::stoi(argv[i + 1]);
      else
        throw Error("unknown option " + k);
    }
    if (volumePath.empty() || !fs::exists(volumePath)) {
      std::printf("SKIPPED: example CT not found (set MQB_DATA_DIR to the folder holding abdomen-ct/)\n");
      return 0;
    }
    if (modelPath.empty() || !fs::exists(modelPath)) {
      std::printf("SKIPPED: benchmark model '%s' not found; %s\n", modelPath.c_str(), modelHint().c_str());
      return 0;
    }
    nlohmann::json j{{"mode", mode}, {"threads", at::get_num_threads()}};
    torch::NoGradGuard noGrad;
    (void)torch::ones({4}).sum().item<float>();  // initialise ATen / OpenMP
    ImageVolume volume = readImage(volumePath);
    j["ct_voxels"] = volume.voxels.size();
    j["ct_bytes"] = volume.voxels.size() * sizeof(float);

    if (mode == "baseline") {
      torch::jit::Module m = torch::jit::load(modelPath);
      m.eval();
      torch::jit::Module frozen = torch::jit::freeze(m);
      j["rss_bytes"] = currentRssBytes();
    } else {
      SegmentationModel model = SegmentationModel::load(modelPath);
      const ModelMetadata& md = model.metadata();
      PreparedVolume pv = prepareVolume(volume, md, FeedbackStage(nullptr, 0, 1, ""));
      const int64_t C = static_cast<int64_t>(md.classes.size());
      const int64_t D = pv.input.size(2), H = pv.input.size(3), W = pv.input.size(4);
      j["prepared_input_shape"] = pv.input.sizes().vec();
      j["prepared_input_bytes"] = pv.input.numel() * 4;
      j["logits_bytes"] = C * D * H * W * 4;
      j["window_output_bytes"] = C * md.patchSize[0] * md.patchSize[1] * md.patchSize[2] * 4;
      const auto& p = md.patchSize;
      torch::Tensor patch = pv.input.slice(2, 0, p[0]).slice(3, 0, p[1]).slice(4, 0, p[2]).contiguous();
      pv = PreparedVolume();  // segmentVolume prepares its own
      if (mode == "forward") {
        model.predict(patch);
        j["rss_bytes"] = currentRssBytes();
      } else if (mode == "inference") {
        InferenceOptions o;
        o.windowBatch = 1;
        InferenceResult r = segmentVolume(model, volume, o);
        j["windows"] = r.windows;
        j["seconds"] = r.seconds;
        j["rss_bytes"] = currentRssBytes();
      } else if (mode == "quant-inference") {
        auto graph = std::make_shared<const quant::QuantizableGraph>(model.module(), modelPath);
        quant::QuantConfig c;
        c.precision = quant::Precision::integer(8, 8);
        c.granularity = quant::Granularity::PerVoxel;
        quant::QuantizedModel q(graph, md, c, nullptr);
        InferenceOptions o;
        o.windowBatch = 1;
        InferenceResult r = segmentVolume(q, volume, o);
        j["windows"] = r.windows;
        j["seconds"] = r.seconds;
        j["rss_bytes"] = currentRssBytes();
      } else if (mode == "calibration") {
        auto graph = std::make_shared<const quant::QuantizableGraph>(model.module(), modelPath);
        const PreparedVolume prepared = prepareVolume(volume, md, FeedbackStage(nullptr, 0, 1, ""));
        const auto samples = quant::sampleCalibrationPatches(prepared, torch::Tensor(), md.patchSize, patches, 7);
        const Clock::time_point start = Clock::now();
        const quant::CalibrationData cal = quant::calibrate(*graph, samples, 7, FeedbackStage(nullptr, 0, 1, ""));
        j["seconds"] = secondsSince(start);
        j["patches"] = samples.size();
        j["rss_bytes"] = currentRssBytes();
      } else {
        throw Error("unknown mode '" + mode + "'");
      }
    }
    j["vm_hwm_bytes"] = peakRssBytes();
    j["ru_maxrss_bytes"] = ruMaxRssBytes();
    std::printf("%s\n", j.dump().c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
