// Whole-volume sliding-window timing of a zoo model over the example CT (issue "interactive
// speed"): every variant segments the same prepared volume, the variants alternate round
// by round inside one process, and each candidate run is divided by the mean of the two
// reference runs around it (medians of those ratios are reported, CPU and wall time).
//
//   mqb_bench_volume [--model models/zoo/MQB-nnUNet-S.pt] [--volume CT] [--rounds 3]
//                    [--batches 1,2] [--bits W8A8] [--calibration-patches 8]
//                    [--variants native,batch,quant,serial] [--dump-input DIR] [--json out.json]
//
// Windows run on as many threads as LibTorch has intra-op threads (one intra-op thread
// each, inference/ParallelWindows.h) unless the variant says "serial" (one window at a time on all
// threads: the pipeline before). "native-serial" is the pipeline before both changes.
//
// Variants: "native" = LibTorch's own kernel choice (FastConvolutions off: slow_conv3d for
// most batch-1 3D convolutions; what the pipeline did before), "fast" = convolutions in
// oneDNN with weights reordered once (the reference of every ratio), the fast path with
// larger window batches, and simulated W8A8 per-tensor / adaptive on the fast path.
// Also: whether native and fast give the same labels, the FP32 forward's GFLOP/s (MACs
// counted from the shapes every convolution sees) and, as the machine's limit, the GFLOP/s
// of one 64-channel 3x3x3 oneDNN convolution.
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "BenchCommon.h"
#include "runtime/BlasThreads.h"
#include "runtime/CachingCpuAllocator.h"
#include "support/Error.h"
#include "runtime/FastConvolutions.h"
#include "model/SegmentationModel.h"
#include "inference/SlidingWindowInference.h"
#include "io/VolumeIO.h"
#include "inference/VolumePreparation.h"
#include "quant/CalibrationData.h"
#include "quant/QuantizableGraph.h"
#include "quant/QuantizedModel.h"

using namespace mqb;
using namespace mqb::bench;
using nlohmann::json;

namespace {

std::map<std::string, std::string> parseArgs(int argc, char** argv) {
  std::map<std::string, std::string> kv;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (k.rfind("--", 0) != 0 || i + 1 >= argc) throw Error("bad argument '" + k + "' (options are --key value)");
    kv[k.substr(2)] = argv[++i];
  }
  return kv;
}

std::string get(const std::map<std::string, std::string>& kv, const std::string& k, const std::string& d) {
  auto it = kv.find(k);
  return it == kv.end() ? d : it->second;
}

std::vector<int> intList(const std::string& text) {
  std::vector<int> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) out.push_back(std::stoi(item));
  return out;
}

const Clock::time_point g_start = Clock::now();
void log(const std::string& s) {
  std::fprintf(stderr, "[%7.1f s, load %.1f] %s\n", secondsSince(g_start), loadAverage1(), s.c_str());
}

json stats(const std::vector<double>& v) {
  return {{"median", median(v)}, {"min", minOf(v)}, {"max", maxOf(v)}, {"n", v.size()}, {"all", v}};
}

std::string zooModelPath() {
  for (const fs::path& p :
       {executableDir() / "../share/medquanbench/models/MQB-nnUNet-S.pt", fs::path("models/zoo/MQB-nnUNet-S.pt")})
    if (fs::exists(p)) return p.string();
  return {};
}

// Multiply-accumulates of every convolution in one forward, from the shapes it sees.
class MacCounter : public quant::HookObserver {
 public:
  explicit MacCounter(const quant::QuantizableGraph& g) : graph_(g) {}
  void onInput(int op, int slot, const torch::Tensor& x) override {
    if (slot == 0) inputs_[op] = x.sizes().vec();
  }
  void onOutput(int op, const torch::Tensor& y) override {
    const quant::QuantOp& o = graph_.ops()[static_cast<size_t>(op)];
    const auto& w = o.weightShape;
    if (w.size() < 3) return;
    double kernel = 1;
    for (size_t i = 2; i < w.size(); ++i) kernel *= double(w[i]);
    if (o.kind == quant::OpKind::Conv) {
      macs += double(y.numel()) * double(w[1]) * kernel;  // every output: Ci/groups * k^3
    } else if (o.kind == quant::OpKind::ConvTranspose) {
      double in = 1;
      for (int64_t s : inputs_[op]) in *= double(s);
      macs += in * double(w[1]) * kernel;  // every input: Co/groups * k^3
    }
  }
  bool retainsInputs() const override { return false; }
  double macs = 0;

 private:
  const quant::QuantizableGraph& graph_;
  std::map<int, std::vector<int64_t>> inputs_;
};

struct Variant {
  std::string name;
  PatchPredictor* model = nullptr;
  int batch = 1;
  int workers = 0;  // InferenceOptions::windowWorkers (0 = one window per intra-op thread)
  std::vector<double> wall, cpu, wallRatio, cpuRatio;
  InferenceResult last;
};

}  // namespace

