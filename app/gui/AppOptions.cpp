#include "AppOptions.h"

#include <QCommandLineParser>

#include "support/Resources.h"

namespace mqb::gui {

bool parseAppOptions(const QStringList& arguments, AppOptions& o, QString& message, bool* exitNow) {
  if (exitNow) *exitNow = false;
  QCommandLineParser p;
  p.setApplicationDescription("MedQuanBench: what post-training quantization does to a 3D medical segmentation model.");
  const QCommandLineOption help({"h", "help"}, "Show this help.");
  const QCommandLineOption version("version", "Show the version.");
  const QCommandLineOption model("model", "TorchScript model with MedQuanBench metadata.", "M.pt");
  const QCommandLineOption volume("volume", "CT volume (NIfTI, NRRD, MHA) or DICOM series folder.", "V");
  const QCommandLineOption labels("labels", "Ground-truth label map on the CT grid.", "GT");
  const QCommandLineOption labelMap("label-map", "Remap ground-truth ids (e.g. totalsegmentator-to-btcv).", "NAME");
  const QCommandLineOption precision("precision", "FP32, W8A8, W4A8, W4A4, ... (bits 2..16).", "P");
  const QCommandLineOption granularity("granularity", "per-tensor, per-channel, per-voxel or adaptive.", "G");
  const QCommandLineOption calibrator("calibrator", "minmax, percentile[:p], mse or entropy.", "C");
  const QCommandLineOption asymmetric("asymmetric", "Asymmetric quantization ranges.");
  const QCommandLineOption session("session", "Open a saved session (JSON).", "S");
  const QCommandLineOption demo("demo", "Bundled model + sample CT (or a phantom); FP32 beside W4A4 per-tensor.");
  const QCommandLineOption exportFigure("export-figure", "Write the comparison figure and exit.", "out.png");
  const QCommandLineOption exportScale("export-scale", "Scale of the exported figure (1..16).", "N", "1");
  const QCommandLineOption transparent("transparent", "Transparent figure background.");
  const QCommandLineOption screenshot("screenshot", "Save a screenshot of the window and exit.", "out.png");
  const QCommandLineOption benchmark("benchmark", "Measure render / redraw times and UI stalls, print them, exit.");
  const QCommandLineOption benchmarkSlices("benchmark-slices", "Slice changes measured by --benchmark.", "N", "40");
  const QCommandLineOption benchmarkParts("benchmark-parts",
                                          "Comma-separated parts of --benchmark: redraw, stall, preview.", "LIST",
                                          "redraw,stall,preview");
  const QCommandLineOption noAutosave("no-autosave", "Do not write the autosave session.");
  const QCommandLineOption threads("threads",
                                   "LibTorch threads for inference (default: all cores, at lower priority).", "N");
  p.addOptions({help,        version,    model,      volume,          labels,         labelMap,     precision,
                granularity, calibrator, asymmetric, session,         demo,           exportFigure, exportScale,
                transparent, screenshot, benchmark,  benchmarkSlices, benchmarkParts, noAutosave,   threads});
  p.addPositionalArgument("files", "Files to open (model .pt, CT, label map, session .json).", "[files...]");
  if (!p.parse(arguments)) {
    message = p.errorText();
    return false;
  }
  if (p.isSet(help)) {
    message = p.helpText();
    if (exitNow) *exitNow = true;
    return true;
  }
  if (p.isSet(version)) {
    message = QString("medquanbench %1").arg(QString::fromStdString(versionString()));
    if (exitNow) *exitNow = true;
    return true;
  }
  o.model = p.value(model);
  o.volume = p.value(volume);
  o.labels = p.value(labels);
  o.labelMap = p.value(labelMap);
  o.precision = p.value(precision);
  o.granularity = p.value(granularity);
  o.calibrator = p.value(calibrator);
  o.asymmetric = p.isSet(asymmetric);
  o.session = p.value(session);
  o.demo = p.isSet(demo);
  o.exportFigure = p.value(exportFigure);
  bool ok = false;
  o.exportScale = p.value(exportScale).toInt(&ok);
  if (!ok || o.exportScale < 1 || o.exportScale > 16) {
    message = QString("--export-scale must be an integer 1..16, not '%1'").arg(p.value(exportScale));
    return false;
  }
  o.transparent = p.isSet(transparent);
  o.screenshot = p.value(screenshot);
  o.benchmark = p.isSet(benchmark);
  o.benchmarkSlices = p.value(benchmarkSlices).toInt(&ok);
  if (!ok || o.benchmarkSlices < 1) {
    message = "--benchmark-slices must be a positive integer";
    return false;
  }
  o.benchmarkParts = p.value(benchmarkParts).split(',', Qt::SkipEmptyParts);
  for (const QString& part : o.benchmarkParts) {
    if (part != "redraw" && part != "stall" && part != "preview") {
      message = QString("--benchmark-parts: unknown part '%1' (redraw, stall, preview)").arg(part);
      return false;
    }
  }
  o.autosave = !p.isSet(noAutosave);
  if (p.isSet(threads)) {
    o.threads = p.value(threads).toInt(&ok);
    if (!ok || o.threads < 1) {
      message = "--threads must be a positive integer";
      return false;
    }
  }
  o.files = p.positionalArguments();
  if (!o.labels.isEmpty() && o.volume.isEmpty() && !o.demo && o.session.isEmpty()) {
    message = "--labels needs --volume (the ground truth is aligned onto the CT grid)";
    return false;
  }
  if (!o.labelMap.isEmpty() && o.labels.isEmpty()) {
    message = "--label-map applies to --labels: give both";
    return false;
  }
  return true;
}

}  // namespace mqb::gui
