#include "quant/Calibrator.h"

#include "runtime/CancelPoint.h"
#include "support/Error.h"
#include "support/Feedback.h"
#include "support/JsonField.h"
#include "quant/ReductionGroups.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <sstream>

namespace mqb::quant {

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr const char* kFormat = "mqb-calibrator";
constexpr int kVersion = 1;

nlohmann::json extremesToJson(const std::vector<float>& values) {
  nlohmann::json out = nlohmann::json::array();
  for (float v : values) out.push_back(std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr));
  return out;
}

std::vector<float> extremesFromJson(const nlohmann::json& j, float empty) {
  std::vector<float> out;
  for (const auto& v : j) out.push_back(v.is_null() ? empty : v.get<float>());
  return out;
}

}  // namespace

Calibrator::Calibrator(CalibratorOptions options) : options_(options), tensor_(options.binsPerSide) {
  if (options_.axis < kPerTensor) throw Error("calibration: invalid channel axis");
}

const Feedback* cancelWatch(const Feedback* feedback) { return feedback ? feedback : watchedFeedback(); }

void Calibrator::observe(const torch::Tensor& input, const Feedback* feedbackArg) {
  const Feedback* feedback = cancelWatch(feedbackArg);
  if (feedback) feedback->throwIfCanceled();
  const torch::Tensor x = contiguousFloat32(input, "calibration");
  const GroupLayout layout = GroupLayout::of(x, options_.axis);
  if (batches_ > 0 && layout.channels != groups()) {
    throw Error("calibration: a batch has " + std::to_string(layout.channels) + " channels along axis " +
                std::to_string(options_.axis) + ", earlier ones had " + std::to_string(groups()));
  }
  // The batch goes into copies of the statistics (a few hundred KiB at most, small next to
  // the batch itself), committed once all of it is in: a cancel leaves them as they were.
  std::vector<float> lo = batches_ == 0 ? std::vector<float>(static_cast<size_t>(layout.channels), kInf) : min_;
  std::vector<float> hi = batches_ == 0 ? std::vector<float>(static_cast<size_t>(layout.channels), -kInf) : max_;
  Histogram tensor = tensor_;
  tensor.add(x, feedback);
  std::vector<Histogram> channels;
  if (options_.axis == kPerTensor) {
    // The histogram already tracks the exact extremes of the one group.
    lo[0] = tensor.min();
    hi[0] = tensor.max();
  } else {
    const GroupMinMax extremes = groupMinMax(x, options_.axis);
    for (size_t g = 0; g < lo.size(); ++g) {
      lo[g] = std::min(lo[g], extremes.min[g]);
      hi[g] = std::max(hi[g], extremes.max[g]);
    }
    if (options_.channelHistograms) {
      channels = batches_ == 0
                     ? std::vector<Histogram>(static_cast<size_t>(layout.channels), Histogram(options_.binsPerSide))
                     : channels_;
      const float* base = x.data_ptr<float>();
      at::parallel_for(0, layout.channels, 1, [&](int64_t begin, int64_t end) {
        for (int64_t c = begin; c < end; ++c)
          channels[static_cast<size_t>(c)].add(base + c * layout.inner, layout.outer, layout.inner,
                                               layout.channels * layout.inner, feedback);
      });
    }
  }
  if (feedback) feedback->throwIfCanceled();
  min_ = std::move(lo);
  max_ = std::move(hi);
  tensor_ = std::move(tensor);
  channels_ = std::move(channels);
  ++batches_;
}

bool Calibrator::hasGroupHistograms() const { return options_.axis == kPerTensor || !channels_.empty(); }

const Histogram& Calibrator::groupHistogram(int64_t group) const {
  requireData();
  if (group < 0 || group >= groups()) throw Error("calibration: group " + std::to_string(group) + " does not exist");
  if (options_.axis == kPerTensor) return tensor_;
  if (channels_.empty())
    throw Error("calibration: per-channel histograms were not kept (CalibratorOptions::channelHistograms)");
  return channels_[static_cast<size_t>(group)];
}

void Calibrator::requireData() const {
  if (batches_ == 0) throw Error("calibration: no calibration data has been observed");
}

