#include "inference/SlidingWindowInference.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>

#include "runtime/CancelPoint.h"
#include "inference/ParallelWindows.h"
#include "support/Error.h"

namespace mqb {
namespace {
using Clock = std::chrono::steady_clock;
double secondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
}  // namespace

WindowPlan planWindows(const std::array<int64_t, 3>& size, const std::array<int64_t, 3>& patch, double overlap) {
  if (!(overlap >= 0.0 && overlap < 1.0)) throw Error("overlap must be in [0, 1)");
  std::array<std::vector<int64_t>, 3> axisStarts;
  for (int a = 0; a < 3; ++a) {
    if (size[a] < patch[a]) throw Error("volume smaller than the patch after padding");
    // Evenly spaced starts with step <= patch*(1-overlap), first at 0 and last flush with the end.
    const double maxStep = std::max(1.0, patch[a] * (1.0 - overlap));
    const int64_t steps = static_cast<int64_t>(std::ceil((size[a] - patch[a]) / maxStep)) + 1;
    const double actualStep = steps > 1 ? double(size[a] - patch[a]) / double(steps - 1) : 0.0;
    for (int64_t i = 0; i < steps; ++i) axisStarts[a].push_back(static_cast<int64_t>(std::llround(i * actualStep)));
  }
  WindowPlan plan;
  for (int64_t d : axisStarts[0])
    for (int64_t h : axisStarts[1])
      for (int64_t w : axisStarts[2]) plan.starts.push_back({d, h, w});
  return plan;
}

std::vector<int64_t> tileRange(int64_t size, int64_t patch, int64_t first, int64_t last) {
  if (size < patch) throw Error("volume smaller than the patch after padding");
  first = std::clamp<int64_t>(first, 0, size - 1);
  last = std::clamp<int64_t>(last, first + 1, size);
  const int64_t count = (last - first + patch - 1) / patch;
  int64_t start = first - (count * patch - (last - first)) / 2;
  std::vector<int64_t> starts;
  for (int64_t i = 0; i < count; ++i) starts.push_back(std::clamp<int64_t>(start + i * patch, 0, size - patch));
  starts.erase(std::unique(starts.begin(), starts.end()), starts.end());
  return starts;
}

torch::Tensor gaussianImportanceMap(const std::array<int64_t, 3>& patch, double sigmaScale) {
  std::array<torch::Tensor, 3> axes;
  for (int a = 0; a < 3; ++a) {
    const double sigma = patch[a] * sigmaScale;
    const double centre = (patch[a] - 1) / 2.0;
    torch::Tensor i = torch::arange(patch[a], torch::kFloat64);
    axes[a] = torch::exp(-(i - centre).pow(2) / (2.0 * sigma * sigma));
  }
  torch::Tensor map = axes[0].view({-1, 1, 1}) * axes[1].view({1, -1, 1}) * axes[2].view({1, 1, -1});
  map = map / map.max();
  // Corners of a 3D Gaussian underflow far below float precision; keep every voxel's
  // weight positive so the blend is defined everywhere (as nnU-Net does).
  const double smallestPositive = map.masked_select(map > 0).min().item<double>();
  map = map.clamp_min(std::max(smallestPositive, 1e-8));
  return map.to(torch::kFloat32);
}

WindowPlan planInference(const PreparedVolume& pv, const std::array<int64_t, 3>& patch,
                         const InferenceOptions& options) {
  const auto D = pv.input.size(2), H = pv.input.size(3), W = pv.input.size(4);
  WindowPlan plan = planWindows({D, H, W}, patch, options.overlap);
  const int ax = options.rangeAxis;
  if (options.depthRange) {
    if (ax < 0 || ax > 2) throw Error("inference range axis must be 0 (D), 1 (H) or 2 (W)");
    const int64_t lo = (*options.depthRange)[0] + pv.padBefore[ax];
    const int64_t hi = (*options.depthRange)[1] + pv.padBefore[ax];
    std::vector<std::array<int64_t, 3>> kept;
    if (options.previewSchedule) {
      const int64_t size = ax == 0 ? D : ax == 1 ? H : W;
      std::vector<int64_t> along = tileRange(size, patch[ax], lo, hi);
      for (const auto& s : plan.starts) {
        if (s[ax] != plan.starts.front()[ax]) continue;  // one in-plane layer of the plan
        for (int64_t a : along) {
          auto t = s;
          t[ax] = a;
          kept.push_back(t);
        }
      }
    } else {
      for (const auto& s : plan.starts)
        if (s[ax] < hi && s[ax] + patch[ax] > lo) kept.push_back(s);
    }
    plan.starts = std::move(kept);
  }
  return plan;
}

InferenceResult runSlidingWindow(PatchPredictor& model, const PreparedVolume& pv, const InferenceOptions& options,
                                 const FeedbackStage& stage) {
  const auto start = Clock::now();
  const ModelMetadata& md = model.metadata();
  const auto& patch = md.patchSize;
  const int64_t C = static_cast<int64_t>(md.classes.size());
  const auto D = pv.input.size(2), H = pv.input.size(3), W = pv.input.size(4);
  const WindowPlan plan = planInference(pv, patch, options);
  const int ax = options.rangeAxis;
  const int batch = std::max(1, options.windowBatch);
  ImageGeometry accGeometry;
  accGeometry.size = {W, H, D * C};
  checkAllocatable(accGeometry, 4.0, "logits buffer for model '" + md.name + "'");

  torch::NoGradGuard noGrad;
  const torch::Device device = model.device();
  torch::Tensor input = pv.input.to(device);
  torch::Tensor logits = torch::zeros({C, D, H, W}, torch::TensorOptions().dtype(torch::kFloat32).device(device));
  torch::Tensor importance = gaussianImportanceMap(patch).to(device);
  InferenceResult result;
  result.windows = static_cast<int>(plan.starts.size());
  const size_t n = plan.starts.size();
  const size_t units = (n + batch - 1) / batch;
  std::atomic<int64_t> forwardMicros{0};
  std::vector<torch::Tensor> outputs(units);
  auto produce = [&](size_t unit) {
    const size_t first = unit * batch, last = std::min(n, first + batch);
    std::vector<torch::Tensor> patches;
    for (size_t i = first; i < last; ++i) {
      const auto& s = plan.starts[i];
      patches.push_back(
          input.slice(2, s[0], s[0] + patch[0]).slice(3, s[1], s[1] + patch[1]).slice(4, s[2], s[2] + patch[2]));
    }
    torch::Tensor windowInput = patches.size() == 1 ? patches[0].contiguous() : torch::cat(patches, 0);
    const auto t0 = Clock::now();
    // Cancellation points in the graph end a long window early (runtime/CancelPoint.h).
    torch::Tensor out = runCancellable(stage.parent(), [&] { return model.predict(windowInput); });
    forwardMicros += std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
    if (out.dim() != 5 || out.size(0) != windowInput.size(0) || out.size(1) != C || out.size(2) != patch[0] ||
        out.size(3) != patch[1] || out.size(4) != patch[2])
      throw Error("model '" + md.name + "' returned a window output of unexpected shape");
    outputs[unit] = out;
  };
  auto accumulate = [&](size_t unit) {
    torch::Tensor out = std::move(outputs[unit]);
    const size_t first = unit * batch, last = std::min(n, first + batch);
    for (size_t i = first; i < last; ++i) {
      const auto& s = plan.starts[i];
      logits.slice(1, s[0], s[0] + patch[0])
          .slice(2, s[1], s[1] + patch[1])
          .slice(3, s[2], s[2] + patch[2])
          .addcmul_(out[static_cast<int64_t>(i - first)], importance);
    }
    stage.report(double(last) / double(n), "window " + std::to_string(last) + "/" + std::to_string(n));
  };
  // Windows on several threads only where the forward allows it and runs on the CPU.
  const int workers = model.allowsConcurrentPredict() && device.is_cpu() ? windowWorkers(options.windowWorkers) : 1;
  result.windowWorkers = runOrderedParallel(units, workers, produce, accumulate, stage.parent());
  // Summed over the workers: CPU-like time inside forwards, not wall time.
  result.forwardSeconds = double(forwardMicros.load()) * 1e-6;
  if (!torch::isfinite(logits).all().item<bool>())
    throw Error("model '" + md.name + "' produced NaN or infinite logits on this volume");

  // The Gaussian blend normalisation divides every class by the same positive weight,
  // which cannot change the argmax: it is skipped.
  torch::Tensor labels = logits.slice(1, pv.padBefore[0], pv.padBefore[0] + pv.resampledSize[0])
                             .slice(2, pv.padBefore[1], pv.padBefore[1] + pv.resampledSize[1])
                             .slice(3, pv.padBefore[2], pv.padBefore[2] + pv.resampledSize[2])
                             .argmax(0)
                             .to(torch::kUInt8)
                             .to(torch::kCPU)
                             .contiguous();
  logits = torch::Tensor();
  if (options.depthRange) {
    // Positions along the range axis no kept window reached stay background rather than an
    // argmax over zeros.
    torch::Tensor covered = torch::zeros({labels.size(ax)}, torch::kBool);
    for (const auto& s : plan.starts) {
      const int64_t a = std::max<int64_t>(0, s[ax] - pv.padBefore[ax]);
      const int64_t b = std::min<int64_t>(labels.size(ax), s[ax] + patch[ax] - pv.padBefore[ax]);
      if (b > a) covered.slice(0, a, b).fill_(true);
    }
    std::vector<int64_t> shape{1, 1, 1};
    shape[static_cast<size_t>(ax)] = labels.size(ax);
    labels.masked_fill_(covered.logical_not().view(shape), 0);
  }
  result.modelSpaceLabels = labels;
  result.labels = pv.toOriginalGrid(labels);
  result.seconds = secondsSince(start);
  return result;
}

InferenceResult segmentVolume(PatchPredictor& model, const ImageVolume& volume, const InferenceOptions& options,
                              Feedback* feedback) {
  const auto start = Clock::now();
  FeedbackStage all(feedback, 0.0, 1.0, "");
  PreparedVolume pv = prepareVolume(volume, model.metadata(), all.sub(0.0, 0.05, "preparing"));
  InferenceResult r = runSlidingWindow(model, pv, options, all.sub(0.05, 1.0, "inference"));
  r.seconds = secondsSince(start);
  return r;
}

}  // namespace mqb
