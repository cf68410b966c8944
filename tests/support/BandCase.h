#pragma once
// A phantom scaled to the HU bands the band model (TestModels.h) separates, with its
// expected label map: organs -> "low" (1), aorta / IVC -> "high" (2). Written to a fresh
// folder with the band model, for the end-to-end CLI suites.
#include <string>

namespace mqb::test {

struct BandCase {
  std::string dir, model, ct, truth;
};

BandCase makeBandCase();

}  // namespace mqb::test
