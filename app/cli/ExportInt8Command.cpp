// export-int8: the model with packed integer weights as a TorchScript file that `segment`
// (and every MedQuanBench front end) loads like any other model.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "Commands.h"
#include "ConsoleProgress.h"
#include "Error.h"
#include "QuantOptions.h"
#include "quant/Int8Build.h"

namespace mqb::cli {

int runExportInt8(int argc, char** argv) {
  CommandLine cl("export-int8",
                 "Write a model as INT8 TorchScript: every conv / transposed conv / linear with an integer\n"
                 "kernel holds packed int8 weights (W8A8, static activation scales from calibration on\n"
                 "the volume), the rest stays FP32. The file embeds the metadata and runs with `segment`.");
  addStudyOptions(cl, false);
  addQuantOptions(cl, false);
  cl.option("granularity", "G", "per-tensor (every op INT8) or per-channel (per-channel weights)", false,
            "per-tensor");
  cl.option("out", "M-int8.pt", "the INT8 TorchScript file to write", true);
  cl.flag("portable", "LibTorch operators only (aten quantize/dequantize): loads in any LibTorch 1.13, runs slower");
  if (!cl.parse(argc, argv)) return 0;
  quant::QuantConfig config = quantConfigFrom(cl, "W8A8", cl.get("granularity"));
  config.execution = quant::Execution::RealInt8;
  quant::Int8Model::checkConfig(config);
  quant::Int8GraphOptions graphOptions = quant::Int8GraphOptions::fromEnvironment();
  if (cl.has("portable")) graphOptions.fastTransitions = graphOptions.fuseNormActivation = false;

  Feedback feedback;
  ConsoleProgress progress(feedback, cl.has("quiet"));
  quant::QuantizationStudy study(studyInputsFrom(cl, cl.get("model"), cl.get("volume"), cl.get("labels")), &feedback);
  checkOpNames(config, study.graph());
  if (cl.has("calibration")) {
    const std::string file = cl.get("calibration");
    std::ifstream in(file);
    if (!in) throw Error(file + ": cannot open calibration file");
    nlohmann::json j;
    try {
      in >> j;
    } catch (const std::exception& e) {
      throw Error(file + ": invalid JSON (" + std::string(e.what()) + ")");
    }
    study.setCalibration(config.calibrationPatches, config.calibrationSeed,
                         quant::CalibrationData::fromJson(j, study.graph(), file));
  }
  std::unique_ptr<quant::Int8Model> model = quant::buildInt8Model(study, config, &feedback, graphOptions);
  model->save(cl.get("out"));
  progress.finish();
  const auto bytes = std::filesystem::file_size(cl.get("out"));
  const auto fp32Bytes = std::filesystem::file_size(cl.get("model"));
  const auto& cov = model->coverage();
  std::printf("%s: %d of %zu ops INT8 (%s engine, %s graph), %.2f MB (FP32 file %.2f MB, %.2fx)\n",
              cl.get("out").c_str(), cov.integerOps(), cov.ops.size(), model->engine().c_str(),
              model->graphOptions().id().c_str(), bytes / 1e6, fp32Bytes / 1e6, double(bytes) / double(fp32Bytes));
  for (const auto& op : cov.ops)
    if (!op.integer) std::printf("  FP32 %-32s %s\n", op.name.c_str(), op.reason.c_str());
  return 0;
}

}  // namespace mqb::cli
