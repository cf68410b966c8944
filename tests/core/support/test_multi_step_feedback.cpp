// MultiStepFeedback: one progress bar over weighted steps, some skipped, that never steps back.
#include "support/MultiStepFeedback.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

using namespace mqb;

TEST(MultiStepFeedbackTest, StepsShareTheBarByWeightInOrder) {
  std::vector<double> seen;
  Feedback fb([&](double f, const std::string&) { seen.push_back(f); });
  MultiStepFeedback steps(FeedbackStage(&fb, 0, 1, ""), {{"a", 1}, {"skipped", 0}, {"b", 3}});
  steps.step("a", "a").report(1.0);
  EXPECT_DOUBLE_EQ(seen.back(), 0.25);
  EXPECT_DOUBLE_EQ(steps.beginOf("b"), 0.25);
  steps.step("b", "b").report(0.5);
  EXPECT_DOUBLE_EQ(seen.back(), 0.625);
}

TEST(MultiStepFeedbackTest, NeverStepsBackWhenAStepComesLateOrIsUnplanned) {
  std::vector<double> seen;
  Feedback fb([&](double f, const std::string&) { seen.push_back(f); });
  MultiStepFeedback steps(FeedbackStage(&fb, 0.5, 1, ""), {{"a", 1}, {"b", 1}});
  steps.step("b", "b").report(1.0);  // b before a
  steps.step("a", "a").report(0.3);  // a's span is behind: it gets none
  steps.step("unplanned", "x").report(0.9);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_DOUBLE_EQ(seen[0], 1.0);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
}
