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
//   mqb_bench_perf analysis [--rounds 3] [--granularity per-channel] [--json out.json]
//       quant::analyzeLayers on one patch vs one FP32 forward (paired).
//
// Common options: --model M.pt (default $MQB_BENCH_MODEL or <build>/bench-unet-96.pt),
// --volume CT (default $MQB_DATA_DIR/abdomen-ct/example_ct.nii.gz), --warmup 3.
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "BenchCommon.h"
#include "Error.h"
#include "SegmentationModel.h"
#include "SlidingWindowInference.h"
#include "VolumeIO.h"
#include "VolumePreparation.h"
#include "quant/CalibrationData.h"
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
  if (argc < 2) throw Error("usage: mqb_bench_perf sliding|quant|analysis [--key value ...]");
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
  for (int r = 0; r < runs; ++r) {
    prep.push_back(timeIt([&] { prepareVolume(s.volume, md, FeedbackStage(nullptr, 0, 1, "")); }));
    pipeline.push_back(runSlidingWindow(instant, s.prepared, opt, FeedbackStage(nullptr, 0, 1, "")).seconds);
    InferenceResult res = runSlidingWindow(*s.model, s.prepared, opt, FeedbackStage(nullptr, 0, 1, ""));
    total.push_back(res.seconds);
    forward.push_back(res.forwardSeconds);
    overhead.push_back(res.seconds - res.forwardSeconds);
    fraction.push_back((res.seconds - res.forwardSeconds) / res.forwardSeconds);
    patchForward.push_back(res.forwardSeconds / res.windows);
    log("run " + std::to_string(r + 1) + ": total " + std::to_string(res.seconds) + " s, forward " +
        std::to_string(res.forwardSeconds) + " s, overhead " + std::to_string(100 * fraction.back()) +
        " %, instant-model pipeline " + std::to_string(pipeline.back()) + " s, prepare " +
        std::to_string(prep.back()) + " s");
  }
  j["prepare_seconds"] = stats(prep);
  j["run_seconds"] = stats(total);
  j["forward_seconds"] = stats(forward);
  j["forward_seconds_per_window"] = stats(patchForward);
  j["overhead_seconds"] = stats(overhead);
  j["overhead_fraction_of_forward"] = stats(fraction);
  j["instant_model_pipeline_seconds"] = stats(pipeline);
  j["instant_pipeline_fraction_of_forward"] = median(pipeline) / median(forward);
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
    std::vector<double> times, ratios;
  };
  std::vector<Variant> variants;
  {
    quant::QuantConfig c;
    c.precision = quant::Precision::fp32();
    variants.push_back({"fp32-graph-with-hooks", std::make_unique<quant::QuantizedModel>(graph, md, c, nullptr), {}, {}});
  }
  for (auto g : {quant::Granularity::PerTensor, quant::Granularity::PerChannel, quant::Granularity::PerVoxel,
                 quant::Granularity::Adaptive}) {
    quant::QuantConfig c;
    c.precision = bits;
    c.granularity = g;
    variants.push_back({quant::granularityId(g), std::make_unique<quant::QuantizedModel>(graph, md, c, &cal), {}, {}});
  }
  log("warm-up");
  for (int i = 0; i < warmup; ++i) {
    s.model->predict(x);
    for (auto& v : variants) v.model->predict(x);
  }
  std::vector<double> fp32Times;
  auto fp32Once = [&] {
    double t = timeIt([&] { s.model->predict(x); });
    fp32Times.push_back(t);
    return t;
  };
  for (int r = 0; r < rounds; ++r) {
    // F V1 F V2 F ... F, the variant order rotated each round.
    double before = fp32Once();
    for (size_t k = 0; k < variants.size(); ++k) {
      Variant& v = variants[(k + r) % variants.size()];
      double t = timeIt([&] { v.model->predict(x); });
      double after = fp32Once();
      v.times.push_back(t);
      v.ratios.push_back(t / (0.5 * (before + after)));
      before = after;
    }
    std::string line = "round " + std::to_string(r + 1) + ":";
    for (auto& v : variants) line += " " + v.name + " " + std::to_string(v.ratios.back());
    log(line);
  }
  j["bits"] = bits.id();
  j["rounds"] = rounds;
  j["fp32_forward_seconds"] = stats(fp32Times);
  for (auto& v : variants) {
    j["variants"][v.name] = {{"forward_seconds", stats(v.times)},
                             {"ratio_to_fp32", stats(v.ratios)},
                             {"ratio_of_medians", median(v.times) / median(fp32Times)}};
  }

  // Fake-quant kernel time per granularity on the FP32 activations of this patch: what the
  // quantized forward adds on top of the FP32 convolutions.
  CaptureInputs capture(graph->ops().size());
  variants[0].model->runtime().setObserver(&capture);
  variants[0].model->predict(x);
  variants[0].model->runtime().setObserver(nullptr);
  int64_t activationElements = 0;
  for (const auto& op : graph->ops())
    for (int sl = 0; sl < op.activationSlots; ++sl) activationElements += capture.inputs[op.index][sl].numel();
  j["quantized_input_elements"] = activationElements;
  for (size_t k = 1; k < variants.size(); ++k) {
    auto& v = variants[k];
    std::vector<double> totals;
    json perOp;
    for (int rep = 0; rep < 3; ++rep) {
      double total = 0;
      for (const auto& op : graph->ops())
        for (int sl = 0; sl < op.activationSlots; ++sl) {
          const auto& plan = v.model->plan(op.index, sl);
          const torch::Tensor& in = capture.inputs[op.index][sl];
          double t = timeIt([&] { plan.apply(in); });
          total += t;
          if (rep == 2) perOp[op.name] = t;
        }
      totals.push_back(total);
    }
    j["variants"][v.name]["fake_quant_kernels_seconds"] = stats(totals);
    j["variants"][v.name]["fake_quant_kernels_per_op_seconds"] = perOp;
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
  std::vector<double> fp32Times, analysisTimes, ratios;
  log("analysis warm-up");
  quant::analyzeLayers(*graph, md, c, cal, {x}, FeedbackStage(nullptr, 0, 1, ""));
  auto fp32Once = [&] {
    double t = timeIt([&] { s.model->predict(x); });
    fp32Times.push_back(t);
    return t;
  };
  double before = fp32Once();
  for (int r = 0; r < rounds; ++r) {
    size_t ops = 0;
    double t = timeIt([&] {
      ops = quant::analyzeLayers(*graph, md, c, cal, {x}, FeedbackStage(nullptr, 0, 1, "")).ops.size();
    });
    double after = fp32Once();
    analysisTimes.push_back(t);
    ratios.push_back(t / (0.5 * (before + after)));
    before = after;
    log("round " + std::to_string(r + 1) + ": analysis " + std::to_string(t) + " s (" + std::to_string(ops) +
        " ops), ratio " + std::to_string(ratios.back()));
  }
  j["config"] = c.describe();
  j["fp32_forward_seconds"] = stats(fp32Times);
  j["analysis_seconds"] = stats(analysisTimes);
  j["ratio_to_fp32"] = stats(ratios);
  j["load_average_end"] = loadAverage1();
  writeJson(a, j);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Args a = parse(argc, argv);
    if (a.mode == "sliding") return runSliding(a);
    if (a.mode == "quant") return runQuant(a);
    if (a.mode == "analysis") return runAnalysis(a);
    throw Error("unknown mode '" + a.mode + "' (sliding, quant, analysis)");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
