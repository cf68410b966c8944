// Dice and normalised surface Dice against values counted by hand (SPEC section 6), plus a
// brute-force cross-check of the cropped distance transform on random masks.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "support/Error.h"
#include "support/Feedback.h"
#include "io/LabelCoverage.h"
#include "metrics/SegmentationMetrics.h"

namespace mqb {
namespace {

LabelVolume makeVolume(std::array<int64_t, 3> size, std::array<double, 3> spacing = {1, 1, 1}) {
  LabelVolume v;
  v.geometry.size = size;
  v.geometry.spacing = spacing;
  v.voxels.assign(size_t(size[0] * size[1] * size[2]), 0);
  return v;
}

// Inclusive index box.
void fillBox(LabelVolume& v, std::array<int64_t, 3> lo, std::array<int64_t, 3> hi, uint8_t label) {
  for (int64_t z = lo[2]; z <= hi[2]; ++z)
    for (int64_t y = lo[1]; y <= hi[1]; ++y)
      for (int64_t x = lo[0]; x <= hi[0]; ++x) v.at(x, y, z) = label;
}

void fillBall(LabelVolume& v, std::array<double, 3> centre, double radius, uint8_t label) {
  const auto& n = v.geometry.size;
  for (int64_t z = 0; z < n[2]; ++z)
    for (int64_t y = 0; y < n[1]; ++y)
      for (int64_t x = 0; x < n[0]; ++x) {
        const double dx = x - centre[0], dy = y - centre[1], dz = z - centre[2];
        if (dx * dx + dy * dy + dz * dz <= radius * radius) v.at(x, y, z) = label;
      }
}

// The definition of SPEC section 6 evaluated literally: every surface voxel against every
// surface voxel of the other mask. Quadratic, so only for small volumes.
double bruteForceNsd(const LabelVolume& pred, const LabelVolume& ref, uint8_t label, double tau) {
  const auto& n = ref.geometry.size;
  const auto& sp = ref.geometry.spacing;
  auto surface = [&](const LabelVolume& v) {
    std::vector<std::array<int64_t, 3>> pts;
    auto in = [&](int64_t x, int64_t y, int64_t z) {
      return x >= 0 && y >= 0 && z >= 0 && x < n[0] && y < n[1] && z < n[2] && v.at(x, y, z) == label;
    };
    for (int64_t z = 0; z < n[2]; ++z)
      for (int64_t y = 0; y < n[1]; ++y)
        for (int64_t x = 0; x < n[0]; ++x) {
          if (!in(x, y, z)) continue;
          const bool border = x == 0 || y == 0 || z == 0 || x == n[0] - 1 || y == n[1] - 1 || z == n[2] - 1;
          if (border || !in(x - 1, y, z) || !in(x + 1, y, z) || !in(x, y - 1, z) || !in(x, y + 1, z) ||
              !in(x, y, z - 1) || !in(x, y, z + 1))
            pts.push_back({x, y, z});
        }
    return pts;
  };
  const auto sp_ = surface(pred), sg = surface(ref);
  if (sp_.empty() && sg.empty()) return std::numeric_limits<double>::quiet_NaN();
  if (sp_.empty() || sg.empty()) return 0.0;
  auto within = [&](const std::vector<std::array<int64_t, 3>>& from, const std::vector<std::array<int64_t, 3>>& to) {
    int64_t count = 0;
    for (const auto& a : from) {
      double best = std::numeric_limits<double>::infinity();
      for (const auto& b : to) {
        double d2 = 0;
        for (int i = 0; i < 3; ++i) {
          const double d = double(a[i] - b[i]) * sp[i];
          d2 += d * d;
        }
        best = std::min(best, d2);
      }
      if (best <= tau * tau * (1 + 1e-9)) ++count;
    }
    return count;
  };
  return double(within(sp_, sg) + within(sg, sp_)) / double(sp_.size() + sg.size());
}

TEST(SegmentationMetrics, IdenticalMasksScoreOne) {
  LabelVolume a = makeVolume({20, 18, 16}, {0.8, 0.8, 2.5});
  fillBall(a, {9, 8, 7}, 5.5, 3);
  EXPECT_DOUBLE_EQ(diceCoefficient(a, a, 3), 1.0);
  EXPECT_DOUBLE_EQ(normalizedSurfaceDice(a, a, 3, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(normalizedSurfaceDice(a, a, 3, 2.0), 1.0);
}

TEST(SegmentationMetrics, DisjointFarApartMasksScoreZero) {
  LabelVolume p = makeVolume({40, 40, 40}), g = makeVolume({40, 40, 40});
  fillBox(p, {1, 1, 1}, {5, 5, 5}, 1);
  fillBox(g, {30, 30, 30}, {36, 36, 36}, 1);
  EXPECT_DOUBLE_EQ(diceCoefficient(p, g, 1), 0.0);
  EXPECT_DOUBLE_EQ(normalizedSurfaceDice(p, g, 1, 2.0), 0.0);
}

TEST(SegmentationMetrics, ToleranceReachesAcrossAGapExactlyAtItsWidth) {
  // Two 4x4x4 cubes with facing faces x=5 and x=9: 4 mm apart at 1 mm spacing. At tau=4
  // only the two facing 4x4 faces (16 + 16 surface voxels) are within tau, out of 56 + 56
  // surface voxels per cube (64 minus the 2x2x2 interior): NSD = 32/112 = 2/7.
  LabelVolume p = makeVolume({16, 8, 8}), g = makeVolume({16, 8, 8});
  fillBox(p, {2, 2, 2}, {5, 5, 5}, 1);
  fillBox(g, {9, 2, 2}, {12, 5, 5}, 1);
  EXPECT_DOUBLE_EQ(normalizedSurfaceDice(p, g, 1, 3.9), 0.0);
  EXPECT_DOUBLE_EQ(normalizedSurfaceDice(p, g, 1, 4.0), 2.0 / 7.0);
}

TEST(SegmentationMetrics, BothEmptyIsNaNOneEmptyIsZero) {
  LabelVolume p = makeVolume({8, 8, 8}), g = makeVolume({8, 8, 8});
  EXPECT_TRUE(std::isnan(diceCoefficient(p, g, 1)));
  EXPECT_TRUE(std::isnan(normalizedSurfaceDice(p, g, 1, 2.0)));
  fillBox(p, {2, 2, 2}, {4, 4, 4}, 1);
  EXPECT_DOUBLE_EQ(diceCoefficient(p, g, 1), 0.0);
  EXPECT_DOUBLE_EQ(normalizedSurfaceDice(p, g, 1, 2.0), 0.0);
  EXPECT_DOUBLE_EQ(diceCoefficient(g, p, 1), 0.0);
  EXPECT_DOUBLE_EQ(normalizedSurfaceDice(g, p, 1, 2.0), 0.0);
}

TEST(SegmentationMetrics, SkippedOrgansAreExcludedFromTheMean) {
  LabelVolume p = makeVolume({12, 12, 12}), g = makeVolume({12, 12, 12});
  fillBox(p, {1, 1, 1}, {4, 4, 4}, 1);  // organ 1: identical -> 1, 1
  fillBox(g, {1, 1, 1}, {4, 4, 4}, 1);
  fillBox(p, {7, 7, 7}, {9, 9, 9}, 3);  // organ 3: predicted only -> 0, 0
  const ClassList classes{{0, "background", {}}, {1, "spleen", {}}, {2, "kidney", {}}, {3, "liver", {}}};
  const SegmentationScores s = scoreSegmentation(p, g, classes, 2.0);
  ASSERT_EQ(s.organs.size(), 3u);  // background is not scored
  EXPECT_EQ(s.organs[0].id, 1);
  EXPECT_EQ(s.organs[0].name, "spleen");
  EXPECT_DOUBLE_EQ(s.organs[0].dsc, 1.0);
  EXPECT_DOUBLE_EQ(s.organs[0].nsd, 1.0);
  EXPECT_EQ(s.organs[0].predictedVoxels, 64);
  EXPECT_EQ(s.organs[0].referenceVoxels, 64);
  EXPECT_TRUE(std::isnan(s.organs[1].dsc));  // organ 2 absent from both
  EXPECT_TRUE(std::isnan(s.organs[1].nsd));
  EXPECT_EQ(s.organs[2].predictedVoxels, 27);
  EXPECT_EQ(s.organs[2].referenceVoxels, 0);
  EXPECT_DOUBLE_EQ(s.organs[2].dsc, 0.0);
  EXPECT_DOUBLE_EQ(s.organs[2].nsd, 0.0);
  EXPECT_DOUBLE_EQ(s.meanDsc, 0.5);  // (1 + 0) / 2, not (1 + 0) / 3
  EXPECT_DOUBLE_EQ(s.meanNsd, 0.5);
  EXPECT_DOUBLE_EQ(s.toleranceMm, 2.0);

  const SegmentationScores none = scoreSegmentation(p, g, {{0, "background", {}}, {2, "kidney", {}}}, 2.0);
  EXPECT_TRUE(std::isnan(none.meanDsc));
  EXPECT_TRUE(std::isnan(none.meanNsd));
}

// A 4x4x4 cube P at x=2..5 against the same cube G shifted by one voxel, x=3..6.
//
// DSC: |P| = |G| = 64, |P ∩ G| = 3 x 16 = 48, so DSC = 96 / 128 = 0.75.
//
// NSD: each cube has 64 - 8 (its 2x2x2 interior) = 56 surface voxels. Split P's by their
// (y,z) column: 12 of the 16 columns lie on the side faces (y or z at the cube's edge),
// 4 are interior columns.
//  * side columns, 4 voxels each: the 3 that overlap G lie on G's side faces too -> d = 0
//    (36 voxels); the one at P's low x end is one step along the shift axis from G's
//    low-x face -> d = 1 step (12 voxels).
//  * interior columns, only the two end voxels are surface: the low-x one is one step
//    along the shift axis from G's low-x face (4 voxels, d = 1 step); the high-x one is
//    inside G, one step along the shift axis from G's high-x face but also one in-plane
//    step from G's side face -> d = min(shift spacing, in-plane spacing) (4 voxels).
// By symmetry G's surface has the same distances to P's. With the shift along x and
// spacing (2,1,1): 36 at 0 mm, 4 at 1 mm, 16 at 2 mm, for each cube, so
//   tau 0.5 -> (36+36)/112 = 9/14,  tau 1 -> (40+40)/112 = 5/7,  tau 2 and 3 -> 1.
TEST(SegmentationMetrics, CubeShiftedAlongXWithAnisotropicSpacing) {
  LabelVolume p = makeVolume({10, 8, 8}, {2, 1, 1}), g = makeVolume({10, 8, 8}, {2, 1, 1});
  fillBox(p, {2, 2, 2}, {5, 5, 5}, 7);
  fillBox(g, {3, 2, 2}, {6, 5, 5}, 7);
  EXPECT_DOUBLE_EQ(diceCoefficient(p, g, 7), 0.75);
  EXPECT_DOUBLE_EQ(normalizedSurfaceDice(p, g, 7, 0.0), 9.0 / 14.0);
  EXPECT_DOUBLE_EQ(normalizedSurfaceDice(p, g, 7, 0.5), 9.0 / 14.0);
  EXPECT_DOUBLE_EQ(normalizedSurfaceDice(p, g, 7, 1.0), 5.0 / 7.0);
  EXPECT_DOUBLE_EQ(normalizedSurfaceDice(p, g, 7, 1.99), 5.0 / 7.0);
  EXPECT_DOUBLE_EQ(normalizedSurfaceDice(p, g, 7, 2.0), 1.0);
  EXPECT_DOUBLE_EQ(normalizedSurfaceDice(p, g, 7, 3.0), 1.0);
  // The score is symmetric in prediction and reference.
  EXPECT_DOUBLE_EQ(normalizedSurfaceDice(g, p, 7, 1.0), 5.0 / 7.0);
}

// The same one-voxel shift, along z with 3 mm slices and 1 mm in-plane: per cube 36
// surface voxels at 0 mm, 4 at 1 mm (in-plane step to the side face), 16 at 3 mm. The
// SPEC default tau = 2 mm does not bridge one slice, tau = 3 mm does.
TEST(SegmentationMetrics, ShiftAcrossThickSlicesDependsOnSliceSpacing) {
  LabelVolume p = makeVolume({8, 8, 10}, {1, 1, 3}), g = makeVolume({8, 8, 10}, {1, 1, 3});
  fillBox(p, {2, 2, 2}, {5, 5, 5}, 2);
  fillBox(g, {2, 2, 3}, {5, 5, 6}, 2);
  EXPECT_DOUBLE_EQ(diceCoefficient(p, g, 2), 0.75);
  EXPECT_DOUBLE_EQ(normalizedSurfaceDice(p, g, 2, 0.5), 9.0 / 14.0);
  EXPECT_DOUBLE_EQ(normalizedSurfaceDice(p, g, 2, 2.0), 5.0 / 7.0);
  EXPECT_DOUBLE_EQ(normalizedSurfaceDice(p, g, 2, 3.0), 1.0);
}

// P fills a whole 4x4x4 image, G all of it but the x=0 slab (48 voxels).
// DSC = 2*48 / (64+48) = 6/7.
// P's surface is the image border, 56 voxels (only the 2x2x2 centre is interior); without
// the border rule P would have no surface at all. G's surface: its faces x=1 (next to the
// removed slab) and x=3, y=0, y=3, z=0, z=3 (image border) = 48 - 4 interior = 44 voxels.
// P's 16 voxels at x=0 are 1 mm from G's face x=1, its other 40 surface voxels are on G's
// surface; G's 4 voxels (1, 1..2, 1..2) are 1 mm from P's x=0 face, its other 40 are on
// P's surface. tau 0.5 -> (40+40)/(56+44) = 0.8, tau 1 -> 1.
TEST(SegmentationMetrics, ImageBorderCountsAsSurface) {
  LabelVolume p = makeVolume({4, 4, 4}), g = makeVolume({4, 4, 4});
  fillBox(p, {0, 0, 0}, {3, 3, 3}, 1);
  fillBox(g, {1, 0, 0}, {3, 3, 3}, 1);
  EXPECT_DOUBLE_EQ(diceCoefficient(p, g, 1), 6.0 / 7.0);
  EXPECT_DOUBLE_EQ(normalizedSurfaceDice(p, g, 1, 0.5), 0.8);
  EXPECT_DOUBLE_EQ(normalizedSurfaceDice(p, g, 1, 1.0), 1.0);
}

TEST(SegmentationMetrics, MatchesBruteForceOnRandomMasks) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const std::array<int64_t, 3> size{14, 12, 9};
  const std::array<double, 3> spacing{0.7, 1.3, 2.5};
  for (int trial = 0; trial < 12; ++trial) {
    LabelVolume p = makeVolume(size, spacing), g = makeVolume(size, spacing);
    // Overlapping balls, some cut by the image border, plus a few stray voxels, so the
    // masks have holes, several components and border surfaces.
    for (LabelVolume* v : {&p, &g})
      for (int b = 0; b < 3; ++b)
        fillBall(*v, {unit(rng) * 14, unit(rng) * 12, unit(rng) * 9}, 1.5 + 3 * unit(rng), 5);
    for (int k = 0; k < 20; ++k) p.voxels[size_t(unit(rng) * double(p.voxels.size()))] = uint8_t(k % 2 ? 5 : 0);
    for (double tau : {0.0, 0.7, 1.0, 1.3, 2.0, 2.5, 3.1, 6.0}) {
      SCOPED_TRACE("trial " + std::to_string(trial) + " tau " + std::to_string(tau));
      EXPECT_NEAR(normalizedSurfaceDice(p, g, 5, tau), bruteForceNsd(p, g, 5, tau), 1e-12);
    }
  }
}

TEST(SegmentationMetrics, DifferentGridsAreRefused) {
  LabelVolume p = makeVolume({8, 8, 8}), g = makeVolume({8, 8, 9});
  EXPECT_THROW(diceCoefficient(p, g, 1), Error);
  EXPECT_THROW(normalizedSurfaceDice(p, g, 1, 2.0), Error);
  EXPECT_THROW(scoreSegmentation(p, g, {{1, "liver", {}}}, 2.0), Error);

  LabelVolume h = makeVolume({8, 8, 8}, {1, 1, 2});
  EXPECT_THROW(diceCoefficient(p, h, 1), Error);
  LabelVolume shifted = makeVolume({8, 8, 8});
  shifted.geometry.origin = {0, 0, 5};
  EXPECT_THROW(normalizedSurfaceDice(p, shifted, 1, 2.0), Error);
  try {
    scoreSegmentation(p, g, {{1, "liver", {}}}, 2.0);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("same voxel grid"), std::string::npos) << e.what();
  }

  LabelVolume truncated = makeVolume({8, 8, 8});
  truncated.voxels.resize(100);
  EXPECT_THROW(diceCoefficient(p, truncated, 1), Error);
}

TEST(SegmentationMetrics, InvalidToleranceIsRefused) {
  LabelVolume p = makeVolume({8, 8, 8});
  for (double tau : {-0.5, std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
    EXPECT_THROW(normalizedSurfaceDice(p, p, 1, tau), Error) << tau;
    EXPECT_THROW(scoreSegmentation(p, p, {{1, "liver", {}}}, tau), Error) << tau;
  }
  EXPECT_THROW(scoreSegmentation(p, p, {{300, "nonsense", {}}}, 2.0), Error);
}

TEST(SegmentationMetrics, ReportsProgressPerOrganAndHonoursCancellation) {
  LabelVolume p = makeVolume({12, 12, 12});
  fillBox(p, {1, 1, 1}, {4, 4, 4}, 1);
  fillBox(p, {6, 6, 6}, {9, 9, 9}, 2);
  std::vector<std::string> stages;
  double last = -1;
  bool monotone = true;
  Feedback fb([&](double f, const std::string& stage) {
    monotone = monotone && f >= last;
    last = f;
    stages.push_back(stage);
  });
  scoreSegmentation(p, p, {{0, "background", {}}, {1, "spleen", {}}, {2, "liver", {}}}, 2.0, &fb);
  EXPECT_TRUE(monotone);
  EXPECT_DOUBLE_EQ(fb.progress(), 1.0);
  auto mentions = [&](const std::string& word) {
    for (const auto& s : stages)
      if (s.find(word) != std::string::npos) return true;
    return false;
  };
  EXPECT_TRUE(mentions("spleen"));
  EXPECT_TRUE(mentions("liver"));

  Feedback canceled;
  canceled.cancel();
  EXPECT_THROW(scoreSegmentation(p, p, {{1, "spleen", {}}}, 2.0, &canceled), Canceled);
}

// One large organ is one step of the per-organ loop, but its surface marking and distance
// transforms take about a second on a 256^3 grid: a cancel arriving inside it stops it
// within a fraction of a second (issue 13: Cancel takes effect within 2 s).
TEST(SegmentationMetrics, CancelInsideOneLargeOrganStopsPromptly) {
  LabelVolume ref = makeVolume({256, 256, 256});
  LabelVolume pred = makeVolume({256, 256, 256});
  fillBall(ref, {128, 128, 128}, 110, 1);
  fillBall(pred, {130, 127, 128}, 108, 1);
  const ClassList classes{{0, "background", {}}, {1, "liver", {}}};
  Feedback feedback;
  // Cancel once the per-organ step has begun (its progress report), after a short delay.
  std::chrono::steady_clock::time_point canceledAt;
  std::thread canceler;
  feedback.setProgressCallback([&](double, const std::string& stage) {
    if (stage.find("liver") == std::string::npos || canceler.joinable()) return;
    canceler = std::thread([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      canceledAt = std::chrono::steady_clock::now();
      feedback.cancel();
    });
  });
  std::optional<SegmentationScores> scores;
  EXPECT_THROW(scores = scoreSegmentation(pred, ref, classes, 2.0, &feedback), Canceled);
  ASSERT_TRUE(canceler.joinable());
  canceler.join();
  const double latency = std::chrono::duration<double>(std::chrono::steady_clock::now() - canceledAt).count();
  EXPECT_LT(latency, 0.3);
  EXPECT_FALSE(scores.has_value());

  // The same organ scored without a cancel takes long enough for the cancel to land inside.
  const auto t0 = std::chrono::steady_clock::now();
  const SegmentationScores full = scoreSegmentation(pred, ref, classes, 2.0);
  const double uncancelled = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("one 256^3 organ: stopped %.4f s after the cancel (%.2f s uncancelled)\n", latency, uncancelled);
  EXPECT_GT(uncancelled, 0.2);
  EXPECT_GT(full.organs[0].dsc, 0.9);  // two nearly equal balls: a real score came out
}

}  // namespace
}  // namespace mqb

TEST(LabelCoverage, IdsWithoutAClassAreNamedWithTheFix) {
  using namespace mqb;
  LabelVolume l;
  l.geometry.size = {4, 1, 1};
  l.voxels = {0, 1, 52, 63};
  const ClassList classes = {{0, "background", {0, 0, 0}}, {1, "spleen", {255, 0, 0}}};
  EXPECT_EQ(idsWithoutClass(l, classes), (std::vector<int>{52, 63}));
  const std::string message = describeIdsWithoutClass(l, classes, "gt.nii.gz");
  EXPECT_NE(message.find("gt.nii.gz"), std::string::npos);
  EXPECT_NE(message.find("52, 63"), std::string::npos);
  EXPECT_NE(message.find("--label-map"), std::string::npos);
  l.voxels = {0, 1, 1, 0};
  EXPECT_TRUE(describeIdsWithoutClass(l, classes, "gt.nii.gz").empty());
  EXPECT_TRUE(describeIdsWithoutClass(l, {}, "gt.nii.gz").empty()) << "no class list: nothing to compare";
}
