// Timing of the issue targets on the anchor model (bench/make_unet.py) and the example CT,
// each as a ratio measured inside one process, with interleaved repetitions and medians
// (the benchmark machine is shared, so absolute times drift; paired ratios drift much less).
//
//   mqb_bench_perf sliding  [--runs 5] [--dump-input DIR] [--json out.json]
//       sliding-window inference: (whole call - forward) / forward, prepareVolume alone,
//       and the same pipeline around an instant model (pure pipeline overhead).
//   mqb_bench_perf quant    [--rounds 7] [--bits W8A8] [--calibration-patches 4] [--json out.json]
//       quantized forward of one patch vs the FP32 forward, per granularity (paired:
//       each quantized run is divided by the mean of the FP32 runs just before and after),
//       plus the fake-quant kernel time per granularity on the captured FP32 activations.
//   mqb_bench_perf operators [--windows 8] [--bits W8A8] [--granularity per-tensor] [--json out.json]
//       where one window's forward spends its time: CPU time per TorchScript operator (the
//       graph's top-level nodes, inclusive of what they call) over --windows forwards of
//       the FP32 model and of the quantized model, from LibTorch's profiler.
//   mqb_bench_perf analysis [--rounds 3] [--granularity per-channel] [--json out.json]
//       quant::analyzeLayers on one patch vs one FP32 forward (paired), then again with the
//       FP32 side kept from a first analysis (quant::Fp32Capture), and the first analysis
//       after a calibration that recorded that FP32 side (quant::calibrateWithCapture).
//
// Every time is measured both as wall time and as process CPU time; on a shared machine
// the CPU-time ratios are the steadier ones.
//
// Common options: --model M.pt (default $MQB_BENCH_MODEL or <build>/bench-unet-96.pt),
// --volume CT (default $MQB_DATA_DIR/abdomen-ct/example_ct.nii.gz), --warmup 3.
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "BenchCommon.h"
#include "support/Error.h"
#include "model/SegmentationModel.h"
#include "inference/SlidingWindowInference.h"
#include "runtime/BlasThreads.h"
#include "runtime/CachingCpuAllocator.h"
#include "io/VolumeIO.h"
#include "inference/VolumePreparation.h"
#include "quant/CalibrationData.h"
#include "quant/FakeQuant.h"
#include "quant/Histogram.h"
#include "quant/LayerAnalysis.h"
#include "quant/QuantizableGraph.h"
#include "quant/QuantizedModel.h"

using namespace mqb;
using namespace mqb::bench;
using nlohmann::json;

namespace {

struct Args {
  std::string mode;
  std::map<std::string, std::string> kv;
  std::string get(const std::string& k, const std::string& d) const {
    auto it = kv.find(k);
    return it == kv.end() ? d : it->second;
  }
  int getInt(const std::string& k, int d) const { return std::stoi(get(k, std::to_string(d))); }
};

Args parse(int argc, char** argv) {
  Args a;
  if (argc < 2) throw Error("usage: mqb_bench_perf sliding|quant|analysis|operators [--key value ...]");
  a.mode = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string k = argv[i];
    if (k.rfind("--", 0) != 0 || i + 1 >= argc) throw Error("bad argument '" + k + "'");
    a.kv[k.substr(2)] = argv[++i];
  }
  return a;
}

const Clock::time_point g_start = Clock::now();
void log(const std::string& s) {
  std::fprintf(stderr, "[%7.1f s, load %.1f] %s\n", secondsSince(g_start), loadAverage1(), s.c_str());
}

json stats(const std::vector<double>& v) {
  return {{"median", median(v)}, {"min", minOf(v)}, {"max", maxOf(v)}, {"n", v.size()}, {"all", v}};
}

// A "model" that returns a precomputed window output at once: running the sliding-window
// pipeline around it measures the pipeline alone (window extraction, Gaussian blend,
// finiteness check, argmax, resampling back) with no forward time to subtract.
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

