#pragma once
// Progress reporting and cooperative cancellation passed into every long job
// (the role of QgsFeedback in QGIS), free of Qt so the engine and its tests stay headless.
#include <atomic>
#include <functional>
#include <mutex>
#include <string>

namespace mqb {

class Feedback {
 public:
  // fraction in [0, 1]; stage is a short human-readable label ("sliding window 12/48").
  using ProgressCallback = std::function<void(double fraction, const std::string& stage)>;

  Feedback() = default;
  explicit Feedback(ProgressCallback cb) : callback_(std::move(cb)) {}
  Feedback(const Feedback&) = delete;
  Feedback& operator=(const Feedback&) = delete;

  void setProgressCallback(ProgressCallback cb) {
    std::lock_guard<std::mutex> lock(mutex_);
    callback_ = std::move(cb);
  }
  void cancel() { canceled_.store(true); }
  bool isCanceled() const { return canceled_.load(); }
  // Throws mqb::Canceled when cancel() was called (from any thread).
  void throwIfCanceled() const;
  void report(double fraction, const std::string& stage = {});
  double progress() const { return progress_.load(); }

 private:
  std::atomic<bool> canceled_{false};
  std::atomic<double> progress_{0.0};
  std::mutex mutex_;
  ProgressCallback callback_;
};

// Maps a sub-job's own [0,1] progress into [begin,end] of a parent Feedback, so nested
// stages (preprocess -> windows -> resample) report one monotone bar. A null parent is allowed.
class FeedbackStage {
 public:
  FeedbackStage(Feedback* parent, double begin, double end, std::string label)
      : parent_(parent), begin_(begin), end_(end), label_(std::move(label)) {}
  void report(double fraction, const std::string& detail = {}) const;
  void throwIfCanceled() const {
    if (parent_) parent_->throwIfCanceled();
  }
  Feedback* parent() const { return parent_; }
  FeedbackStage sub(double begin, double end, const std::string& label) const;

 private:
  Feedback* parent_;
  double begin_, end_;
  std::string label_;
};

}  // namespace mqb
