#include "support/MultiStepFeedback.h"

#include <algorithm>

namespace mqb {

MultiStepFeedback::MultiStepFeedback(const FeedbackStage& parent, std::vector<Step> steps) : parent_(parent) {
  double total = 0;
  for (const auto& s : steps) total += std::max(0.0, s.weight);
  double at = 0;
  for (const auto& s : steps) {
    const double share = total > 0 ? std::max(0.0, s.weight) / total : 0.0;
    spans_.push_back({s.id, {at, std::min(1.0, at + share)}});
    at += share;
  }
}

FeedbackStage MultiStepFeedback::step(const std::string& id, const std::string& label) {
  double begin = cursor_, end = cursor_;
  for (const auto& s : spans_)
    if (s.first == id) {
      begin = std::max(cursor_, s.second.first);
      end = std::max(begin, s.second.second);
      break;
    }
  cursor_ = end;
  return parent_.sub(begin, end, label);
}

double MultiStepFeedback::beginOf(const std::string& id) const {
  for (const auto& s : spans_)
    if (s.first == id) return std::max(cursor_, s.second.first);
  return cursor_;
}

}  // namespace mqb