std::vector<float> Calibrator::amax(const CalibrationMethod& method, int bits, const Feedback* feedbackArg) const {
  const Feedback* feedback = cancelWatch(feedbackArg);
  requireData();
  checkBits(bits);
  const int64_t n = groups();
  std::vector<float> out(static_cast<size_t>(n), 0.0f);
  if (method.kind == CalibrationKind::MinMax) {
    for (size_t g = 0; g < out.size(); ++g)
      if (min_[g] <= max_[g]) out[g] = std::max(std::fabs(min_[g]), std::fabs(max_[g]));
    return out;
  }
  if (!hasGroupHistograms()) groupHistogram(0);  // throws the explanation
  // Entropy costs milliseconds per group: spread the channels over the threads.
  at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
    for (int64_t g = begin; g < end; ++g) {
      if (feedback) feedback->throwIfCanceled();
      const Histogram& h = groupHistogram(g);
      float& a = out[static_cast<size_t>(g)];
      switch (method.kind) {
        case CalibrationKind::Percentile: a = percentileAmax(h, method.percentile); break;
        case CalibrationKind::Mse: a = mseAmax(h, bits); break;
        case CalibrationKind::Entropy: a = entropyAmax(h, bits); break;
        case CalibrationKind::MinMax: break;
      }
    }
  });
  return out;
}

std::vector<ClipRange> Calibrator::ranges(const CalibrationMethod& method, int bits, const Feedback* feedbackArg) const {
  const Feedback* feedback = cancelWatch(feedbackArg);
  requireData();
  checkBits(bits);
  const int64_t n = groups();
  std::vector<ClipRange> out(static_cast<size_t>(n));
  if (method.kind == CalibrationKind::MinMax) {
    for (size_t g = 0; g < out.size(); ++g)
      if (min_[g] <= max_[g]) out[g] = {min_[g], max_[g]};
    return out;
  }
  if (!hasGroupHistograms()) groupHistogram(0);
  at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
    for (int64_t g = begin; g < end; ++g) {
      if (feedback) feedback->throwIfCanceled();
      const Histogram& h = groupHistogram(g);
      ClipRange& r = out[static_cast<size_t>(g)];
      switch (method.kind) {
        case CalibrationKind::Percentile: r = percentileRange(h, method.percentile); break;
        case CalibrationKind::Mse: r = mseRange(h, bits); break;
        case CalibrationKind::Entropy: r = entropyRange(h, bits); break;
        case CalibrationKind::MinMax: break;
      }
    }
  });
  return out;
}

QuantGrid Calibrator::grid(const CalibrationMethod& method, int bits, bool symmetric, const Feedback* feedback) const {
  if (symmetric) return QuantGrid::fromAmax(amax(method, bits, feedback), bits, options_.axis);
  const auto r = ranges(method, bits, feedback);
  std::vector<float> lo(r.size()), hi(r.size());
  for (size_t g = 0; g < r.size(); ++g) {
    lo[g] = r[g].min;
    hi[g] = r[g].max;
  }
  return QuantGrid::fromMinMax(lo, hi, bits, options_.axis);
}

nlohmann::json Calibrator::toJson() const {
  nlohmann::json channels = nlohmann::json::array();
  for (const auto& h : channels_) channels.push_back(h.toJson());
  return {{"format", kFormat},
          {"version", kVersion},
          {"axis", options_.axis},
          {"channelHistograms", options_.channelHistograms},
          {"binsPerSide", options_.binsPerSide},
          {"batches", batches_},
          {"min", extremesToJson(min_)},
          {"max", extremesToJson(max_)},
          {"tensorHistogram", tensor_.toJson()},
          {"groupHistograms", channels}};
}

Calibrator Calibrator::fromJson(const nlohmann::json& j) {
  try {
    // Integers through jsonAs: nlohmann's get<int>() of 1e20 is an undefined conversion.
    const char* source = "calibration JSON";
    if (j.at("format").get<std::string>() != kFormat || jsonAs<int>(j.at("version"), source, "version") != kVersion)
      throw Error("calibration JSON: not a version " + std::to_string(kVersion) + " calibrator");
    CalibratorOptions options;
    options.axis = jsonAs<int64_t>(j.at("axis"), source, "axis");
    options.channelHistograms = j.at("channelHistograms").get<bool>();
    options.binsPerSide = jsonAs<int>(j.at("binsPerSide"), source, "binsPerSide");
    Calibrator c(options);
    c.batches_ = jsonAs<int64_t>(j.at("batches"), source, "batches");
    c.min_ = extremesFromJson(j.at("min"), kInf);
    c.max_ = extremesFromJson(j.at("max"), -kInf);
    c.tensor_ = Histogram::fromJson(j.at("tensorHistogram"));
    for (const auto& h : j.at("groupHistograms")) c.channels_.push_back(Histogram::fromJson(h));
    const bool consistent = c.batches_ >= 0 && c.min_.size() == c.max_.size() && (c.batches_ == 0) == c.min_.empty() &&
                            (options.axis != kPerTensor || c.min_.size() <= 1) &&
                            (c.channels_.empty() || c.channels_.size() == c.min_.size()) &&
                            c.tensor_.binsPerSide() == options.binsPerSide;
    if (!consistent) throw Error("calibration JSON: group counts do not match");
    return c;
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("calibration JSON: ") + e.what());
  }
}

}  // namespace mqb::quant
