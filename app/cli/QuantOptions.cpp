#include "QuantOptions.h"

#include <cmath>

#include "support/Error.h"

namespace mqb::cli {

void addStudyOptions(CommandLine& cl, bool multipleModels) {
  if (multipleModels) {
    cl.option("models", "a.pt,b.pt", "TorchScript models (comma-separated)", true);
    cl.option("volume", "V[,V2...]", "CT volumes (files or DICOM folders, comma-separated)", true);
    cl.option("labels", "GT[,GT2...]", "ground-truth label maps, one per volume", true);
    cl.option("series", "UID[,UID2...]",
              "the DICOM series to read from each --volume folder that holds several (one per volume; empty for others)");
  } else {
    cl.option("model", "M.pt", "TorchScript model with MedQuanBench metadata", true);
    cl.option("volume", "V", "CT volume: NIfTI, NRRD, MHA/MHD file or DICOM series folder", true);
    cl.option("series", "UID", "the DICOM series to read when the --volume folder holds several");
    cl.option("labels", "GT", "ground-truth label map on the CT grid");
  }
  cl.option("label-map", "NAME", "remap ground-truth ids on load (e.g. totalsegmentator-to-btcv)");
  cl.option("tolerance-mm", "MM", "NSD tolerance in mm", false, "2.0");
  cl.option("device", "DEV", "cpu (quantized execution runs on the CPU)", false, "cpu");
  cl.option("window-batch", "N", "windows per forward call", false, "1");
  cl.flag("quiet", "no progress on stderr");
}

void addQuantOptions(CommandLine& cl, bool withPrecisionAndGranularity) {
  if (withPrecisionAndGranularity) {
    cl.option("precision", "WxAy", "FP32, W8A8, W4A4, W4A8, ... (bits 2..16)", false, "W8A8");
    cl.option("granularity", "G", "per-tensor, per-channel, per-voxel or adaptive", false, "per-channel");
    cl.option("method", "M",
              "how the quantized weights are chosen (SPEC section 10): rtn, gptq[:act-order][:damp=X][:block=N], "
              "bias-correction, or a weight method and bias-correction (gptq+bias-correction or gptq,bias-correction)",
              false, "rtn");
  }
  cl.option("edge-bits", "B",
            "run the contractions reading the model input and producing its output at WbAb (0 = off)", false, "0");
  cl.option("calibrator", "C", "minmax, percentile[:p], mse or entropy", false, "minmax");
  cl.flag("asymmetric", "asymmetric activation quantization (weights stay symmetric)");
  cl.option("calibration-patches", "N", "number of calibration patches", false, "16");
  cl.option("seed", "N", "calibration sampling seed", false, "0");
  cl.option("exclude", "OP,...", "ops kept in FP32 (names from `inspect`)");
  cl.flag("no-attention-quant", "keep activation-activation matmuls (attention) in FP32");
  cl.option("calibration", "cal.json", "load calibration statistics instead of computing them");
  cl.option("save-calibration", "cal.json", "write the calibration statistics");
}

quant::StudyInputs studyInputsFrom(const CommandLine& cl, const std::string& model, const std::string& volume,
                                   const std::string& labels, const std::string& series) {
  quant::StudyInputs in;
  in.modelPath = model;
  in.volumePath = volume;
  in.dicomSeriesUid = series;
  in.labelsPath = labels;
  in.labelMap = cl.get("label-map");
  in.device = cl.get("device");
  in.toleranceMm = cl.getDouble("tolerance-mm");
  if (!(in.toleranceMm >= 0) || !std::isfinite(in.toleranceMm)) throw Error("--tolerance-mm must be a number >= 0");
  in.inference.windowBatch = cl.getInt("window-batch");
  if (in.inference.windowBatch < 1) throw Error("--window-batch must be >= 1, got " + cl.get("window-batch"));
  return in;
}

std::vector<std::string> seriesPerVolume(const CommandLine& cl, size_t volumes) {
  if (!cl.has("series")) return std::vector<std::string>(volumes);
  // Split by hand: empty entries are meaningful here.
  std::vector<std::string> uids;
  const std::string text = cl.get("series");
  size_t from = 0;
  for (;;) {
    const size_t comma = text.find(',', from);
    uids.push_back(text.substr(from, comma == std::string::npos ? std::string::npos : comma - from));
    if (comma == std::string::npos) break;
    from = comma + 1;
  }
  if (uids.size() != volumes)
    throw Error("--series: " + std::to_string(uids.size()) + " series UID(s) for " + std::to_string(volumes) +
                " volume(s); give one per --volume, empty for volumes that are files");
  return uids;
}

quant::QuantConfig quantConfigFrom(const CommandLine& cl, const std::string& precision,
                                   const std::string& granularity, const std::string& method) {
  quant::QuantConfig c;
  c.method = quant::QuantMethod::parse(method.empty() ? "rtn" : method);
  c.edgeBits = cl.getInt("edge-bits");
  if (c.edgeBits != 0 && (c.edgeBits < 2 || c.edgeBits > 16))
    throw Error("--edge-bits must be 0 (off) or 2..16, got " + cl.get("edge-bits"));
  c.precision = quant::Precision::parse(precision);
  c.granularity = quant::parseGranularity(granularity);
  c.calibrator = quant::CalibrationMethod::parse(cl.get("calibrator"));
  c.symmetric = !cl.has("asymmetric");
  c.calibrationPatches = cl.getInt("calibration-patches");
  if (c.calibrationPatches < 1) throw Error("--calibration-patches must be >= 1");
  if (cl.getInt("seed") < 0) throw Error("--seed must be >= 0, got " + cl.get("seed"));
  c.calibrationSeed = static_cast<uint32_t>(cl.getInt("seed"));
  c.quantizeActivationMatmul = !cl.has("no-attention-quant");
  for (const auto& op : cl.getList("exclude")) c.excludedOps.insert(op);
  return c;
}

void checkOpNames(const quant::QuantConfig& config, const quant::QuantizableGraph& graph) {
  for (const auto& op : config.excludedOps) graph.op(op);
}

}  // namespace mqb::cli