// Wraps a model and adds up the wall and CPU time of its forwards.
class TimedPredictor : public PatchPredictor {
 public:
  explicit TimedPredictor(PatchPredictor& inner) : inner_(inner) {}
  torch::Tensor predict(const torch::Tensor& batch) override {
    torch::Tensor out;
    const Timing t = timeBoth([&] { out = inner_.predict(batch); });
    wall += t.wall;
    cpu += t.cpu;
    return out;
  }
  const ModelMetadata& metadata() const override { return inner_.metadata(); }
  torch::Device device() const override { return inner_.device(); }
  double wall = 0, cpu = 0;

 private:
  PatchPredictor& inner_;
};

struct Setup {
  std::shared_ptr<SegmentationModel> model;
  ImageVolume volume;
  PreparedVolume prepared;
  std::string modelPath, volumePath;
};

// Returns false (after a message) when the model or the CT is missing.
bool setup(const Args& a, Setup& s) {
  s.modelPath = a.get("model", benchModelPath());
  s.volumePath = a.get("volume", exampleCtPath());
  if (s.volumePath.empty() || !fs::exists(s.volumePath)) {
    std::printf("SKIPPED: example CT not found (set MQB_DATA_DIR to the folder holding abdomen-ct/)\n");
    return false;
  }
  if (s.modelPath.empty() || !fs::exists(s.modelPath)) {
    std::printf("SKIPPED: benchmark model '%s' not found; %s\n", s.modelPath.c_str(), modelHint().c_str());
    return false;
  }
  s.model = std::make_shared<SegmentationModel>(SegmentationModel::load(s.modelPath));
  s.volume = readImage(s.volumePath);
  s.prepared = prepareVolume(s.volume, s.model->metadata(), FeedbackStage(nullptr, 0, 1, ""));
  return true;
}

json header(const Setup& s) {
  const auto& in = s.prepared.input;
  return {{"model", s.modelPath},
          {"parameters", s.model->parameterCount()},
          {"volume", s.volumePath},
          {"prepared_input", in.sizes().vec()},
          {"patch", s.model->metadata().patchSize},
          {"threads", at::get_num_threads()},
          {"load_average_start", loadAverage1()}};
}

torch::Tensor firstWindow(const PreparedVolume& pv, const std::array<int64_t, 3>& p) {
  return pv.input.slice(2, 0, p[0]).slice(3, 0, p[1]).slice(4, 0, p[2]).contiguous();
}

void writeJson(const Args& a, const json& j) {
  const std::string path = a.get("json", "");
  std::cout << j.dump(2) << "\n";
  if (!path.empty()) std::ofstream(path) << j.dump(2) << "\n";
}

