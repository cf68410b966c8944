// Real INT8 execution against FP32 on a zoo model and the example CT (issue 11): the whole
// sliding-window volume, same threads, same process, alternating runs (ratios, not absolute
// times), FP32 with one window per forward and with a window batch, INT8 the same.
//
//   mqb_bench_int8 [--model models/zoo/MQB-nnUNet-S.pt] [--volume CT] [--labels GT]
//                  [--label-map totalsegmentator-to-btcv] [--threads 1] [--rounds 3]
//                  [--batch 4] [--granularity per-tensor] [--calibration-patches 16]
//                  [--graphs chained,fused,qdq,aten] [--json out.json] [--windows K]
//
// Reports per configuration the median wall and CPU time per volume, the speed-ups, the
// file sizes, mean DSC against the ground truth and agreement with FP32 and with simulated
// W8A8 of the same configuration, and the share of INT8 time spent in ops that stay FP32
// (measured with LibTorch's RecordFunction on top-level ops of one batched INT8 run).
#include <ATen/record_function.h>
#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "BenchCommon.h"
#include "runtime/BlasThreads.h"
#include "runtime/CachingCpuAllocator.h"
#include "support/Error.h"
#include "metrics/SegmentationMetrics.h"
#include "model/SegmentationModel.h"
#include "inference/SlidingWindowInference.h"
#include "study/Int8Build.h"
#include "quant/int8/Int8Kernels.h"
#include "study/QuantizationStudy.h"

using namespace mqb;
using namespace mqb::bench;
using nlohmann::json;

namespace {

std::map<std::string, std::string> parse(int argc, char** argv) {
  std::map<std::string, std::string> kv;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (k.rfind("--", 0) != 0 || i + 1 >= argc)
      throw Error("bad argument '" + k + "' (see the header of mqb_int8.cpp)");
    kv[k.substr(2)] = argv[++i];
  }
  return kv;
}

std::string get(const std::map<std::string, std::string>& kv, const std::string& k, const std::string& d) {
  auto it = kv.find(k);
  return it == kv.end() ? d : it->second;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

// Time of top-level operators (those not called from inside another operator) by kind.
struct OpTimes {
  double integer = 0, transitions = 0, fp32 = 0;
  std::map<std::string, double> byName;
};
OpTimes g_opTimes;
thread_local int t_depth = 0;

struct StartTime : at::ObserverContext {
  Clock::time_point t;
  bool top = false;
};

std::unique_ptr<at::ObserverContext> onStart(const at::RecordFunction&) {
  auto ctx = std::make_unique<StartTime>();
  ctx->top = t_depth++ == 0;
  ctx->t = Clock::now();
  return ctx;
}

void onEnd(const at::RecordFunction& fn, at::ObserverContext* c) {
  --t_depth;
  auto* ctx = static_cast<StartTime*>(c);
  if (!ctx || !ctx->top) return;
  const double s = secondsSince(ctx->t);
  const std::string name = fn.name();
  g_opTimes.byName[name] += s;
  if (name.rfind("quantized::", 0) == 0)
    g_opTimes.integer += s;
  else if (name.rfind("mqb::int8_", 0) == 0 || name == "aten::quantize_per_tensor" || name == "aten::dequantize")
    g_opTimes.transitions += s;
  else
    g_opTimes.fp32 += s;
}

OpTimes profile(const std::function<void()>& run) {
  g_opTimes = {};
  auto handle = at::addGlobalCallback(at::RecordFunctionCallback(onStart, onEnd).scopes({at::RecordScope::FUNCTION}));
  run();
  at::removeCallback(handle);
  return g_opTimes;
}

}  // namespace

