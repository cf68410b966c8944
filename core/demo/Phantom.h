#pragma once
// A synthetic contrast-enhanced abdominal CT with its organ label map, so the metrics,
// viewers and benchmarks can be exercised without patient data. Not anatomy-accurate:
// smooth, seed-jittered organ shapes in roughly the right places with roughly the right HU.
#include <array>
#include <cstdint>

#include "io/ClassInfo.h"
#include "io/Volume.h"

namespace mqb {

struct PhantomOptions {
  uint32_t seed = 1;                          // organ positions, sizes, shapes and the noise all follow from it
  std::array<int64_t, 3> size{128, 112, 96};  // x, y, z voxels
  std::array<double, 3> spacing{3, 3, 3};     // mm
  double noiseSigmaHu = 12.0;                 // standard deviation of the added white noise, >= 0
};

struct Phantom {
  ImageVolume ct;      // HU, air -1000
  LabelVolume labels;  // BTCV ids 1..13 (phantomClasses); 0 = everything else, bone included
};

// The 13 BTCV classes plus background (id 0), with the usual BTCV display colours, so
// the phantom can be scored and shown like a model's output.
ClassList phantomClasses();

// The abdomen fills the field of view whatever the size and spacing (the anatomy is
// scaled per axis to it), in LPS with identity direction, centred on the origin:
// x increases to the patient's left, y to posterior, z to superior.
// Deterministic for a given seed and options. Throws mqb::Error for invalid options.
Phantom generateAbdominalPhantom(const PhantomOptions& options = {});

}  // namespace mqb
