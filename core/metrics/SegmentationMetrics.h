#pragma once
// Per-organ Dice (DSC) and normalised surface Dice (NSD), exactly as defined in SPEC
// section 6, so every table, plot and export reports the same numbers.
#include <cstdint>
#include <string>
#include <vector>

#include "io/ClassInfo.h"
#include "io/Volume.h"

namespace mqb {

class Feedback;

// The tolerance the SPEC prescribes when the user does not choose one.
constexpr double kDefaultNsdToleranceMm = 2.0;

struct OrganScore {
  int id = 0;
  std::string name;
  double dsc = 0.0;  // NaN when the organ is absent from both masks (skipped)
  double nsd = 0.0;  // NaN when the organ is absent from both masks (skipped)
  int64_t predictedVoxels = 0;
  int64_t referenceVoxels = 0;
};

struct SegmentationScores {
  std::vector<OrganScore> organs;  // in the order of the class list, background excluded
  double meanDsc = 0.0;            // over organs whose score is not NaN; NaN if there are none
  double meanNsd = 0.0;
  double toleranceMm = kDefaultNsdToleranceMm;  // NSD is meaningless without it: always carried along
};

// DSC = 2|P ∩ G| / (|P| + |G|); NaN if both masks are empty, 0 if only one is.
// Throws mqb::Error when the volumes are not on the same grid.
double diceCoefficient(const LabelVolume& pred, const LabelVolume& ref, int label);

// Fraction of both surfaces lying within toleranceMm (Euclidean, voxel centres, physical
// spacing) of the other surface; surface voxels are mask voxels with a 6-neighbour outside
// the mask or on the image border. NaN if both masks are empty, 0 if only one is.
// Throws mqb::Error for different grids or a tolerance that is negative or not finite.
double normalizedSurfaceDice(const LabelVolume& pred, const LabelVolume& ref, int label, double toleranceMm);

// Scores every class except id 0 with one counting pass over the volumes, then one
// cropped distance transform per organ. Reports progress per organ and honours
// cancellation (throws mqb::Canceled).
SegmentationScores scoreSegmentation(const LabelVolume& pred, const LabelVolume& ref, const ClassList& classes,
                                     double toleranceMm, Feedback* feedback = nullptr);

}  // namespace mqb