int main(int argc, char** argv) try {
  const auto kv = parse(argc, argv);
  const int threads = std::stoi(get(kv, "threads", "1"));
  torch::set_num_threads(threads);
  setBlasThreads(threads);
  installCachingCpuAllocator();
  quant::registerInt8Operators();
  const std::string modelPath = get(kv, "model", std::string(MQB_SOURCE_DIR) + "/models/zoo/MQB-nnUNet-S.pt");
  const std::string ct = get(kv, "volume", exampleCtPath());
  std::string labels = get(kv, "labels", "");
  if (labels.empty() && !ct.empty()) {
    const fs::path gt = fs::path(ct).parent_path() / "example_seg_fast_force_split.nii.gz";
    if (fs::exists(gt)) labels = gt.string();
  }
  if (ct.empty()) throw Error("no CT: pass --volume or set MQB_DATA_DIR");
  const int rounds = std::stoi(get(kv, "rounds", "3"));
  const int batch = std::stoi(get(kv, "batch", "4"));

  quant::StudyInputs in;
  in.modelPath = modelPath;
  in.volumePath = ct;
  in.labelsPath = labels;
  in.labelMap = labels.empty() ? "" : get(kv, "label-map", "totalsegmentator-to-btcv");
  quant::QuantizationStudy study(in);
  quant::QuantConfig config;
  config.precision = quant::Precision::integer(8, 8);
  config.granularity = quant::parseGranularity(get(kv, "granularity", "per-tensor"));
  config.calibrationPatches = std::stoi(get(kv, "calibration-patches", "16"));
  const auto& classes = study.model().metadata().classes;
  std::fprintf(stderr, "%s on %s, %d thread(s), window batch %d, %d rounds\n", modelPath.c_str(), ct.c_str(), threads,
               batch, rounds);

  SegmentationModel fp32 = SegmentationModel::load(modelPath);
  const InferenceResult fp32Reference = study.fp32();
  const quant::QuantizedRun simulated = study.runQuantized(config);

  // Quick mode (--windows K): K windows from the middle of the CT, predicted in batches,
  // FP32 and INT8 (fused) alternating, then the INT8 op profile. Minutes instead of the
  // whole-volume hour when iterating on the INT8 graph.
  if (kv.count("windows")) {
    const int k = std::stoi(kv.at("windows"));
    const auto& ps = study.model().metadata().patchSize;
    const torch::Tensor& vol = study.prepared().input;
    std::vector<torch::Tensor> windows;
    for (int i = 0; i < k; ++i) {
      std::array<int64_t, 3> start{};
      for (int a = 0; a < 3; ++a) {
        const int64_t room = vol.size(2 + a) - ps[a];
        start[a] = room <= 0 ? 0 : (room / 2 + ((i * 7 + a * 3) % 5 - 2) * room / 5);
        start[a] = std::clamp<int64_t>(start[a], 0, std::max<int64_t>(0, room));
      }
      windows.push_back(vol.slice(2, start[0], start[0] + ps[0])
                            .slice(3, start[1], start[1] + ps[1])
                            .slice(4, start[2], start[2] + ps[2])
                            .contiguous());
    }
    const torch::Tensor all = torch::cat(windows, 0);
    quant::Int8GraphOptions chainedOptions, fusedOptions;
    fusedOptions.chainRequantize = false;
    auto int8 = quant::buildInt8Model(study, config, nullptr, chainedOptions);
    auto fused = quant::buildInt8Model(study, config, nullptr, fusedOptions);
    auto runAll = [&](PatchPredictor& m) {
      torch::NoGradGuard ng;
      for (int64_t b = 0; b < k; b += batch) m.predict(all.slice(0, b, std::min<int64_t>(k, b + batch)));
    };
    {
      torch::NoGradGuard ng;
      const torch::Tensor x = all.slice(0, 0, std::min<int64_t>(k, batch));
      const double diff = (int8->predict(x) - fused->predict(x)).abs().max().item<double>();
      std::printf("chained (%d quantize ops replaced, %d cats in uint8) vs fused: max |logit difference| %g\n",
                  int8->chainedTransitions(), int8->uint8Cats(), diff);
    }
    std::vector<std::pair<std::string, PatchPredictor*>> models{{"FP32", &fp32},
                                                                {"INT8 fused", fused.get()},
                                                                {"INT8 chained", int8.get()}};
    for (auto& m : models) runAll(*m.second);
    std::vector<std::vector<double>> cpu(models.size());
    for (int r = 0; r < rounds; ++r)
      for (size_t i = 0; i < models.size(); ++i) {
        const size_t j = r % 2 ? models.size() - 1 - i : i;
        cpu[j].push_back(timeBoth([&] { runAll(*models[j].second); }).cpu);
      }
    std::printf("%d windows, batch %d, %d rounds, CPU s (median):", k, batch, rounds);
    for (size_t i = 0; i < models.size(); ++i)
      std::printf("  %s %.3f (%.2fx)", models[i].first.c_str(), median(cpu[i]), median(cpu[0]) / median(cpu[i]));
    std::printf("\n");
    const OpTimes t = profile([&] { runAll(*int8); });
    const OpTimes tf = profile([&] { runAll(*fused); });
    for (const auto* times : {&t, &tf}) {
      const double sum = times->integer + times->transitions + times->fp32;
      std::vector<std::pair<double, std::string>> top;
      for (const auto& [name, sec] : times->byName) top.emplace_back(sec, name);
      std::sort(top.rbegin(), top.rend());
      std::printf("%s profile (%.3f s in top-level ops):\n", times == &t ? "INT8 chained" : "INT8 fused", sum);
      for (size_t i = 0; i < top.size() && i < 14; ++i)
        std::printf("  %-36s %7.3f s  %4.1f%%\n", top[i].second.c_str(), top[i].first, 100 * top[i].first / sum);
    }
    return 0;
  }

  struct Variant {
    std::string name;
    PatchPredictor* model;
    int batch;
    std::vector<double> wall, cpu;
    InferenceResult last;
  };
  std::vector<std::unique_ptr<quant::Int8Model>> int8Models;
  std::vector<Variant> variants{{"fp32 b1", &fp32, 1, {}, {}, {}},
                                {"fp32 b" + std::to_string(batch), &fp32, batch, {}, {}, {}}};
  for (const std::string& g : split(get(kv, "graphs", "chained,fused,qdq,aten"))) {
    quant::Int8GraphOptions o;
    o.fastTransitions = g != "aten";
    o.fuseNormActivation = g == "fused" || g == "chained";
    o.chainRequantize = g == "chained";
    int8Models.push_back(quant::buildInt8Model(study, config, nullptr, o));
    if (g == "chained") variants.push_back({"int8 " + g + " b1", int8Models.back().get(), 1, {}, {}, {}});
    variants.push_back({"int8 " + g + " b" + std::to_string(batch), int8Models.back().get(), batch, {}, {}, {}});
  }
  auto run = [&](Variant& v) {
    InferenceOptions o;
    o.windowBatch = v.batch;
    const Timing t =
        timeBoth([&] { v.last = runSlidingWindow(*v.model, study.prepared(), o, FeedbackStage(nullptr, 0, 1, "")); });
    return t;
  };
  for (Variant& v : variants) run(v);  // warm-up: allocator, oneDNN primitive caches
  for (int r = 0; r < rounds; ++r) {
    // Alternating order: each variant sees early and late slots across rounds.
    std::vector<size_t> order(variants.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = r % 2 ? order.size() - 1 - i : i;
    for (size_t i : order) {
      const Timing t = run(variants[i]);
      variants[i].wall.push_back(t.wall);
      variants[i].cpu.push_back(t.cpu);
      std::fprintf(stderr, "round %d %-16s %.2f s wall %.2f s cpu\n", r, variants[i].name.c_str(), t.wall, t.cpu);
    }
  }

  json out = {
      {"model", modelPath},    {"volume", ct},     {"labels", labels},          {"threads", threads},
      {"window_batch", batch}, {"rounds", rounds}, {"config", config.toJson()}, {"windows", fp32Reference.windows}};
  const double fp32b1 = median(variants[0].wall), fp32bB = median(variants[1].wall);
  const double fp32b1Cpu = median(variants[0].cpu), fp32bBCpu = median(variants[1].cpu);
  std::optional<SegmentationScores> fp32Scores = study.fp32Scores();
  std::printf("%-16s %9s %9s %12s %12s %9s %9s %9s\n", "run", "wall s", "cpu s", "vs fp32 b1", "vs fp32 b", "DSC",
              "agr fp32", "agr sim");
  for (const Variant& v : variants) {
    const double w = median(v.wall), c = median(v.cpu);
    json row = {{"wall_s", w},
                {"cpu_s", c},
                {"wall_runs", v.wall},
                {"speedup_vs_fp32_b1", fp32b1 / w},
                {"speedup_vs_fp32_batched", fp32bB / w},
                {"cpu_speedup_vs_fp32_b1", fp32b1Cpu / c},
                {"cpu_speedup_vs_fp32_batched", fp32bBCpu / c}};
    double dsc = std::nan(""), agreeFp32 = std::nan(""), agreeSim = std::nan("");
    if (study.groundTruth()) dsc = scoreSegmentation(v.last.labels, *study.groundTruth(), classes, 2.0).meanDsc;
    agreeFp32 = scoreSegmentation(v.last.labels, fp32Reference.labels, classes, 2.0).meanDsc;
    agreeSim = scoreSegmentation(v.last.labels, simulated.inference.labels, classes, 2.0).meanDsc;
    row["mean_dsc"] = dsc;
    row["agreement_with_fp32"] = agreeFp32;
    row["agreement_with_simulated"] = agreeSim;
    out["runs"][v.name] = row;
    std::printf("%-16s %9.2f %9.2f %11.2fx %11.2fx %9.4f %9.4f %9.4f\n", v.name.c_str(), w, c, fp32b1 / w, fp32bB / w,
                dsc, agreeFp32, agreeSim);
  }
  if (simulated.scores) out["simulated_mean_dsc"] = simulated.scores->meanDsc;
  if (fp32Scores) out["fp32_mean_dsc"] = fp32Scores->meanDsc;

  const auto fp32Bytes = fs::file_size(modelPath);
  for (auto& m : int8Models) {
    const std::string tmp = (fs::temp_directory_path() / ("mqb-bench-int8-" + m->graphOptions().id() + ".pt")).string();
    m->save(tmp);
    const auto bytes = fs::file_size(tmp);
    fs::remove(tmp);
    quant::Int8Model* model = m.get();
    const OpTimes t = profile([&] {
      InferenceOptions o;
      o.windowBatch = batch;
      runSlidingWindow(*model, study.prepared(), o, FeedbackStage(nullptr, 0, 1, ""));
    });
    const double all = t.integer + t.transitions + t.fp32;
    std::vector<std::pair<double, std::string>> top;
    for (const auto& [name, sec] : t.byName) top.emplace_back(sec, name);
    std::sort(top.rbegin(), top.rend());
    json ops = json::object();
    for (size_t i = 0; i < top.size() && i < 12; ++i) {
      ops[top[i].second] = top[i].first;
      std::printf("  %-36s %7.2f s  %4.1f%%\n", top[i].second.c_str(), top[i].first, 100 * top[i].first / all);
    }
    out["int8"][m->graphOptions().id()] = {{"engine", m->engine()},
                                           {"model_bytes", bytes},
                                           {"fp32_model_bytes", fp32Bytes},
                                           {"size_ratio", double(bytes) / double(fp32Bytes)},
                                           {"coverage", m->coverage().toJson()},
                                           {"folded_norms", m->foldedNorms()},
                                           {"time_share_integer_kernels", t.integer / all},
                                           {"time_share_transitions", t.transitions / all},
                                           {"time_share_fp32_ops", t.fp32 / all},
                                           {"top_level_op_seconds", ops}};
    std::printf("int8 %-6s engine %s: %d/%zu ops integer, %d norms folded, file %.2f MB / FP32 %.2f MB = %.3fx; "
                "op time: integer kernels %.0f%%, transitions%s %.0f%%, FP32 ops %.0f%%\n",
                m->graphOptions().id().c_str(), m->engine().c_str(), m->coverage().integerOps(),
                m->coverage().ops.size(), m->foldedNorms(), bytes / 1e6, fp32Bytes / 1e6,
                double(bytes) / double(fp32Bytes), 100 * t.integer / all, m->foldedNorms() ? " (+ folded norms)" : "",
                100 * t.transitions / all, 100 * t.fp32 / all);
  }
  if (kv.count("json")) {
    std::ofstream f(kv.at("json"));
    f << out.dump(2) << "\n";
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