// ---------------------------------------------------------------- sliding window
int runSliding(const Args& a) {
  Setup s;
  if (!setup(a, s)) return 0;
  const int runs = a.getInt("runs", 5), warmup = a.getInt("warmup", 3);
  const auto& md = s.model->metadata();
  json j = header(s);
  InferenceOptions opt;
  opt.windowBatch = 1;
  j["windows"] = planWindows({s.prepared.input.size(2), s.prepared.input.size(3), s.prepared.input.size(4)},
                             md.patchSize, opt.overlap)
                     .starts.size();

  torch::Tensor patch = firstWindow(s.prepared, md.patchSize);
  for (int i = 0; i < warmup; ++i) s.model->predict(patch);
  torch::Tensor windowOut = s.model->predict(patch).contiguous();
  InstantModel instant(md, windowOut);
  runSlidingWindow(instant, s.prepared, opt, FeedbackStage(nullptr, 0, 1, ""));  // warm allocator

  std::vector<double> prep, total, forward, overhead, fraction, pipeline, patchForward;
  std::vector<double> totalCpu, forwardCpu, fractionCpu, pipelineCpu, prepCpu;
  TimedPredictor timed(*s.model);
  for (int r = 0; r < runs; ++r) {
    const Timing tp = timeBoth([&] { prepareVolume(s.volume, md, FeedbackStage(nullptr, 0, 1, "")); });
    prep.push_back(tp.wall);
    prepCpu.push_back(tp.cpu);
    const Timing ti = timeBoth([&] { runSlidingWindow(instant, s.prepared, opt, FeedbackStage(nullptr, 0, 1, "")); });
    pipeline.push_back(ti.wall);
    pipelineCpu.push_back(ti.cpu);
    timed.wall = timed.cpu = 0;
    InferenceResult res;
    const Timing tr =
        timeBoth([&] { res = runSlidingWindow(timed, s.prepared, opt, FeedbackStage(nullptr, 0, 1, "")); });
    total.push_back(res.seconds);
    forward.push_back(res.forwardSeconds);
    overhead.push_back(res.seconds - res.forwardSeconds);
    fraction.push_back((res.seconds - res.forwardSeconds) / res.forwardSeconds);
    patchForward.push_back(res.forwardSeconds / res.windows);
    totalCpu.push_back(tr.cpu);
    forwardCpu.push_back(timed.cpu);
    fractionCpu.push_back((tr.cpu - timed.cpu) / timed.cpu);
    log("run " + std::to_string(r + 1) + ": total " + std::to_string(res.seconds) + " s, forward " +
        std::to_string(res.forwardSeconds) + " s, overhead " + std::to_string(100 * fraction.back()) +
        " % (CPU time: " + std::to_string(100 * fractionCpu.back()) + " %), instant-model pipeline " +
        std::to_string(pipeline.back()) + " s, prepare " + std::to_string(prep.back()) + " s");
  }
  j["prepare_seconds"] = stats(prep);
  j["prepare_cpu_seconds"] = stats(prepCpu);
  j["run_seconds"] = stats(total);
  j["run_cpu_seconds"] = stats(totalCpu);
  j["forward_seconds"] = stats(forward);
  j["forward_cpu_seconds"] = stats(forwardCpu);
  j["forward_seconds_per_window"] = stats(patchForward);
  j["overhead_seconds"] = stats(overhead);
  j["overhead_fraction_of_forward"] = stats(fraction);
  j["overhead_cpu_fraction_of_forward"] = stats(fractionCpu);
  j["instant_model_pipeline_seconds"] = stats(pipeline);
  j["instant_model_pipeline_cpu_seconds"] = stats(pipelineCpu);
  j["instant_pipeline_fraction_of_forward"] = median(pipeline) / median(forward);
  j["instant_pipeline_cpu_fraction_of_forward"] = median(pipelineCpu) / median(forwardCpu);
  j["overhead_with_prepare_fraction"] = (median(overhead) + median(prep)) / median(forward);
  j["load_average_end"] = loadAverage1();

  // The prepared input for bench/python_sliding_window.py: raw float32 + JSON description.
  const std::string dump = a.get("dump-input", "");
  if (!dump.empty()) {
    fs::create_directories(dump);
    torch::Tensor in = s.prepared.input.contiguous();
    std::ofstream((fs::path(dump) / "prepared_input.f32").string(), std::ios::binary)
        .write(reinterpret_cast<const char*>(in.data_ptr<float>()), static_cast<std::streamsize>(in.numel() * 4));
    json d = {{"shape", in.sizes().vec()},
              {"pad_before", s.prepared.padBefore},
              {"resampled_size", s.prepared.resampledSize},
              {"patch", md.patchSize},
              {"overlap", opt.overlap},
              {"classes", md.classes.size()},
              {"threads", at::get_num_threads()}};
    std::ofstream((fs::path(dump) / "prepared_input.json").string()) << d.dump(2) << "\n";
    // Labels in model space, to check that Python computes the same segmentation.
    InferenceResult res = runSlidingWindow(*s.model, s.prepared, opt, FeedbackStage(nullptr, 0, 1, ""));
    torch::Tensor lab = res.modelSpaceLabels.contiguous();
    std::ofstream((fs::path(dump) / "cpp_labels.u8").string(), std::ios::binary)
        .write(reinterpret_cast<const char*>(lab.data_ptr<uint8_t>()), static_cast<std::streamsize>(lab.numel()));
  }
  writeJson(a, j);
  return 0;
}

