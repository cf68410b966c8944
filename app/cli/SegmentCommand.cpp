#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "support/AtomicFile.h"
#include "CommandLine.h"
#include "support/Error.h"
#include "Commands.h"
#include "ConsoleProgress.h"
#include "io/LabelCoverage.h"
#include "ModelErrors.h"
#include "Preflight.h"
#include "io/Reorientation.h"
#include "model/SegmentationModel.h"
#include "metrics/SegmentationReport.h"
#include "inference/SlidingWindowInference.h"
#include "io/VolumeIO.h"

namespace mqb::cli {

int runSegment(int argc, char** argv) {
  CommandLine cl("segment", "FP32 sliding-window segmentation of a CT volume, with DSC and NSD per organ\n"
                            "against a ground-truth label map when one is given.");
  cl.option("model", "M.pt", "TorchScript model with MedQuanBench metadata", true);
  cl.option("volume", "V", "CT volume: NIfTI, NRRD, MHA/MHD file or DICOM series folder", true);
  cl.option("series", "UID", "the DICOM series to read when the --volume folder holds several");
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
  if (!(tolerance >= 0) || !std::isfinite(tolerance)) throw Error("segment: --tolerance-mm must be a number >= 0");
  InferenceOptions options;
  options.windowBatch = cl.getInt("window-batch");
  if (options.windowBatch < 1) throw Error("segment: --window-batch must be >= 1, got " + cl.get("window-batch"));
  options.overlap = cl.getDouble("overlap");
  if (!(options.overlap >= 0 && options.overlap < 1))
    throw Error("segment: --overlap must be in [0, 1), got " + cl.get("overlap"));
  Preflight()
      .input(cl.get("model"), "model")
      .input(cl.get("volume"), "volume", true)
      .input(cl.get("labels"), "label map")
      .labelMapTable(cl.get("label-map"))
      .output(cl.get("out"), true)
      .output(cl.get("json"))
      .check();

  Feedback feedback;
  ConsoleProgress progress(feedback, cl.has("quiet"));
  const auto start = std::chrono::steady_clock::now();
  SegmentationModel model = SegmentationModel::load(cl.get("model"), cl.get("device"));
  ImageVolume ct = readImage(cl.get("volume"), &feedback, cl.get("series"));
  LabelVolume truth;
  const bool haveTruth = cl.has("labels");
  if (haveTruth) {
    truth = readLabelMap(cl.get("labels"),
                         cl.has("label-map") ? LabelRemap::load(cl.get("label-map")) : LabelRemap::identity());
    truth = alignToGrid(truth, ct.geometry, cl.get("labels"));
    const std::string warning = describeIdsWithoutClass(truth, model.metadata().classes, cl.get("labels"));
    if (!warning.empty()) std::fprintf(stderr, "warning: %s\n", warning.c_str());
  }
  InferenceResult result =
      withModelContext(cl.get("model"), [&] { return segmentVolume(model, ct, options, &feedback); });
  progress.finish();

  OutputTransaction output;
  if (cl.has("out")) writeLabelMap(result.labels, cl.get("out"), output);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  nlohmann::json report = {{"model", cl.get("model")},
                           {"model_name", model.metadata().name},
                           {"volume", cl.get("volume")},
                           {"windows", result.windows},
                           {"inference_seconds", result.seconds},
                           {"forward_seconds", result.forwardSeconds},
                           {"window_workers", result.windowWorkers},
                           {"seconds", seconds},
                           {"tolerance_mm", tolerance}};
  if (haveTruth) {
    SegmentationScores scores = scoreSegmentation(result.labels, truth, model.metadata().classes, tolerance, &feedback);
    report.update(scoresToJson(scores));
    report["labels"] = cl.get("labels");
    std::cout << formatScoresTable(scores, model.metadata().name + " (FP32) vs " + cl.get("labels"));
  } else {
    std::cout << "segmented " << cl.get("volume") << " with " << model.metadata().name
              << " (no --labels given: no scores)\n";
  }
  std::cout << "time: " << seconds << " s (" << result.windows << " windows, forward " << result.forwardSeconds
            << " s summed over " << result.windowWorkers << " window thread(s))\n";
  if (cl.has("json")) output.writeText(cl.get("json"), report.dump(2) + "\n");
  feedback.throwIfCanceled();
  output.commit();
  return 0;
}

}  // namespace mqb::cli
