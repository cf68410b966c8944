#include "support/Feedback.h"

#include <algorithm>

#include "support/Error.h"

namespace mqb {

void Feedback::throwIfCanceled() const {
  if (isCanceled()) throw Canceled();
}

void Feedback::report(double fraction, const std::string& stage) {
  fraction = std::clamp(fraction, 0.0, 1.0);
  progress_.store(fraction);
  ProgressCallback cb;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    cb = callback_;
  }
  if (cb) cb(fraction, stage);
}

void FeedbackStage::report(double fraction, const std::string& detail) const {
  if (!parent_) return;
  fraction = std::clamp(fraction, 0.0, 1.0);
  parent_->report(begin_ + (end_ - begin_) * fraction, detail.empty() ? label_ : label_ + " " + detail);
}

FeedbackStage FeedbackStage::sub(double begin, double end, const std::string& label) const {
  const double span = end_ - begin_;
  return FeedbackStage(parent_, begin_ + span * begin, begin_ + span * end, label);
}

}  // namespace mqb