// ---------------------------------------------------------------- quantized forward
class CaptureInputs : public quant::HookObserver {
 public:
  explicit CaptureInputs(size_t n) : inputs(n) {}
  void onInput(int op, int slot, const torch::Tensor& x) override { inputs[op][slot] = x.clone(); }
  std::vector<std::array<torch::Tensor, 2>> inputs;
};

// Alternating measurement of a reference and a candidate: each candidate run is divided by
// the mean of the reference runs just before and after it, in wall and in CPU time.
struct Paired {
  std::vector<double> wall, cpu, wallRatio, cpuRatio;
  void add(const Timing& t, const Timing& before, const Timing& after) {
    wall.push_back(t.wall);
    cpu.push_back(t.cpu);
    wallRatio.push_back(t.wall / (0.5 * (before.wall + after.wall)));
    cpuRatio.push_back(t.cpu / (0.5 * (before.cpu + after.cpu)));
  }
  json toJson() const {
    return {{"forward_seconds", stats(wall)},
            {"forward_cpu_seconds", stats(cpu)},
            {"ratio_to_fp32", stats(wallRatio)},
            {"cpu_ratio_to_fp32", stats(cpuRatio)}};
  }
};

struct Reference {
  std::vector<double> wall, cpu;
  Timing add(const Timing& t) {
    wall.push_back(t.wall);
    cpu.push_back(t.cpu);
    return t;
  }
};

