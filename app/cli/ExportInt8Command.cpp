// export-int8: the model with packed integer weights as a TorchScript file that `segment`
// (and every MedQuanBench front end) loads like any other model.
#include <cstdio>
#include <filesystem>

#include "support/AtomicFile.h"
#include "Commands.h"
#include "ConsoleProgress.h"
#include "support/Error.h"
#include "support/JsonField.h"
#include "ModelErrors.h"
#include "StudyPreflight.h"
#include "QuantOptions.h"
#include "study/Int8Build.h"

namespace mqb::cli {

int runExportInt8(int argc, char** argv) {
  CommandLine cl("export-int8",
                 "Write a model as INT8 TorchScript: every conv / transposed conv / linear with an integer\n"
                 "kernel holds packed int8 weights (W8A8, static activation scales from calibration on\n"
                 "the volume), the rest stays FP32. The file embeds the metadata and runs with `segment`.");
  addStudyOptions(cl, false);
  addQuantOptions(cl, false);
  cl.option("granularity", "G", "per-tensor (every op INT8) or per-channel (per-channel weights)", false, "per-tensor");
  cl.option("out", "M-int8.pt", "the INT8 TorchScript file to write", true);
  cl.flag("portable", "LibTorch operators only (aten quantize/dequantize): loads in any LibTorch 1.13, runs slower");
  if (!cl.parse(argc, argv)) return 0;
  quant::QuantConfig config = quantConfigFrom(cl, "W8A8", cl.get("granularity"));
  config.execution = quant::Execution::RealInt8;
  quant::Int8Model::checkConfig(config);
  quant::Int8GraphOptions graphOptions = quant::Int8GraphOptions::fromEnvironment();
  if (cl.has("portable")) graphOptions.fastTransitions = graphOptions.fuseNormActivation = false;

  // The output is checked before the model is loaded (not an input, not a folder or a
  // device, its folder writable) and written under a temporary name, renamed at the end:
  // a failure or a Ctrl-C leaves no file, and never replaces the model it reads.
  preflightStudyCommand(cl, {}, {"out", "save-calibration"});

  Feedback feedback;
  ConsoleProgress progress(feedback, cl.has("quiet"));
  OutputTransaction output;
  quant::QuantizationStudy study(
      studyInputsFrom(cl, cl.get("model"), cl.get("volume"), cl.get("labels"), cl.get("series")), &feedback);
  checkOpNames(config, study.graph());
  const std::string modelPath = cl.get("model");
  withModelContext(modelPath, [&] {
    if (cl.has("calibration")) {
      const nlohmann::json j = readJsonFile(cl.get("calibration"), "calibration file");
      study.setCalibration(config.calibrationPatches, config.calibrationSeed,
                           quant::CalibrationData::fromJson(j, study.graph(), cl.get("calibration")));
    }
    if (cl.has("save-calibration"))
      output.writeText(cl.get("save-calibration"),
                       study.calibration(config.calibrationPatches, config.calibrationSeed, &feedback).toJson().dump() +
                           "\n");
  });
  std::unique_ptr<quant::Int8Model> model =
      withModelContext(modelPath, [&] { return quant::buildInt8Model(study, config, &feedback, graphOptions); });
  const std::string staged = output.stage(cl.get("out"));
  model->save(staged);
  const auto bytes = std::filesystem::file_size(staged);
  progress.finish();
  feedback.throwIfCanceled();
  output.commit();
  const auto fp32Bytes = std::filesystem::file_size(modelPath);
  const auto& cov = model->coverage();
  std::printf("%s: %d of %zu ops INT8 (%s engine, %s graph), %.2f MB (FP32 file %.2f MB, %.2fx)\n",
              cl.get("out").c_str(), cov.integerOps(), cov.ops.size(), model->engine().c_str(),
              model->graphOptions().id().c_str(), bytes / 1e6, fp32Bytes / 1e6, double(bytes) / double(fp32Bytes));
  for (const auto& op : cov.ops)
    if (!op.integer) std::printf("  FP32 %-32s %s\n", op.name.c_str(), op.reason.c_str());
  return 0;
}

}  // namespace mqb::cli
