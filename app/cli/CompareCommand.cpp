#include <cmath>
#include <iostream>

#include "support/AtomicFile.h"
#include "CommandLine.h"
#include "support/Error.h"
#include "Commands.h"
#include "ConsoleProgress.h"
#include "Preflight.h"
#include "io/Reorientation.h"
#include "metrics/SegmentationReport.h"
#include "io/VolumeIO.h"

namespace mqb::cli {
namespace {

// Organ names for the report: the BTCV list when the ids fit it, else "label N".
ClassList classesFor(const LabelVolume& a, const LabelVolume& b) {
  static const char* btcv[] = {"background",
                               "spleen",
                               "right kidney",
                               "left kidney",
                               "gallbladder",
                               "esophagus",
                               "liver",
                               "stomach",
                               "aorta",
                               "inferior vena cava",
                               "portal & splenic vein",
                               "pancreas",
                               "right adrenal gland",
                               "left adrenal gland"};
  int maxLabel = 0;
  for (uint8_t v : a.voxels) maxLabel = std::max<int>(maxLabel, v);
  for (uint8_t v : b.voxels) maxLabel = std::max<int>(maxLabel, v);
  ClassList classes;
  for (int id = 0; id <= std::max(maxLabel, maxLabel <= 13 ? 13 : maxLabel); ++id)
    classes.push_back({id, maxLabel <= 13 ? btcv[id] : "label " + std::to_string(id), {0, 0, 0}});
  return classes;
}

}  // namespace

int runCompare(int argc, char** argv) {
  CommandLine cl("compare",
                 "DSC and NSD per organ between two label maps on the same grid (e.g. a\n"
                 "prediction made elsewhere against ground truth). --a is the prediction, --b the reference.");
  cl.option("a", "A.nii.gz", "label map A (prediction)", true);
  cl.option("b", "B.nii.gz", "label map B (reference)", true);
  cl.option("label-map", "NAME", "remap ids of both maps on load (e.g. totalsegmentator-to-btcv)");
  cl.option("tolerance-mm", "MM", "NSD tolerance in mm", false, "2.0");
  cl.option("json", "report.json", "write the JSON report");
  if (!cl.parse(argc, argv)) return 0;
  const double tolerance = cl.getDouble("tolerance-mm");
  if (!(tolerance >= 0) || !std::isfinite(tolerance)) throw Error("compare: --tolerance-mm must be a number >= 0");
  Preflight()
      .input(cl.get("a"), "label map")
      .input(cl.get("b"), "label map")
      .labelMapTable(cl.get("label-map"))
      .output(cl.get("json"))
      .check();
  const LabelRemap remap = cl.has("label-map") ? LabelRemap::load(cl.get("label-map")) : LabelRemap::identity();
  LabelVolume a = readLabelMap(cl.get("a"), remap);
  LabelVolume b = readLabelMap(cl.get("b"), remap);
  b = alignToGrid(b, a.geometry, cl.get("b"));
  Feedback feedback;
  ConsoleProgress progress(feedback, true);
  SegmentationScores scores = scoreSegmentation(a, b, classesFor(a, b), tolerance, &feedback);
  std::cout << formatScoresTable(scores, cl.get("a") + " vs " + cl.get("b"));
  if (cl.has("json")) {
    nlohmann::json report = {{"a", cl.get("a")}, {"b", cl.get("b")}};
    report.update(scoresToJson(scores));
    OutputTransaction output;
    output.writeText(cl.get("json"), report.dump(2) + "\n");
    feedback.throwIfCanceled();
    output.commit();
  }
  return 0;
}

}  // namespace mqb::cli
