#pragma once
// Calibration of static activation ranges (SPEC section 3): a Calibrator watches one
// quantized op input over many calibration batches and then gives an amax (symmetric) or
// a (min, max) (asymmetric) per reduction group, for any method and bit-width.
//
// The statistics are method-agnostic: exact running min/max per group, plus a bounded
// Histogram (see Histogram.h) of the whole tensor and, optionally, of every channel.
// One calibration pass therefore serves minmax, percentile, mse and entropy at W8A8,
// W4A4, ... alike, and the same histograms feed the analysis views. State is plain data
// and round-trips through JSON, so a calibration can be saved and reloaded.
// Not thread-safe: observe() from one thread (it parallelises internally).
#include "quant/CalibrationMethod.h"
#include "quant/ClipSearch.h"
#include "quant/Histogram.h"
#include "quant/QuantGrid.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace mqb {
class Feedback;
}

namespace mqb::quant {

struct CalibratorOptions {
  // kPerTensor, or the channel axis of per-channel calibration (1 for conv inputs).
  int64_t axis = kPerTensor;
  // Keep a histogram per channel (2 * binsPerSide * 8 bytes each), needed by percentile,
  // mse and entropy when calibrating per channel. Per-tensor always has its histogram.
  bool channelHistograms = true;
  int binsPerSide = Histogram::kDefaultBinsPerSide;
};

class Calibrator {
 public:
  explicit Calibrator(CalibratorOptions options = {});

  // One calibration batch. Every batch must have the same number of channels along the
  // axis (other dimensions may vary). Float32 CPU tensors; non-contiguous ones are copied.
  // `feedback` (optional, see cancelWatch below) is checked per channel and about every
  // million values; a cancelled observe throws mqb::Canceled and leaves the statistics
  // as they were.
  void observe(const torch::Tensor& x, const Feedback* feedback = nullptr);

  const CalibratorOptions& options() const { return options_; }
  int64_t batches() const { return batches_; }
  int64_t groups() const { return static_cast<int64_t>(min_.size()); }  // 0 before data
  // Exact finite extremes per group (+inf / -inf for a group that has seen none).
  const std::vector<float>& observedMin() const { return min_; }
  const std::vector<float>& observedMax() const { return max_; }

  // The whole tensor's histogram, whatever the granularity: what the analysis shows.
  const Histogram& tensorHistogram() const { return tensor_; }
  bool hasGroupHistograms() const;
  // The histogram of one group (the tensor histogram for per-tensor calibration).
  const Histogram& groupHistogram(int64_t group) const;

  // Symmetric result: amax per group. Throws mqb::Error before any data, for bits out of
  // range, or for a histogram method when per-channel histograms were not kept.
  // The clip searches (mse, entropy) cost milliseconds per group, seconds over a model's
  // channels: `feedback` is checked before every group (mqb::Canceled, no result).
  std::vector<float> amax(const CalibrationMethod& method, int bits, const Feedback* feedback = nullptr) const;
  // Asymmetric result: (min, max) per group; the grid later widens it to contain 0.
  std::vector<ClipRange> ranges(const CalibrationMethod& method, int bits, const Feedback* feedback = nullptr) const;
  // The static grid for fakeQuant(): per-tensor, or per-channel along options().axis.
  QuantGrid grid(const CalibrationMethod& method, int bits, bool symmetric = true,
                 const Feedback* feedback = nullptr) const;

  nlohmann::json toJson() const;
  static Calibrator fromJson(const nlohmann::json& j);

 private:
  void requireData() const;

  CalibratorOptions options_;
  int64_t batches_ = 0;
  std::vector<float> min_;
  std::vector<float> max_;
  Histogram tensor_;
  std::vector<Histogram> channels_;  // per-channel only, when options_.channelHistograms
};

// The Feedback a calibration step checks: `feedback` when given, else the one the calling
// thread's CancelScope watches (the running job's, in the CLI and the desktop app). Grids
// are computed deep inside a quantized model's construction, which has no Feedback of its
// own; the job's scope reaches them there.
const Feedback* cancelWatch(const Feedback* feedback);

}  // namespace mqb::quant
