// The synthetic abdomen: reproducible, on the requested grid, organs where LPS puts them,
// with plausible volumes and attenuation.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <iostream>
#include <limits>
#include <set>

#include "support/Error.h"
#include "demo/Phantom.h"

namespace mqb {
namespace {

constexpr int kRequiredOrgans[] = {1, 2, 3, 4, 6, 7, 8, 9, 11};

struct OrganStats {
  int64_t voxels = 0;
  double meanHu = 0;
  int64_t interiorVoxels = 0;  // voxels whose 26 neighbours carry the same label
  double interiorMeanHu = 0;
  std::array<double, 3> centroid{0, 0, 0};  // voxel indices
  float minHu = std::numeric_limits<float>::infinity();
  float maxHu = -std::numeric_limits<float>::infinity();
};

OrganStats statsOf(const Phantom& p, int label) {
  OrganStats s;
  const auto& n = p.labels.geometry.size;
  for (int64_t z = 0; z < n[2]; ++z)
    for (int64_t y = 0; y < n[1]; ++y)
      for (int64_t x = 0; x < n[0]; ++x) {
        if (p.labels.at(x, y, z) != label) continue;
        const float hu = p.ct.at(x, y, z);
        ++s.voxels;
        s.meanHu += hu;
        s.centroid[0] += double(x), s.centroid[1] += double(y), s.centroid[2] += double(z);
        s.minHu = std::min(s.minHu, hu);
        s.maxHu = std::max(s.maxHu, hu);
        bool interior = x > 0 && y > 0 && z > 0 && x < n[0] - 1 && y < n[1] - 1 && z < n[2] - 1;
        for (int dz = -1; dz <= 1 && interior; ++dz)
          for (int dy = -1; dy <= 1 && interior; ++dy)
            for (int dx = -1; dx <= 1 && interior; ++dx) interior = p.labels.at(x + dx, y + dy, z + dz) == label;
        if (interior) ++s.interiorVoxels, s.interiorMeanHu += hu;
      }
  if (s.voxels) {
    s.meanHu /= double(s.voxels);
    for (double& c : s.centroid) c /= double(s.voxels);
  }
  if (s.interiorVoxels) s.interiorMeanHu /= double(s.interiorVoxels);
  return s;
}

PhantomOptions noiseless(uint32_t seed = 1) {
  PhantomOptions o;
  o.seed = seed;
  o.noiseSigmaHu = 0.0;
  return o;
}

TEST(Phantom, GeometryIsAsRequested) {
  const Phantom p = generateAbdominalPhantom();
  const ImageGeometry& g = p.ct.geometry;
  EXPECT_EQ(g.size, (std::array<int64_t, 3>{128, 112, 96}));
  EXPECT_EQ(g.spacing, (std::array<double, 3>{3, 3, 3}));
  EXPECT_EQ(g.direction, (std::array<double, 9>{1, 0, 0, 0, 1, 0, 0, 0, 1}));
  // Centred on the origin: voxel 0 sits half the extent (minus half a voxel) below it.
  EXPECT_DOUBLE_EQ(g.origin[0], -127 * 1.5);
  EXPECT_DOUBLE_EQ(g.origin[1], -111 * 1.5);
  EXPECT_DOUBLE_EQ(g.origin[2], -95 * 1.5);
  EXPECT_TRUE(p.labels.geometry.sameGrid(g));
  EXPECT_EQ(p.ct.voxels.size(), size_t(128 * 112 * 96));
  EXPECT_EQ(p.labels.voxels.size(), p.ct.voxels.size());

  PhantomOptions o;
  o.size = {96, 80, 24};
  o.spacing = {0.8, 0.9, 5.0};
  const Phantom q = generateAbdominalPhantom(o);
  EXPECT_EQ(q.ct.geometry.size, o.size);
  EXPECT_EQ(q.ct.geometry.spacing, o.spacing);
  EXPECT_EQ(q.labels.voxels.size(), size_t(96 * 80 * 24));
  for (int id : kRequiredOrgans) EXPECT_GT(statsOf(q, id).voxels, 0) << "organ " << id;
}

TEST(Phantom, SameSeedIsIdenticalOtherSeedsDiffer) {
  const Phantom a = generateAbdominalPhantom();
  const Phantom b = generateAbdominalPhantom();
  EXPECT_TRUE(a.ct.voxels == b.ct.voxels);
  EXPECT_TRUE(a.labels.voxels == b.labels.voxels);

  PhantomOptions other;
  other.seed = 2;
  const Phantom c = generateAbdominalPhantom(other);
  int64_t differentLabels = 0;
  for (size_t i = 0; i < a.labels.voxels.size(); ++i) differentLabels += a.labels.voxels[i] != c.labels.voxels[i];
  // Jittered positions and shapes move thousands of organ voxels, not a handful.
  EXPECT_GT(differentLabels, 5000);
  EXPECT_FALSE(a.ct.voxels == c.ct.voxels);
}

TEST(Phantom, NoiseHasTheRequestedSigmaAndLeavesTheAnatomyAlone) {
  const Phantom clean = generateAbdominalPhantom(noiseless());
  const Phantom noisy = generateAbdominalPhantom();  // sigma 12 HU
  EXPECT_TRUE(clean.labels.voxels == noisy.labels.voxels);
  double sum = 0, sum2 = 0;
  const size_t n = clean.ct.voxels.size();
  for (size_t i = 0; i < n; ++i) {
    const double d = double(noisy.ct.voxels[i]) - double(clean.ct.voxels[i]);
    sum += d, sum2 += d * d;
  }
  const double mean = sum / double(n), sigma = std::sqrt(sum2 / double(n) - mean * mean);
  // 1.4 M samples: the standard error of the mean is 0.01 HU, of sigma 0.007 HU.
  EXPECT_NEAR(mean, 0.0, 0.1);
  EXPECT_NEAR(sigma, 12.0, 0.1);
}

TEST(Phantom, OrgansHavePlausibleVolumes) {
  struct Range {
    int id;
    double minMl, maxMl;
  };
  // Adult ranges, widened for a synthetic body; the voxel is 27 mm^3.
  const Range ranges[] = {{1, 80, 500},   {2, 70, 300},  {3, 70, 300}, {4, 8, 80},   {5, 5, 60},
                          {6, 800, 2500}, {7, 120, 900}, {8, 40, 200}, {9, 40, 200}, {10, 4, 60},
                          {11, 25, 150},  {12, 1, 20},   {13, 1, 20}};
  for (uint32_t seed : {1u, 2u, 3u}) {
    const Phantom p = generateAbdominalPhantom(noiseless(seed));
    for (const Range& r : ranges) {
      const double ml = double(statsOf(p, r.id).voxels) * 27.0 / 1000.0;
      EXPECT_GE(ml, r.minMl) << "seed " << seed << " organ " << r.id;
      EXPECT_LE(ml, r.maxMl) << "seed " << seed << " organ " << r.id;
    }
  }
}

TEST(Phantom, OrgansHaveTheirHounsfieldUnits) {
  const Phantom p = generateAbdominalPhantom(noiseless());
  // Away from every boundary the blur has nothing to mix, so homogeneous organs keep
  // their design value exactly.
  const std::pair<int, double> homogeneous[] = {{1, 50}, {4, 10}, {6, 60}, {8, 200}, {9, 150}, {11, 45}};
  for (const auto& [id, hu] : homogeneous) {
    const OrganStats s = statsOf(p, id);
    ASSERT_GT(s.interiorVoxels, 20) << "organ " << id;
    EXPECT_NEAR(s.interiorMeanHu, hu, 0.01) << "organ " << id;
  }
  for (int kidney : {2, 3}) {  // cortex 35 HU around a 25 HU medulla
    const OrganStats s = statsOf(p, kidney);
    EXPECT_GE(s.interiorMeanHu, 25.0);
    EXPECT_LE(s.interiorMeanHu, 35.0);
  }
  // The stomach holds soft tissue and some air.
  const OrganStats stomach = statsOf(p, 7);
  EXPECT_LT(stomach.minHu, -800.0f);
  EXPECT_GT(stomach.meanHu, -250.0);
  EXPECT_LT(stomach.meanHu, 25.0);

  // Whole-organ means, partial volume included: contrast-filled vessels are brightest.
  const double aorta = statsOf(p, 8).meanHu, cava = statsOf(p, 9).meanHu, liver = statsOf(p, 6).meanHu;
  EXPECT_GT(aorta, cava);
  EXPECT_GT(cava, liver);
  EXPECT_NEAR(liver, 60.0, 8.0);

  // Air outside the body, bone (label 0) in the spine.
  EXPECT_FLOAT_EQ(p.ct.at(0, 0, 0), -1000.0f);
  const OrganStats background = statsOf(p, 0);
  EXPECT_GE(background.maxHu, 600.0f);
  EXPECT_GE(background.minHu, -1000.0f);
}

TEST(Phantom, AnatomyIsInLps) {
  const Phantom p = generateAbdominalPhantom(noiseless());
  const double midX = 0.5 * double(p.labels.geometry.size[0] - 1);
  const auto spleen = statsOf(p, 1).centroid, rightKidney = statsOf(p, 2).centroid,
             leftKidney = statsOf(p, 3).centroid, gallbladder = statsOf(p, 4).centroid, liver = statsOf(p, 6).centroid,
             stomach = statsOf(p, 7).centroid, aorta = statsOf(p, 8).centroid, cava = statsOf(p, 9).centroid;
  // x grows to the patient's left: right-sided organs sit at low x.
  EXPECT_LT(liver[0], midX);
  EXPECT_LT(rightKidney[0], midX);
  EXPECT_LT(gallbladder[0], midX);
  EXPECT_GT(spleen[0], midX);
  EXPECT_GT(leftKidney[0], midX);
  EXPECT_GT(stomach[0], midX);
  EXPECT_GT(aorta[0], cava[0]);
  // y grows posteriorly: kidneys and spleen behind the gallbladder, stomach and aorta.
  EXPECT_GT(rightKidney[1], gallbladder[1]);
  EXPECT_GT(leftKidney[1], stomach[1]);
  EXPECT_GT(spleen[1], stomach[1]);
  EXPECT_GT(rightKidney[1], aorta[1]);
  // z grows superiorly: the liver sits above the kidneys.
  EXPECT_GT(liver[2], rightKidney[2]);
  EXPECT_GT(liver[2], leftKidney[2]);
}

TEST(Phantom, ClassListIsBtcv) {
  const ClassList classes = phantomClasses();
  ASSERT_EQ(classes.size(), 14u);
  std::set<std::string> names;
  for (size_t i = 0; i < classes.size(); ++i) {
    EXPECT_EQ(classes[i].id, int(i));
    names.insert(classes[i].name);
  }
  EXPECT_EQ(names.size(), 14u);
  EXPECT_EQ(classes[1].name, "spleen");
  EXPECT_EQ(classes[2].name, "right kidney");
  EXPECT_EQ(classes[6].name, "liver");
  EXPECT_EQ(classes[9].name, "inferior vena cava");
  // Every label the phantom paints is in the list.
  const Phantom p = generateAbdominalPhantom(noiseless());
  for (uint8_t v : p.labels.voxels) ASSERT_LT(v, 14);
}

TEST(Phantom, InvalidOptionsAreRefused) {
  PhantomOptions o;
  o.size = {0, 10, 10};
  EXPECT_THROW(generateAbdominalPhantom(o), Error);
  o = {};
  o.spacing = {1, -1, 1};
  EXPECT_THROW(generateAbdominalPhantom(o), Error);
  o = {};
  o.noiseSigmaHu = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(generateAbdominalPhantom(o), Error);
  o.noiseSigmaHu = -1;
  EXPECT_THROW(generateAbdominalPhantom(o), Error);
}

TEST(Phantom, GenerationTimeIsReported) {
  const auto start = std::chrono::steady_clock::now();
  const Phantom p = generateAbdominalPhantom();
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::cout << "default phantom (" << p.ct.geometry.describe() << ") generated in " << ms << " ms\n";
  RecordProperty("generation_ms", std::to_string(ms));
  EXPECT_FALSE(p.ct.voxels.empty());
}

}  // namespace
}  // namespace mqb
