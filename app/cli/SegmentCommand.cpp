#include <chrono>
#include <cstdio>
#include <iostream>

#include "AtomicFile.h"
#include "CommandLine.h"
#include "Error.h"
#include "Commands.h"
#include "ConsoleProgress.h"
#include "LabelCoverage.h"
#include "Reorientation.h"
#include "SegmentationModel.h"
#include "SegmentationReport.h"
#include "SlidingWindowInference.h"
#include "VolumeIO.h"

namespace mqb::cli {

int runSegment(int argc, char** argv) {
  CommandLine cl("segment",
                 "FP32 sliding-window segmentation of a CT volume, with DSC and NSD per organ\n"
                 "against a ground-truth label map when one is given.");
  cl.option("model", "M.pt", "TorchScript model with MedQuanBench metadata", true);
  cl.option("volume", "V", "CT volume: NIfTI, NRRD, MHA/MHD file or DICOM series folder", true);
  cl.option("labels", "GT", "ground-truth label map on the CT grid");
  cl.option("label-map", "NAME", "remap ground-truth ids on load (e.g. totalsegmentator-to-btcv)");
  cl.option("tolerance-mm", "MM", "NSD tolerance in mm", false, "2.0");
  cl.option("out", "pred.nii.gz", "write the predicted label map (source geometry)");
  cl.option("json", "report.json", "write the JSON report");
  cl.option("device", "DEV", "cpu or cuda[:N]", false, "cpu");
  cl.option("window-batch", "N", "windows per forward call", false, "1");
  cl.option("overlap", "F", "sliding-window overlap", false, "0.5");
  cl.flag("quiet", "no progress on stderr");
  if (!cl.parse(argc, argv)) return 0;
  const double tolerance = cl.getDouble("tolerance-mm");
  if (!(tolerance >= 0)) throw Error("segment: --tolerance-mm must be >= 0");

  Feedback feedback;
  ConsoleProgress progress(feedback, cl.has("quiet"));
  const auto start = std::chrono::steady_clock::now();
  SegmentationModel model = SegmentationModel::load(cl.get("model"), cl.get("device"));
  ImageVolume ct = readImage(cl.get("volume"), &feedback);
  LabelVolume truth;
  const bool haveTruth = cl.has("labels");
  if (haveTruth) {
    truth = readLabelMap(cl.get("labels"),
                         cl.has("label-map") ? LabelRemap::load(cl.get("label-map")) : LabelRemap::identity());
    truth = alignToGrid(truth, ct.geometry, cl.get("labels"));
    const std::string warning = describeIdsWithoutClass(truth, model.metadata().classes, cl.get("labels"));
    if (!warning.empty()) std::fprintf(stderr, "warning: %s\n", warning.c_str());
  }
  InferenceOptions options;
  options.windowBatch = cl.getInt("window-batch");
  options.overlap = cl.getDouble("overlap");
  InferenceResult result = segmentVolume(model, ct, options, &feedback);
  progress.finish();

  if (cl.has("out")) writeLabelMap(result.labels, cl.get("out"));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  nlohmann::json report = {{"model", cl.get("model")},
                           {"model_name", model.metadata().name},
                           {"volume", cl.get("volume")},
                           {"windows", result.windows},
                           {"inference_seconds", result.seconds},
                           {"forward_seconds", result.forwardSeconds},
                           {"seconds", seconds},
                           {"tolerance_mm", tolerance}};
  if (haveTruth) {
    SegmentationScores scores =
        scoreSegmentation(result.labels, truth, model.metadata().classes, tolerance, &feedback);
    report.update(scoresToJson(scores));
    report["labels"] = cl.get("labels");
    std::cout << formatScoresTable(scores, model.metadata().name + " (FP32) vs " + cl.get("labels"));
  } else {
    std::cout << "segmented " << cl.get("volume") << " with " << model.metadata().name
              << " (no --labels given: no scores)\n";
  }
  std::cout << "time: " << seconds << " s (" << result.windows << " windows, forward "
            << result.forwardSeconds << " s)\n";
  if (cl.has("json")) writeTextFileAtomically(cl.get("json"), report.dump(2) + "\n");
  return 0;
}

}  // namespace mqb::cli