int runQuant(const Args& a) {
  Setup s;
  if (!setup(a, s)) return 0;
  const int rounds = a.getInt("rounds", 7), warmup = a.getInt("warmup", 3);
  const int calPatches = a.getInt("calibration-patches", 4);
  const auto& md = s.model->metadata();
  json j = header(s);

  auto graph = std::make_shared<const quant::QuantizableGraph>(s.model->module(), s.modelPath);
  j["quantized_ops"] = graph->ops().size();
  // Calibration patches from the CT (random positions, fixed seed) and one more to time on.
  auto patches = quant::sampleCalibrationPatches(s.prepared, torch::Tensor(), md.patchSize, calPatches + 1, 7);
  torch::Tensor x = patches.back();
  patches.pop_back();
  quant::CalibrationData cal;
  j["calibration_seconds"] =
      timeIt([&] { cal = quant::calibrate(*graph, patches, 7, FeedbackStage(nullptr, 0, 1, "")); });
  j["calibration_patches"] = calPatches;

  const quant::Precision bits = quant::Precision::parse(a.get("bits", "W8A8"));
  struct Variant {
    std::string name;
    std::unique_ptr<quant::QuantizedModel> model;
    Paired timing;
  };
  std::vector<Variant> variants;
  {
    quant::QuantConfig c;
    c.precision = quant::Precision::fp32();
    variants.push_back({"fp32-graph-with-hooks", std::make_unique<quant::QuantizedModel>(graph, md, c, nullptr), {}});
  }
  for (auto g : {quant::Granularity::PerTensor, quant::Granularity::PerChannel, quant::Granularity::PerVoxel,
                 quant::Granularity::Adaptive}) {
    quant::QuantConfig c;
    c.precision = bits;
    c.granularity = g;
    variants.push_back({quant::granularityId(g), std::make_unique<quant::QuantizedModel>(graph, md, c, &cal), {}});
  }
  log("warm-up");
  for (int i = 0; i < warmup; ++i) {
    s.model->predict(x);
    for (auto& v : variants) v.model->predict(x);
  }
  Reference fp32;
  auto fp32Once = [&] { return fp32.add(timeBoth([&] { s.model->predict(x); })); };
  for (int r = 0; r < rounds; ++r) {
    // F V1 F V2 F ... F, the variant order rotated each round.
    Timing before = fp32Once();
    for (size_t k = 0; k < variants.size(); ++k) {
      Variant& v = variants[(k + r) % variants.size()];
      const Timing t = timeBoth([&] { v.model->predict(x); });
      const Timing after = fp32Once();
      v.timing.add(t, before, after);
      before = after;
    }
    std::string line = "round " + std::to_string(r + 1) + " (wall / CPU ratio):";
    for (auto& v : variants)
      line += " " + v.name + " " + std::to_string(v.timing.wallRatio.back()) + " / " +
              std::to_string(v.timing.cpuRatio.back());
    log(line);
  }
  j["bits"] = bits.id();
  j["rounds"] = rounds;
  j["fp32_forward_seconds"] = stats(fp32.wall);
  j["fp32_forward_cpu_seconds"] = stats(fp32.cpu);
  for (auto& v : variants) {
    j["variants"][v.name] = v.timing.toJson();
    j["variants"][v.name]["ratio_of_medians"] = median(v.timing.wall) / median(fp32.wall);
    j["variants"][v.name]["cpu_ratio_of_medians"] = median(v.timing.cpu) / median(fp32.cpu);
  }

  // Fake-quant kernel time per granularity on the FP32 activations of this patch: what the
  // quantized forward adds on top of the FP32 convolutions. As the engine runs them
  // (plan.apply: a new output tensor), in place (the *Into kernels writing over a copy of
  // the input), and a plain clone of every input for reference (one read + one write).
  CaptureInputs capture(graph->ops().size());
  variants[0].model->runtime().setObserver(&capture);
  variants[0].model->predict(x);
  variants[0].model->runtime().setObserver(nullptr);
  int64_t activationElements = 0;
  for (const auto& op : graph->ops())
    for (int sl = 0; sl < op.activationSlots; ++sl) activationElements += capture.inputs[op.index][sl].numel();
  j["quantized_input_elements"] = activationElements;
  {
    std::vector<double> wall, cpu;
    for (int rep = 0; rep < 3; ++rep) {
      Timing total;
      for (const auto& op : graph->ops())
        for (int sl = 0; sl < op.activationSlots; ++sl) {
          const Timing t = timeBoth([&] { capture.inputs[op.index][sl].clone(); });
          total.wall += t.wall;
          total.cpu += t.cpu;
        }
      wall.push_back(total.wall);
      cpu.push_back(total.cpu);
    }
    j["clone_all_inputs_seconds"] = stats(wall);
    j["clone_all_inputs_cpu_seconds"] = stats(cpu);
  }
  for (size_t k = 1; k < variants.size(); ++k) {
    auto& v = variants[k];
    std::vector<double> wall, cpu, wallIn, cpuIn;
    json perOp;
    for (int rep = 0; rep < 3; ++rep) {
      Timing total, totalIn;
      for (const auto& op : graph->ops())
        for (int sl = 0; sl < op.activationSlots; ++sl) {
          const auto& plan = v.model->plan(op.index, sl);
          const torch::Tensor& in = capture.inputs[op.index][sl];
          const Timing t = timeBoth([&] { plan.apply(in); });
          torch::Tensor work = in.clone();
          const Timing ti = timeBoth([&] {
            switch (plan.mode) {
              case quant::ActivationPlan::Mode::Static: quant::fakeQuantInto(work, plan.grid, work); break;
              case quant::ActivationPlan::Mode::Dynamic:
                quant::fakeQuantDynamicInto(work, plan.dynamicDim, plan.bits, plan.symmetric, work);
                break;
              case quant::ActivationPlan::Mode::PassThrough: break;
            }
          });
          total.wall += t.wall;
          total.cpu += t.cpu;
          totalIn.wall += ti.wall;
          totalIn.cpu += ti.cpu;
          if (rep == 2) perOp[op.name] = {t.wall, t.cpu};
        }
      wall.push_back(total.wall);
      cpu.push_back(total.cpu);
      wallIn.push_back(totalIn.wall);
      cpuIn.push_back(totalIn.cpu);
    }
    j["variants"][v.name]["fake_quant_kernels_seconds"] = stats(wall);
    j["variants"][v.name]["fake_quant_kernels_cpu_seconds"] = stats(cpu);
    j["variants"][v.name]["fake_quant_kernels_inplace_seconds"] = stats(wallIn);
    j["variants"][v.name]["fake_quant_kernels_inplace_cpu_seconds"] = stats(cpuIn);
    j["variants"][v.name]["fake_quant_kernels_per_op_wall_cpu_seconds"] = perOp;
  }
  j["load_average_end"] = loadAverage1();
  writeJson(a, j);
  return 0;
}

