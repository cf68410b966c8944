#pragma once
// Progress of a job made of several weighted steps, some of which may be skipped (the role
// of QGIS's QgsProcessingMultiStepFeedback): each step gets the share of the parent's bar
// its weight says, in the order planned, so the overall bar never steps back whatever
// each step reports. Steps not planned (or asked for after a later one) get an empty span
// at the current position.
#include <string>
#include <utility>
#include <vector>

#include "support/Feedback.h"

namespace mqb {

class MultiStepFeedback {
 public:
  struct Step {
    std::string id;
    double weight = 1;
  };
  // Steps in the order they run; weights roughly proportional to their time (>= 0).
  MultiStepFeedback(const FeedbackStage& parent, std::vector<Step> steps);

  // The stage of step `id`, labelled `label`.
  FeedbackStage step(const std::string& id, const std::string& label);
  // Where step `id` begins on the parent's [0, 1] (for callers that place work before it).
  double beginOf(const std::string& id) const;
  const FeedbackStage& parent() const { return parent_; }

 private:
  FeedbackStage parent_;
  std::vector<std::pair<std::string, std::pair<double, double>>> spans_;
  double cursor_ = 0;  // end of the furthest step handed out
};

}  // namespace mqb
