#include "quant/CalibrationData.h"

#include <optional>
#include <random>

#include "runtime/CancelPoint.h"
#include "support/Error.h"
#include "support/JsonField.h"
#include "inference/ParallelWindows.h"
#include "quant/QuantizedModel.h"

namespace mqb::quant {
namespace {

// Per-channel statistics keep smaller histograms than the per-tensor one: they exist for
// every channel of every conv input.
constexpr int kChannelBinsPerSide = 512;

class CalibrationObserver : public HookObserver {
 public:
  CalibrationObserver(CalibrationData& data, const Feedback* feedback) : data_(data), feedback_(feedback) {}
  void onInput(int op, int slot, const torch::Tensor& x) override {
    SlotStatistics& s = data_.slots[op][slot];
    // The statistics of a large activation take a good part of a second: checked inside.
    cancellableInForward([&] {
      s.perTensor->observe(x, feedback_);
      if (s.perChannel) s.perChannel->observe(x, feedback_);
    });
    if (also_) also_->onInput(op, slot, x);
  }
  void onOutput(int op, const torch::Tensor& y) override {
    if (also_) also_->onOutput(op, y);
  }
  void setAlso(HookObserver* also) { also_ = also; }

 private:
  CalibrationData& data_;
  const Feedback* feedback_;
  HookObserver* also_ = nullptr;
};

// An op input one patch's forward showed its hooks, copied, for a replay in patch order.
struct HookEvent {
  int op;
  int slot;
  torch::Tensor value;
};
using HookRecording = std::vector<HookEvent>;

// The forwards of several patches run at once through one graph; each thread's hooks go
// to that thread's recording, or straight to a live observer.
thread_local HookRecording* t_recording = nullptr;
thread_local HookObserver* t_live = nullptr;

class ThreadRoutedObserver : public HookObserver {
 public:
  void onInput(int op, int slot, const torch::Tensor& x) override {
    if (t_live)
      t_live->onInput(op, slot, x);
    else if (t_recording)
      t_recording->push_back({op, slot, x.clone()});
  }
  void onOutput(int op, const torch::Tensor& y) override {
    if (t_live) t_live->onOutput(op, y);  // outputs matter only to an "also" observer
  }
};

// Sets this thread's hook destination for one forward.
class RouteHooks {
 public:
  RouteHooks(HookRecording* recording, HookObserver* live) {
    t_recording = recording;
    t_live = live;
  }
  ~RouteHooks() {
    t_recording = nullptr;
    t_live = nullptr;
  }
};

}  // namespace

const SlotStatistics& CalibrationData::at(int op, int slot) const {
  if (op < 0 || op >= static_cast<int>(slots.size()) || slot < 0 || slot > 1 || !slots[op][slot].perTensor)
    throw Error("calibration data has no statistics for op " + std::to_string(op) + " input " + std::to_string(slot));
  return slots[op][slot];
}

std::vector<torch::Tensor> sampleCalibrationPatches(const PreparedVolume& pv, const torch::Tensor& labels,
                                                    const std::array<int64_t, 3>& patch, int count, uint32_t seed) {
  std::mt19937_64 rng(seed);
  const std::array<int64_t, 3> size{pv.input.size(2), pv.input.size(3), pv.input.size(4)};
  std::vector<int64_t> foreground;
  if (labels.defined()) {
    torch::Tensor fg = torch::nonzero(labels.flatten() > 0).flatten();
    foreground.assign(fg.data_ptr<int64_t>(), fg.data_ptr<int64_t>() + fg.numel());
  }
  std::vector<torch::Tensor> patches;
  for (int i = 0; i < count; ++i) {
    std::array<int64_t, 3> start{};
    const bool centred = !foreground.empty() && i % 2 == 0;
    if (centred) {
      // A random foreground voxel (model space, unpadded) at the patch centre, clamped inside.
      const int64_t idx = foreground[std::uniform_int_distribution<size_t>(0, foreground.size() - 1)(rng)];
      const int64_t H = pv.resampledSize[1], W = pv.resampledSize[2];
      const std::array<int64_t, 3> c{idx / (H * W) + pv.padBefore[0], (idx / W) % H + pv.padBefore[1],
                                     idx % W + pv.padBefore[2]};
      for (int a = 0; a < 3; ++a) start[a] = std::clamp<int64_t>(c[a] - patch[a] / 2, 0, size[a] - patch[a]);
    } else {
      for (int a = 0; a < 3; ++a) start[a] = std::uniform_int_distribution<int64_t>(0, size[a] - patch[a])(rng);
    }
    patches.push_back(pv.input.slice(2, start[0], start[0] + patch[0])
                          .slice(3, start[1], start[1] + patch[1])
                          .slice(4, start[2], start[2] + patch[2])
                          .contiguous());
  }
  return patches;
}

CalibrationData calibrate(const QuantizableGraph& graph, const std::vector<torch::Tensor>& patches, uint32_t seed,
                          const FeedbackStage& stage, const std::function<HookObserver*(size_t)>& alsoObserve,
                          size_t alsoObservedPatches) {
  if (patches.empty()) throw Error("calibration needs at least one patch");
  CalibrationData data;
  data.patches = static_cast<int>(patches.size());
  data.seed = seed;
  data.slots.resize(graph.ops().size());
  for (const QuantOp& op : graph.ops()) {
    data.opNames.push_back(op.name);
    for (int slot = 0; slot < op.activationSlots; ++slot) {
      data.slots[op.index][slot].perTensor = std::make_unique<Calibrator>(CalibratorOptions{});
      if (op.kind == OpKind::Conv || op.kind == OpKind::ConvTranspose) {
        CalibratorOptions o;
        o.axis = 1;
        o.binsPerSide = kChannelBinsPerSide;
        data.slots[op.index][slot].perChannel = std::make_unique<Calibrator>(o);
      }
    }
  }
  QuantConfig fp32;
  fp32.precision = Precision::fp32();
  ModelMetadata md;
  QuantizedModel observed(std::shared_ptr<const QuantizableGraph>(&graph, [](const QuantizableGraph*) {}), md, fp32,
                          nullptr);
  CalibrationObserver observer(data, stage.parent());
  ThreadRoutedObserver routed;
  observed.runtime().setObserver(&routed);
  const size_t n = patches.size();
  const size_t live = alsoObserve ? std::min(alsoObservedPatches, n) : 0;
  const int workers = windowWorkers();
  std::vector<HookRecording> recordings(n);
  // The job's Feedback, also when it reaches here only as this thread's watch: the worker
  // threads and the replay below must stop on it too.
  const Feedback* watch = stage.parent() ? stage.parent() : watchedFeedback();
  // With forwards on worker threads, the statistics on this thread run on one OpenMP
  // thread: the cores are busy with the forwards, and short parallel regions on an
  // oversubscribed machine mostly spin.
  std::optional<SingleIntraOpThread> oneThread;
  if (workers > 1) oneThread.emplace();
  auto produce = [&](size_t i) {
    if (i < live) return;  // run on the calling thread, next to its "also" observer
    RouteHooks route(&recordings[i], nullptr);
    runWatched(watch, [&] { observed.predict(patches[i]); });
  };
  auto consume = [&](size_t i) {
    if (i < live) {
      observer.setAlso(alsoObserve(i));
      RouteHooks route(nullptr, &observer);
      runWatched(watch, [&] { observed.predict(patches[i]); });
      observer.setAlso(nullptr);
    } else {
      runWatched(watch, [&] {
        for (const HookEvent& e : recordings[i]) observer.onInput(e.op, e.slot, e.value);
      });
      recordings[i] = {};
    }
    stage.report(double(i + 1) / n, std::to_string(i + 1) + "/" + std::to_string(n));
  };
  // Look-ahead one more than the workers: the statistics of a patch take about as long as
  // its forward, and each recording holds a copy of every quantized op input.
  runOrderedParallel(n, workers, produce, consume, watch, static_cast<size_t>(workers) + 1);
  observed.runtime().setObserver(nullptr);
  return data;
}

nlohmann::json CalibrationData::toJson() const {
  nlohmann::json ops = nlohmann::json::array();
  for (size_t i = 0; i < slots.size(); ++i) {
    nlohmann::json inputs = nlohmann::json::array();
    for (int s = 0; s < 2; ++s) {
      if (!slots[i][s].perTensor) continue;
      nlohmann::json js = {{"slot", s}, {"per_tensor", slots[i][s].perTensor->toJson()}};
      if (slots[i][s].perChannel) js["per_channel"] = slots[i][s].perChannel->toJson();
      inputs.push_back(js);
    }
    ops.push_back({{"name", opNames[i]}, {"inputs", inputs}});
  }
  return {{"format", "medquanbench-calibration"}, {"version", 1}, {"patches", patches}, {"seed", seed}, {"ops", ops}};
}

namespace {
// Calibrator/Histogram errors say "calibration JSON: [json.exception...] ..."; the user needs the
// file and the field instead.
std::string nestedReason(const std::string& what) {
  std::string r = what;
  for (const char* prefix : {"calibration JSON: ", "histogram JSON: "})
    if (r.rfind(prefix, 0) == 0) r = r.substr(std::string(prefix).size());
  if (r.rfind("[json.exception.", 0) == 0 && r.find("] ") != std::string::npos) r = r.substr(r.find("] ") + 2);
  return r;
}
}  // namespace

CalibrationData CalibrationData::fromJson(const nlohmann::json& j, const QuantizableGraph& graph,
                                          const std::string& source) {
  if (!j.is_object() || !j.contains("format") || !j["format"].is_string() ||
      j["format"].get<std::string>() != "medquanbench-calibration")
    throw Error(source + ": not a MedQuanBench calibration file (field \"format\" is not \"medquanbench-calibration\")");
  CalibrationData d;
  d.patches = jsonValue<int>(j, "patches", 0, source);
  d.seed = jsonValue<unsigned>(j, "seed", 0u, source);
  if (!j.contains("ops") || !j["ops"].is_array()) throw Error(source + ": field \"ops\" must be an array");
  const auto& ops = j["ops"];
  if (ops.size() != graph.ops().size())
    throw Error(source + ": calibration is for a model with " + std::to_string(ops.size()) +
                " quantizable ops; this model has " + std::to_string(graph.ops().size()));
  d.slots.resize(ops.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    const std::string opField = "ops[" + std::to_string(i) + "]";
    const std::string name = jsonRequire<std::string>(ops[i], "name", source, opField);
    if (name != graph.ops()[i].name)
      throw Error(source + ": op " + std::to_string(i) + " is '" + name + "' in the calibration file but '" +
                  graph.ops()[i].name + "' in the model");
    d.opNames.push_back(name);
    if (!ops[i].contains("inputs") || !ops[i]["inputs"].is_array())
      throw Error(source + ": field \"" + opField + ".inputs\" must be an array");
    int k = 0;
    for (const auto& in : ops[i]["inputs"]) {
      const std::string inField = opField + ".inputs[" + std::to_string(k++) + "]";
      const int s = jsonRequire<int>(in, "slot", source, inField);
      if (s < 0 || s > 1)
        throw Error(source + ": field \"" + inField + ".slot\" is " + std::to_string(s) + "; must be 0 or 1");
      for (const char* key : {"per_tensor", "per_channel"}) {
        if (!in.contains(key)) {
          if (std::string(key) == "per_tensor")
            throw Error(source + ": field \"" + inField + ".per_tensor\" is missing");
          continue;
        }
        try {
          auto c = std::make_unique<Calibrator>(Calibrator::fromJson(in[key]));
          (std::string(key) == "per_tensor" ? d.slots[i][s].perTensor : d.slots[i][s].perChannel) = std::move(c);
        } catch (const Error& e) {
          throw Error(source + ": field \"" + inField + "." + key + "\": " + nestedReason(e.what()));
        }
      }
    }
  }
  return d;
}

}  // namespace mqb::quant