// ---------------------------------------------------------------- layer analysis
int runAnalysis(const Args& a) {
  Setup s;
  if (!setup(a, s)) return 0;
  const int rounds = a.getInt("rounds", 3), warmup = a.getInt("warmup", 3);
  const int calPatches = a.getInt("calibration-patches", 4);
  const auto& md = s.model->metadata();
  json j = header(s);
  auto graph = std::make_shared<const quant::QuantizableGraph>(s.model->module(), s.modelPath);
  auto patches = quant::sampleCalibrationPatches(s.prepared, torch::Tensor(), md.patchSize, calPatches + 1, 7);
  torch::Tensor x = patches.back();
  patches.pop_back();
  quant::CalibrationData cal = quant::calibrate(*graph, patches, 7, FeedbackStage(nullptr, 0, 1, ""));
  quant::QuantConfig c;
  c.precision = quant::Precision::parse(a.get("bits", "W8A8"));
  c.granularity = quant::parseGranularity(a.get("granularity", "per-channel"));
  for (int i = 0; i < warmup; ++i) s.model->predict(x);
  log("analysis warm-up");
  quant::analyzeLayers(*graph, md, c, cal, {x}, FeedbackStage(nullptr, 0, 1, ""));
  Reference fp32;
  Paired analysis;
  auto fp32Once = [&] { return fp32.add(timeBoth([&] { s.model->predict(x); })); };
  Timing before = fp32Once();
  for (int r = 0; r < rounds; ++r) {
    size_t ops = 0;
    const Timing t = timeBoth([&] {
      ops = quant::analyzeLayers(*graph, md, c, cal, {x}, FeedbackStage(nullptr, 0, 1, "")).ops.size();
    });
    const Timing after = fp32Once();
    analysis.add(t, before, after);
    before = after;
    log("round " + std::to_string(r + 1) + ": analysis " + std::to_string(t.wall) + " s (" + std::to_string(ops) +
        " ops), ratio " + std::to_string(analysis.wallRatio.back()) + " (CPU time " +
        std::to_string(analysis.cpuRatio.back()) + ")");
  }
  // A further configuration on the same patch, with the FP32 side kept from a first
  // analysis (what QuantizationStudy and the desktop application do).
  quant::Fp32Capture capture;
  quant::analyzeLayers(*graph, md, c, cal, {x}, FeedbackStage(nullptr, 0, 1, ""), &capture);
  j["capture_bytes"] = capture.bytes();
  Paired reused;
  for (int r = 0; r < rounds && capture.complete(); ++r) {
    const Timing t =
        timeBoth([&] { quant::analyzeLayers(*graph, md, c, cal, {x}, FeedbackStage(nullptr, 0, 1, ""), &capture); });
    const Timing after = fp32Once();
    reused.add(t, before, after);
    before = after;
    log("round " + std::to_string(r + 1) + ": analysis with the FP32 capture, CPU ratio " +
        std::to_string(reused.cpuRatio.back()));
  }
  // The first analysis after a calibration that recorded the analysis patch's FP32 side on
  // its way (QuantizationStudy::analyze, the desktop session): what recording adds to the
  // calibration, and the analysis that follows.
  std::vector<torch::Tensor> calibrationSet{x};
  calibrationSet.insert(calibrationSet.end(), patches.begin(), patches.end());
  Paired afterCalibration;
  std::vector<double> recordingCost;
  for (int r = 0; r < rounds; ++r) {
    const Timing plain =
        timeBoth([&] { quant::calibrate(*graph, calibrationSet, 7, FeedbackStage(nullptr, 0, 1, "")); });
    quant::Fp32Capture recorded;
    quant::CalibrationData withCapture;
    const Timing recording = timeBoth([&] {
      withCapture =
          quant::calibrateWithCapture(*graph, calibrationSet, 7, FeedbackStage(nullptr, 0, 1, ""), recorded, 1);
    });
    if (!recorded.complete()) break;  // over the memory budget
    const Timing t = timeBoth([&] {
      quant::analyzeLayers(*graph, md, c, withCapture, {x}, FeedbackStage(nullptr, 0, 1, ""), &recorded);
    });
    const Timing after = fp32Once();
    afterCalibration.add(t, before, after);
    recordingCost.push_back((recording.cpu - plain.cpu) / (0.5 * (before.cpu + after.cpu)));
    before = after;
    log("round " + std::to_string(r + 1) + ": first analysis after a recording calibration, CPU ratio " +
        std::to_string(afterCalibration.cpuRatio.back()) + "; recording added " +
        std::to_string(recordingCost.back()) + " FP32 forwards to the calibration (" + std::to_string(plain.cpu) +
        " -> " + std::to_string(recording.cpu) + " s CPU)");
  }
  if (!afterCalibration.cpuRatio.empty()) {
    j["after_recording_calibration_cpu_ratio_to_fp32"] = stats(afterCalibration.cpuRatio);
    j["recording_cost_in_fp32_forwards"] = stats(recordingCost);
  }
  j["config"] = c.describe();
  j["fp32_forward_seconds"] = stats(fp32.wall);
  j["fp32_forward_cpu_seconds"] = stats(fp32.cpu);
  j["analysis_seconds"] = stats(analysis.wall);
  j["analysis_cpu_seconds"] = stats(analysis.cpu);
  j["ratio_to_fp32"] = stats(analysis.wallRatio);
  j["cpu_ratio_to_fp32"] = stats(analysis.cpuRatio);
  if (!reused.cpuRatio.empty()) {
    j["reused_capture_ratio_to_fp32"] = stats(reused.wallRatio);
    j["reused_capture_cpu_ratio_to_fp32"] = stats(reused.cpuRatio);
  }
  j["load_average_end"] = loadAverage1();
  writeJson(a, j);
  return 0;
}

