#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "support/AtomicFile.h"
#include "Commands.h"
#include "ConsoleProgress.h"
#include "support/Error.h"
#include "support/JsonField.h"
#include "io/LabelCoverage.h"
#include "ModelErrors.h"
#include "StudyPreflight.h"
#include "QuantOptions.h"
#include "metrics/SegmentationReport.h"
#include "io/VolumeIO.h"
#include "quant/QuantCoverage.h"
#include "study/Int8Build.h"

namespace mqb::cli {
namespace {

void loadOrSaveCalibration(const CommandLine& cl, quant::QuantizationStudy& study, const quant::QuantConfig& c,
                           Feedback& feedback, OutputTransaction& output) {
  if (cl.has("calibration")) {
    const nlohmann::json j = readJsonFile(cl.get("calibration"), "calibration file");
    study.setCalibration(c.calibrationPatches, c.calibrationSeed,
                         quant::CalibrationData::fromJson(j, study.graph(), cl.get("calibration")));
  }
  if (cl.has("save-calibration"))
    output.writeText(cl.get("save-calibration"),
                     study.calibration(c.calibrationPatches, c.calibrationSeed, &feedback).toJson().dump() + "\n");
}

// The study both commands run on, with the op names checked and the calibration loaded
// or saved as the options ask.
quant::QuantizationStudy openStudy(const CommandLine& cl, const quant::QuantConfig& config, Feedback& feedback,
                                   OutputTransaction& output) {
  quant::QuantizationStudy study(
      studyInputsFrom(cl, cl.get("model"), cl.get("volume"), cl.get("labels"), cl.get("series")), &feedback);
  if (const LabelVolume* truth = study.groundTruth()) {
    const std::string warning = describeIdsWithoutClass(*truth, study.model().metadata().classes, cl.get("labels"));
    if (!warning.empty()) std::fprintf(stderr, "warning: %s\n", warning.c_str());
  }
  checkOpNames(config, study.graph());
  withModelContext(cl.get("model"), [&] { loadOrSaveCalibration(cl, study, config, feedback, output); });
  return study;
}

// The edge layers a configuration raised and what its method did per op (SPEC section 10:
// a report names every method applied, its settings, and every op it skipped).
void reportEdgesAndMethod(const quant::QuantizationStudy& study, const quant::QuantConfig& config,
                          nlohmann::json& report) {
  if (config.edgeBits > 0) {
    nlohmann::json edges = nlohmann::json::array();
    std::string names;
    for (const auto& op : study.graph().ops())
      if (op.edge() && !quant::precisionOf(config, op).floatingPoint) {
        const std::string precision = quant::precisionOf(config, op).id();
        edges.push_back({{"op", op.name},
                         {"precision", precision},
                         {"reads_model_input", op.readsModelInput},
                         {"produces_model_output", op.producesModelOutput}});
        names += (names.empty() ? "" : ", ") + op.name + " " + precision;
      }
    report["edge_ops"] = edges;
    std::cout << "edge layers at W" << config.edgeBits << "A" << config.edgeBits << ": " << names << "\n";
  }
  const auto adjusted = study.cachedMethodWeights(config);
  if (!adjusted) return;
  report["method"] = adjusted->toJson();
  std::cout << "method: " << adjusted->summary() << "\n";
  for (const auto& op : adjusted->ops)
    if (!op.skipped.empty()) std::cout << "  skipped " << op.op << ": " << op.skipped << "\n";
}

// quantize --execution real-int8: the same report as the simulated run, from the integer
// model, plus its speed and size against FP32 and its agreement with the simulated run of
// the same configuration.
int runRealInt8(const CommandLine& cl, const quant::QuantConfig& config) {
  quant::Int8Model::checkConfig(config);
  Feedback feedback;
  ConsoleProgress progress(feedback, cl.has("quiet"));
  OutputTransaction output;
  quant::QuantizationStudy study = openStudy(cl, config, feedback, output);
  const auto& fp32Scores = study.fp32Scores(&feedback);
  const InferenceResult& fp32 = study.fp32(&feedback);
  quant::QuantConfig simulatedConfig = config;
  simulatedConfig.execution = quant::Execution::Simulated;
  const quant::QuantizedRun simulated = study.runQuantized(simulatedConfig, &feedback);
  std::unique_ptr<quant::Int8Model> int8 = quant::buildInt8Model(study, config, &feedback);
  InferenceOptions options;
  options.windowBatch = cl.getInt("window-batch");
  const InferenceResult run =
      runSlidingWindow(*int8, study.prepared(), options, FeedbackStage(&feedback, 0, 1, "INT8 inference"));
  progress.finish();
  if (cl.has("out")) writeLabelMap(run.labels, cl.get("out"), output);
  if (cl.has("fp32-out")) writeLabelMap(fp32.labels, cl.get("fp32-out"), output);

  const ClassList& classes = study.model().metadata().classes;
  const std::string name = study.model().metadata().name;
  const SegmentationScores agreement =
      scoreSegmentation(run.labels, fp32.labels, classes, study.toleranceMm(), nullptr);
  const SegmentationScores withSimulated =
      scoreSegmentation(run.labels, simulated.inference.labels, classes, study.toleranceMm(), nullptr);
  // The size of the file the model is exported as: the written file when the user asked for
  // it, else measured in memory.
  int64_t modelBytes = 0;
  if (cl.has("int8-model")) {
    const std::string staged = output.stage(cl.get("int8-model"));
    int8->save(staged);
    modelBytes = static_cast<int64_t>(std::filesystem::file_size(staged));
  } else {
    modelBytes = int8->serializedBytes();
  }
  const auto fp32Bytes = static_cast<int64_t>(std::filesystem::file_size(cl.get("model")));
  const double perWindow = run.seconds / std::max(1, run.windows);
  const double fp32PerWindow = fp32.seconds / std::max(1, fp32.windows);
  nlohmann::json report = {{"model", cl.get("model")},
                           {"model_name", name},
                           {"volume", cl.get("volume")},
                           {"config", int8->config().toJson()},
                           {"tolerance_mm", study.toleranceMm()},
                           {"seconds", run.seconds},
                           {"fp32_seconds", fp32.seconds},
                           {"execution", quant::executionId(quant::Execution::RealInt8)},
                           {"engine", int8->engine()},
                           {"accumulator_may_saturate", int8->accumulatorMaySaturate()},
                           {"int8_graph", int8->graphOptions().id()},
                           {"seconds_per_window", perWindow},
                           {"fp32_seconds_per_window", fp32PerWindow},
                           {"speedup", fp32PerWindow / perWindow},
                           {"model_bytes", modelBytes},
                           {"fp32_model_bytes", fp32Bytes},
                           {"coverage", int8->coverage().toJson()},
                           {"simulated_seconds", simulated.inference.seconds}};
  std::optional<SegmentationScores> scores;
  if (const LabelVolume* truth = study.groundTruth()) {
    scores = scoreSegmentation(run.labels, *truth, classes, study.toleranceMm(), nullptr);
    report.update(scoresToJson(*scores));
    report["labels"] = cl.get("labels");
    report["fp32"] = scoresToJson(*fp32Scores);
    std::cout << formatScoresTable(*fp32Scores, name + " FP32 vs ground truth");
    std::cout << formatScoresTable(*scores, name + " " + int8->config().describe() + " vs ground truth");
    std::cout << "mean DSC " << formatWithDelta(scores->meanDsc, fp32Scores->meanDsc) << ", mean NSD "
              << formatWithDelta(scores->meanNsd, fp32Scores->meanNsd) << " (relative drop vs FP32)\n";
  }
  nlohmann::json a = scoresToJson(agreement), s = scoresToJson(withSimulated);
  report["agreement"] = {{"organs", a["organs"]}, {"mean_dsc", a["mean_dsc"]}, {"mean_nsd", a["mean_nsd"]}};
  report["agreement_with_simulated"] = {{"organs", s["organs"]},
                                        {"mean_dsc", s["mean_dsc"]},
                                        {"mean_nsd", s["mean_nsd"]}};
  std::cout << formatScoresTable(agreement, name + " real INT8 vs FP32 prediction (agreement)");
  const auto& cov = int8->coverage();
  std::printf("real INT8 on %s (%s graph): %d of %zu ops on integer kernels\n", int8->engine().c_str(),
              int8->graphOptions().id().c_str(), cov.integerOps(), cov.ops.size());
  for (const auto& op : cov.ops)
    if (!op.integer) std::printf("  FP32 %-32s %s\n", op.name.c_str(), op.reason.c_str());
  if (int8->accumulatorMaySaturate())
    std::printf("note: %s on this CPU (no VNNI) sums u8 x s8 pairs in saturating int16; rare outputs can differ "
                "from simulation by more than one step\n",
                int8->engine().c_str());
  std::printf("%.3f s/window vs FP32 %.3f s/window (speed-up %.2fx; one cold run each, see bench/ for paired runs)\n",
              perWindow, fp32PerWindow, fp32PerWindow / perWindow);
  std::printf("model file %.2f MB vs FP32 %.2f MB (%.2fx); agreement with simulated %s: mean DSC %.4f\n",
              modelBytes / 1e6, fp32Bytes / 1e6, double(modelBytes) / double(fp32Bytes),
              config.precision.id().c_str(), withSimulated.meanDsc);
  if (cl.has("json")) output.writeText(cl.get("json"), report.dump(2) + "\n");
  output.commit();
  return 0;
}

}  // namespace

int runQuantize(int argc, char** argv) {
  CommandLine cl("quantize", "Segment a CT volume with a fake-quantized model; DSC/NSD per organ against ground\n"
                             "truth and agreement with the FP32 prediction, with the relative drop.");
  addStudyOptions(cl, false);
  addQuantOptions(cl, true);
  cl.option("out", "pred.nii.gz", "write the quantized prediction");
  cl.option("fp32-out", "fp32.nii.gz", "write the FP32 prediction");
  cl.option("json", "report.json", "write the JSON report");
  cl.option("execution", "E",
            "simulated (fake quantization) or real-int8 (LibTorch integer kernels: W8A8, per-tensor or per-channel)",
            false, "simulated");
  cl.option("int8-model", "M-int8.pt", "real-int8: also write the INT8 TorchScript model");
  if (!cl.parse(argc, argv)) return 0;
  quant::QuantConfig config = quantConfigFrom(cl, cl.get("precision"), cl.get("granularity"), cl.get("method"));
  config.execution = quant::parseExecution(cl.get("execution"));
  preflightStudyCommand(cl, {"out", "fp32-out"}, {"json", "save-calibration", "int8-model"});
  if (config.execution == quant::Execution::RealInt8) return runRealInt8(cl, config);
  Feedback feedback;
  ConsoleProgress progress(feedback, cl.has("quiet"));
  OutputTransaction output;
  quant::QuantizationStudy study = openStudy(cl, config, feedback, output);
  const std::string modelPath = cl.get("model");
  const auto& fp32Scores = withModelContext(modelPath, [&]() -> decltype(auto) { return study.fp32Scores(&feedback); });
  quant::QuantizedRun run = withModelContext(modelPath, [&] { return study.runQuantized(config, &feedback); });
  progress.finish();
  if (cl.has("out")) writeLabelMap(run.inference.labels, cl.get("out"), output);
  if (cl.has("fp32-out")) writeLabelMap(study.fp32().labels, cl.get("fp32-out"), output);

  const std::string name = study.model().metadata().name;
  nlohmann::json report = {{"model", cl.get("model")},
                           {"model_name", name},
                           {"volume", cl.get("volume")},
                           {"config", config.toJson()},
                           {"tolerance_mm", study.toleranceMm()},
                           {"seconds", run.inference.seconds},
                           {"fp32_seconds", study.fp32().seconds}};
  const quant::Coverage coverage = quant::coverageOf(study.graph(), &config, study.model().metadata());
  report["coverage"] = coverage.toJson();
  std::cout << "coverage: " << coverage.summary() << "\n";
  reportEdgesAndMethod(study, config, report);
  if (run.scores) {
    report.update(scoresToJson(*run.scores));
    report["labels"] = cl.get("labels");
    report["fp32"] = scoresToJson(*fp32Scores);
    std::cout << formatScoresTable(*fp32Scores, name + " FP32 vs ground truth");
    std::cout << formatScoresTable(*run.scores, name + " " + config.describe() + " vs ground truth");
    std::cout << "mean DSC " << formatWithDelta(run.scores->meanDsc, fp32Scores->meanDsc) << ", mean NSD "
              << formatWithDelta(run.scores->meanNsd, fp32Scores->meanNsd) << " (relative drop vs FP32)\n";
  }
  nlohmann::json agreement = scoresToJson(run.agreement);
  report["agreement"] = {{"organs", agreement["organs"]},
                         {"mean_dsc", agreement["mean_dsc"]},
                         {"mean_nsd", agreement["mean_nsd"]}};
  std::cout << formatScoresTable(run.agreement, name + " " + config.precision.id() + " vs FP32 prediction (agreement)");
  if (cl.has("json")) output.writeText(cl.get("json"), report.dump(2) + "\n");
  feedback.throwIfCanceled();
  output.commit();
  return 0;
}

int runAnalyze(int argc, char** argv) {
  CommandLine cl("analyze", "Layer-wise analysis of a quantization configuration: isolated and cumulative SQNR,\n"
                            "MSE and cosine per quantized op, activation histograms against the quantization grid,\n"
                            "distribution shift, weight ranges and the sensitivity ranking.");
  addStudyOptions(cl, false);
  addQuantOptions(cl, true);
  cl.option("analysis-patches", "N", "patches the errors are measured on", false, "1");
  cl.option("keep-fp32", "K", "also report the config with the K most sensitive ops in FP32", false, "0");
  cl.option("json", "layers.json", "write the analysis", true);
  if (!cl.parse(argc, argv)) return 0;
  const quant::QuantConfig config = quantConfigFrom(cl, cl.get("precision"), cl.get("granularity"), cl.get("method"));
  const int analysisPatches = cl.getInt("analysis-patches");
  if (analysisPatches < 1) throw Error("analyze: --analysis-patches must be >= 1, got " + cl.get("analysis-patches"));
  if (cl.getInt("keep-fp32") < 0) throw Error("analyze: --keep-fp32 must be >= 0, got " + cl.get("keep-fp32"));
  preflightStudyCommand(cl, {}, {"json", "save-calibration"});
  Feedback feedback;
  ConsoleProgress progress(feedback, cl.has("quiet"));
  OutputTransaction output;
  quant::QuantizationStudy study = openStudy(cl, config, feedback, output);
  quant::LayerAnalysis a =
      withModelContext(cl.get("model"), [&] { return study.analyze(config, analysisPatches, &feedback); });
  progress.finish();
  nlohmann::json j = a.toJson();
  reportEdgesAndMethod(study, config, j);
  std::printf("%-32s %-14s %12s %12s %10s\n", "op", "kind", "isolated dB", "cumul. dB", "clipped");
  for (const auto& op : a.ops)
    std::printf("%-32s %-14s %12.2f %12.2f %9.4f%%\n", op.name.c_str(), op.kind.c_str(), op.isolated.sqnrDb,
                op.cumulative.sqnrDb, op.inputs.empty() ? 0.0 : op.inputs[0].clippedFraction * 100.0);
  const int k = cl.getInt("keep-fp32");
  if (k > 0) {
    quant::QuantConfig mixed = quant::keepMostSensitiveInFp32(config, a, k);
    j["keep_fp32"] = {{"k", k}, {"config", mixed.toJson()}};
    std::cout << "keep " << k << " most sensitive in FP32: --exclude ";
    bool first = true;
    for (const auto& op : mixed.excludedOps) std::cout << (first ? "" : ",") << op, first = false;
    std::cout << "\n";
  }
  std::cout << "analysis: " << a.seconds << " s\n";
  output.writeText(cl.get("json"), j.dump(1) + "\n");
  feedback.throwIfCanceled();
  output.commit();
  return 0;
}

}  // namespace mqb::cli
