// 3D surface extraction (widgets/SurfaceView::extract) under a core Feedback: it reports its
// stages and stops when canceled, so a new run or closing the window does not leave a pool
// thread extracting surfaces nobody will see.
#include <gtest/gtest.h>

#include <vtkPolyData.h>

#include <string>
#include <vector>

#include "support/Error.h"
#include "support/Feedback.h"
#include "SurfaceView.h"

namespace mqb {
namespace {

LabelVolume twoOrgans() {
  LabelVolume l;
  l.geometry.size = {24, 24, 24};
  l.voxels.assign(24 * 24 * 24, 0);
  for (int z = 4; z < 12; ++z)
    for (int y = 4; y < 12; ++y)
      for (int x = 4; x < 12; ++x) l.at(x, y, z) = 1;
  for (int z = 14; z < 20; ++z)
    for (int y = 14; y < 20; ++y)
      for (int x = 14; x < 20; ++x) l.at(x, y, z) = 2;
  return l;
}

std::array<bool, 256> allVisible() {
  std::array<bool, 256> v{};
  v.fill(true);
  return v;
}

TEST(SurfaceExtraction, ReportsItsStagesToTheFeedback) {
  std::vector<std::string> stages;
  Feedback feedback([&](double, const std::string& stage) { stages.push_back(stage); });
  const SurfaceView::Extraction e = SurfaceView::extract(twoOrgans(), allVisible(), &feedback);
  EXPECT_EQ(e.surfaces, 2);
  ASSERT_TRUE(e.poly);
  EXPECT_GT(e.poly->GetNumberOfPolys(), 0);
  ASSERT_FALSE(stages.empty());
  EXPECT_EQ(stages.back(), "surfaces: done");
  EXPECT_DOUBLE_EQ(feedback.progress(), 1.0);
}

TEST(SurfaceExtraction, ACanceledFeedbackStopsIt) {
  Feedback feedback;
  feedback.cancel();
  EXPECT_THROW(SurfaceView::extract(twoOrgans(), allVisible(), &feedback), Canceled);
}

TEST(SurfaceExtraction, CancelingDuringAStageStopsIt) {
  // Cancel from inside the work (as the GUI thread does from outside): the next check throws.
  Feedback feedback;
  feedback.setProgressCallback([&](double, const std::string& stage) {
    if (stage == "surfaces: flying edges") feedback.cancel();
  });
  EXPECT_THROW(SurfaceView::extract(twoOrgans(), allVisible(), &feedback), Canceled);
  EXPECT_LT(feedback.progress(), 1.0);
}

}  // namespace
}  // namespace mqb