// ---------------------------------------------------------------- operators
// Inclusive CPU milliseconds per operator (aten::, mqb::, prim:: ranges with no such range
// around them: nested calls are part of their caller's time) recorded while `forward` ran,
// and the time of the outermost ranges (the forwards). oneDNN's prim::mkldnn_convolution
// records no range: it is the bulk of "not in an operator range".
json operatorTimes(const std::function<void()>& forward) {
  namespace prof = torch::autograd::profiler;
  prof::enableProfilerLegacy(torch::profiler::impl::ProfilerConfig(torch::profiler::impl::ProfilerState::CPU));
  forward();
  const prof::thread_event_lists lists = prof::disableProfilerLegacy();
  auto isOperator = [](const std::string& name) {
    return name.rfind("aten::", 0) == 0 || name.rfind("mqb::", 0) == 0 || name.rfind("prim::", 0) == 0;
  };
  std::map<std::string, double> ms;
  std::map<std::string, int> calls;
  double outer = 0;
  for (const auto& events : lists) {
    std::vector<const prof::LegacyEvent*> open;
    int operatorsOpen = 0;
    for (const auto& e : events) {
      if (e.kind() == prof::EventKind::PushRange) {
        open.push_back(&e);
        if (isOperator(e.name())) ++operatorsOpen;
      } else if (e.kind() == prof::EventKind::PopRange && !open.empty()) {
        const prof::LegacyEvent* start = open.back();
        open.pop_back();
        const bool op = isOperator(start->name());
        if (op) --operatorsOpen;
        if (open.empty()) outer += start->cpuElapsedUs(e) / 1000.0;
        if (op && operatorsOpen == 0) {
          ms[start->name()] += start->cpuElapsedUs(e) / 1000.0;
          ++calls[start->name()];
        }
      }
    }
  }
  std::vector<std::pair<double, std::string>> order;
  double inOperators = 0;
  for (const auto& [name, t] : ms) {
    order.emplace_back(t, name);
    inOperators += t;
  }
  std::sort(order.rbegin(), order.rend());
  json rows = json::array();
  for (const auto& [t, name] : order)
    rows.push_back({{"operator", name}, {"ms", t}, {"share", t / outer}, {"calls", calls[name]}});
  rows.push_back({{"operator", "not in an operator range (oneDNN convolutions, interpreter)"},
                  {"ms", outer - inOperators},
                  {"share", (outer - inOperators) / outer},
                  {"calls", 0}});
  return {{"total_ms", outer}, {"operators", rows}};
}