int main(int argc, char** argv) try {
  installCachingCpuAllocator();
  setBlasThreads(at::get_num_threads());
  const auto kv = parseArgs(argc, argv);
  const std::string modelPath = get(kv, "model", zooModelPath());
  const std::string volumePath = get(kv, "volume", exampleCtPath());
  if (volumePath.empty() || !fs::exists(volumePath)) {
    std::printf("SKIPPED: example CT not found (set MQB_DATA_DIR to the folder holding abdomen-ct/)\n");
    return 0;
  }
  if (modelPath.empty() || !fs::exists(modelPath)) {
    std::printf("SKIPPED: model not found (pass --model models/zoo/MQB-nnUNet-S.pt)\n");
    return 0;
  }
  const int rounds = std::stoi(get(kv, "rounds", "3"));
  const std::vector<int> batches = intList(get(kv, "batches", "1,2"));
  // Which candidates run against the fast batch-1 reference ("" = the reference alone,
  // e.g. for the C++/Python comparison in alternating processes).
  const std::string wanted = "," + get(kv, "variants", "native,batch,quant") + ",";
  auto want = [&](const std::string& v) { return wanted.find("," + v + ",") != std::string::npos; };

  setFastConvolutions(false);
  SegmentationModel native = SegmentationModel::load(modelPath);
  setFastConvolutions(true);
  SegmentationModel fast = SegmentationModel::load(modelPath);
  const ModelMetadata& md = fast.metadata();
  const ImageVolume volume = readImage(volumePath);
  const PreparedVolume pv = prepareVolume(volume, md, FeedbackStage(nullptr, 0, 1, ""));
  const auto windows = planWindows({pv.input.size(2), pv.input.size(3), pv.input.size(4)}, md.patchSize, 0.5);

  json j = {{"model", modelPath},
            {"volume", volumePath},
            {"prepared_input", pv.input.sizes().vec()},
            {"windows", windows.starts.size()},
            {"threads", at::get_num_threads()},
            {"oneDNN_convolutions", fast.fastConvolutions()},
            {"load_average_start", loadAverage1()}};

  // Simulated quantization on the fast path.
  auto graph = std::make_shared<const quant::QuantizableGraph>(fast.module(), modelPath);
  const auto patches = quant::sampleCalibrationPatches(pv, torch::Tensor(), md.patchSize,
                                                       std::stoi(get(kv, "calibration-patches", "8")), 7);
  const quant::CalibrationData cal = quant::calibrate(*graph, patches, 7, FeedbackStage(nullptr, 0, 1, ""));
  const quant::Precision bits = quant::Precision::parse(get(kv, "bits", "W8A8"));
  std::vector<std::unique_ptr<quant::QuantizedModel>> quantized;
  for (auto g : {quant::Granularity::PerTensor, quant::Granularity::Adaptive}) {
    quant::QuantConfig c;
    c.precision = bits;
    c.granularity = g;
    quantized.push_back(std::make_unique<quant::QuantizedModel>(graph, md, c, &cal));
  }

  // MACs of one window, and the oneDNN peak of one large convolution.
  {
    quant::QuantConfig c;
    c.precision = quant::Precision::fp32();
    quant::QuantizedModel counted(graph, md, c, nullptr);
    MacCounter counter(*graph);
    counted.runtime().setObserver(&counter);
    counted.predict(patches.front());
    counted.runtime().setObserver(nullptr);
    j["gflop_per_window"] = 2 * counter.macs / 1e9;
  }
  {
    torch::NoGradGuard noGrad;
    torch::Tensor x = torch::randn({1, 64, 48, 48, 48});
    torch::Tensor w = torch::randn({64, 64, 3, 3, 3});
    auto conv = [&] { return at::mkldnn_convolution(x, w, {}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, 1); };
    conv();
    std::vector<double> t;
    for (int i = 0; i < 5; ++i) t.push_back(timeBoth(conv).wall);
    const double flop = 2.0 * 64 * 64 * 27 * 48 * 48 * 48;
    j["single_conv_peak_gflops"] = flop / median(t) / 1e9;
    j["single_conv_description"] = "oneDNN 3x3x3 conv, 64 -> 64 channels, 48^3, batch 1";
  }

  std::vector<Variant> variants;
  variants.push_back({"fast-batch1", &fast, 1});  // the reference
  if (want("native")) variants.push_back({"native-batch1", &native, 1});
  if (want("batch"))
    for (int b : batches)
      if (b != 1) {
        variants.push_back({"fast-batch" + std::to_string(b), &fast, b});
        if (want("native")) variants.push_back({"native-batch" + std::to_string(b), &native, b});
      }
  // One window at a time on all intra-op threads: the pipeline before window-parallel
  // inference ("native-serial" is the pipeline before both changes).
  if (want("serial")) {
    variants.push_back({"fast-serial", &fast, 1, 1});
    variants.push_back({"native-serial", &native, 1, 1});
  }
  if (want("quant")) {
    variants.push_back({bits.id() + "-per-tensor", quantized[0].get(), 1});
    variants.push_back({bits.id() + "-adaptive", quantized[1].get(), 1});
  }

  auto run = [&](Variant& v) {
    InferenceOptions o;
    o.windowBatch = v.batch;
    o.windowWorkers = v.workers;
    Timing t = timeBoth([&] { v.last = runSlidingWindow(*v.model, pv, o, FeedbackStage(nullptr, 0, 1, "")); });
    return t;
  };
  log("warm-up");
  for (auto& v : variants) {
    torch::Tensor x = patches.front();
    for (int i = 0; i < 3; ++i) v.model->predict(v.batch > 1 ? x.expand({v.batch, -1, -1, -1, -1}).contiguous() : x);
  }
  for (int r = 0; r < rounds; ++r) {
    Timing before = run(variants[0]);
    variants[0].wall.push_back(before.wall);
    variants[0].cpu.push_back(before.cpu);
    log("round " + std::to_string(r + 1) + " fast-batch1: " + std::to_string(before.wall) + " s wall, " +
        std::to_string(before.cpu) + " s CPU");
    for (size_t i = 1; i < variants.size(); ++i) {
      Variant& v = variants[i];
      const Timing t = run(v);
      const Timing after = run(variants[0]);
      variants[0].wall.push_back(after.wall);
      variants[0].cpu.push_back(after.cpu);
      v.wall.push_back(t.wall);
      v.cpu.push_back(t.cpu);
      v.wallRatio.push_back(t.wall / (0.5 * (before.wall + after.wall)));
      v.cpuRatio.push_back(t.cpu / (0.5 * (before.cpu + after.cpu)));
      log("round " + std::to_string(r + 1) + " " + v.name + ": " + std::to_string(t.wall) + " s wall, " +
          std::to_string(t.cpu) + " s CPU, ratio to fast-batch1 " + std::to_string(v.cpuRatio.back()) + " (CPU)");
      before = after;
    }
  }
  const torch::Tensor reference = variants[0].last.modelSpaceLabels;
  json out = json::object();
  for (const Variant& v : variants) {
    json e = {{"run_seconds", stats(v.wall)},
              {"run_cpu_seconds", stats(v.cpu)},
              {"window_batch", v.batch},
              {"window_workers", v.last.windowWorkers}};
    if (!v.wallRatio.empty()) {
      e["ratio_to_fast_batch1"] = stats(v.wallRatio);
      e["cpu_ratio_to_fast_batch1"] = stats(v.cpuRatio);
    }
    e["labels_differing_from_fast_batch1"] = (v.last.modelSpaceLabels != reference).sum().item<int64_t>();
    e["seconds_per_window"] = median(v.wall) / double(v.last.windows);
    out[v.name] = e;
  }
  j["variants"] = out;
  const double fastWindow = median(variants[0].wall) / double(variants[0].last.windows);
  j["fp32_forward_gflops"] = j["gflop_per_window"].get<double>() / fastWindow;
  j["share_of_single_conv_peak"] = j["fp32_forward_gflops"].get<double>() / j["single_conv_peak_gflops"].get<double>();
  j["load_average_end"] = loadAverage1();

  // The prepared input for bench/python_sliding_window.py (same format as mqb_bench_perf).
  const std::string dump = get(kv, "dump-input", "");
  if (!dump.empty()) {
    fs::create_directories(dump);
    torch::Tensor in = pv.input.contiguous();
    std::ofstream((fs::path(dump) / "prepared_input.f32").string(), std::ios::binary)
        .write(reinterpret_cast<const char*>(in.data_ptr<float>()), static_cast<std::streamsize>(in.numel() * 4));
    json d = {{"shape", in.sizes().vec()},
              {"pad_before", pv.padBefore},
              {"resampled_size", pv.resampledSize},
              {"patch", md.patchSize},
              {"overlap", 0.5},
              {"classes", md.classes.size()},
              {"threads", at::get_num_threads()}};
    std::ofstream((fs::path(dump) / "prepared_input.json").string()) << d.dump(2) << "\n";
    torch::Tensor lab = reference.contiguous();
    std::ofstream((fs::path(dump) / "cpp_labels.u8").string(), std::ios::binary)
        .write(reinterpret_cast<const char*>(lab.data_ptr<uint8_t>()), static_cast<std::streamsize>(lab.numel()));
  }
  const std::string path = get(kv, "json", "");
  std::cout << j.dump(2) << "\n";
  if (!path.empty()) std::ofstream(path) << j.dump(2) << "\n";
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