int runOperators(const Args& a) {
  Setup s;
  if (!setup(a, s)) return 0;
  const int windows = a.getInt("windows", 8);
  const auto& md = s.model->metadata();
  json j = header(s);
  auto graph = std::make_shared<const quant::QuantizableGraph>(s.model->module(), s.modelPath);
  auto patches = quant::sampleCalibrationPatches(s.prepared, torch::Tensor(), md.patchSize, 4 + windows, 7);
  const std::vector<torch::Tensor> timed(patches.begin() + 4, patches.end());
  patches.resize(4);
  const quant::CalibrationData cal = quant::calibrate(*graph, patches, 7, FeedbackStage(nullptr, 0, 1, ""));
  quant::QuantConfig c;
  c.precision = quant::Precision::parse(a.get("bits", "W8A8"));
  c.granularity = quant::parseGranularity(a.get("granularity", "per-tensor"));
  quant::QuantizedModel quantized(graph, md, c, &cal);
  torch::NoGradGuard noGrad;
  for (const auto& x : timed) {  // warm-up: oneDNN primitives, allocator caches
    s.model->predict(x);
    quantized.predict(x);
  }
  auto run = [&](PatchPredictor& m) {
    return operatorTimes([&] {
      for (const auto& x : timed) m.predict(x);
    });
  };
  j["windows"] = windows;
  j["fp32"] = run(*s.model);
  j["quantized"] = run(quantized);
  j["quantized_config"] = c.precision.id() + " " + quant::granularityId(c.granularity);
  for (const char* side : {"fp32", "quantized"}) {
    log(std::string(side) + ": " + std::to_string(j[side]["total_ms"].get<double>() / windows) + " ms per window");
    for (const auto& row : j[side]["operators"])
      if (row["share"].get<double>() >= 0.005)
        std::fprintf(stderr, "  %-36s %8.2f ms/window %5.1f %%  x%d\n", row["operator"].get<std::string>().c_str(),
                     row["ms"].get<double>() / windows, 100 * row["share"].get<double>(),
                     row["calls"].get<int>() / windows);
  }
  writeJson(a, j);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  installCachingCpuAllocator();           // as the applications do (MQB_CPU_CACHE=0 to compare without)
  setBlasThreads(at::get_num_threads());  // OpenBLAS follows the ATen threads, as in the applications
  try {
    Args a = parse(argc, argv);
    if (a.mode == "sliding") return runSliding(a);
    if (a.mode == "quant") return runQuant(a);
    if (a.mode == "analysis") return runAnalysis(a);
    if (a.mode == "operators") return runOperators(a);
    throw Error("unknown mode '" + a.mode + "' (sliding, quant, analysis, operators)");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
