#include "model/SegmentationModel.h"

#include <torch/csrc/jit/api/module.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_set>

#include "support/Error.h"
#include "runtime/CancelPoint.h"
#include "runtime/FastConvolutions.h"
#include "runtime/FusedInstanceNorm.h"
#include "support/ErrorReason.h"

namespace fs = std::filesystem;

namespace mqb {
namespace {

// Torch error texts carry C++ stack traces, and TorchScript's start with a line that only
// says an operation failed; errorReason keeps the line with the reason.
std::string firstLine(const std::string& s) { return errorReason(s); }

std::string shapeString(const torch::Tensor& t) {
  std::ostringstream s;
  s << "[";
  for (int64_t i = 0; i < t.dim(); ++i) s << (i ? "," : "") << t.size(i);
  s << "]";
  return s.str();
}

}  // namespace

torch::Device parseDevice(const std::string& name) {
  if (name == "cpu") return torch::Device(torch::kCPU);
  if (name.rfind("cuda", 0) == 0) {
    if (!torch::cuda::is_available())
      throw Error("device '" + name + "': this LibTorch build has no usable CUDA device");
    try {
      return torch::Device(name);
    } catch (const c10::Error& e) {
      throw Error("device '" + name + "': " + firstLine(e.what()));
    }
  }
  throw Error("device '" + name + "': unknown device (use cpu, cuda or cuda:N)");
}

SegmentationModel::SegmentationModel(torch::jit::Module m, ModelMetadata md, std::string path, torch::Device d)
    : module_(std::move(m)), metadata_(std::move(md)), path_(std::move(path)), device_(d) {}

SegmentationModel SegmentationModel::load(const std::string& path, const std::string& deviceName) {
  const torch::Device device = parseDevice(deviceName);
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw Error(path + ": model file not found");

  torch::jit::ExtraFilesMap extra{{"medquanbench.json", ""}};
  torch::jit::Module module;
  try {
    module = torch::jit::load(path, device, extra);
  } catch (const std::exception& e) {
    throw Error(path + ": not a TorchScript model (" + firstLine(e.what()) + ")");
  }

  std::string metadataText = extra["medquanbench.json"];
  std::string metadataSource = path + " (embedded medquanbench.json)";
  if (metadataText.empty()) {
    const fs::path sidecar = fs::path(path).replace_extension(".json");
    std::ifstream in(sidecar);
    if (!in)
      throw Error(path + ": model has no metadata (no embedded medquanbench.json and no " +
                  sidecar.filename().string() + " beside it)");
    std::stringstream ss;
    ss << in.rdbuf();
    metadataText = ss.str();
    metadataSource = sidecar.string();
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(metadataText);
  } catch (const std::exception& e) {
    throw Error(metadataSource + ": invalid JSON metadata: " + firstLine(e.what()));
  }
  ModelMetadata md = ModelMetadata::fromJson(j, metadataSource);

  module.eval();
  SegmentationModel model(module, md, path, device);
  // Each parameter tensor once: a module reachable by two paths (a decoder keeping a
  // reference to its encoder) or a tied weight is listed under every path.
  std::unordered_set<const void*> counted;
  for (const auto& p : module.parameters())
    if (counted.insert(p.unsafeGetTensorImpl()).second) model.parameterCount_ += p.numel();

  try {
    model.frozen_ = torch::jit::freeze(module);
    auto graph = model.frozen_.get_method("forward").graph();
    if (device.is_cpu()) {
      model.fastConvolutions_ = useFastConvolutions(graph);
      useFusedInstanceNorms(*graph);
    }
    model.cancelPoints_ = insertCancelPoints(*graph);  // after oneDNN: see runtime/CancelPoint.h
  } catch (const std::exception& e) {
    throw Error(path + ": cannot prepare the model for inference (" + firstLine(e.what()) + ")");
  }

  // Validation forward on a deterministic pseudo-CT patch.
  torch::NoGradGuard noGrad;
  const auto& ps = md.patchSize;
  torch::Tensor probe = torch::linspace(0, 1, ps[0] * ps[1] * ps[2], torch::kFloat32)
                            .reshape({1, 1, ps[0], ps[1], ps[2]})
                            .expand({1, md.inputChannels, ps[0], ps[1], ps[2]})
                            .contiguous()
                            .to(device);
  torch::Tensor out;
  try {
    out = model.predict(probe);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(path + ": forward on a " + shapeString(probe) + " patch (input_channels=" +
                std::to_string(md.inputChannels) + ", patch_size from the metadata) failed: " + firstLine(e.what()));
  }
  const int64_t classes = static_cast<int64_t>(md.classes.size());
  if (out.dim() != 5 || out.size(0) != 1 || out.size(1) != classes || out.size(2) != ps[0] || out.size(3) != ps[1] ||
      out.size(4) != ps[2])
    throw Error(path + ": output shape " + shapeString(out) + " for a " + shapeString(probe) + " input; expected [1," +
                std::to_string(classes) + "," + std::to_string(ps[0]) + "," + std::to_string(ps[1]) + "," +
                std::to_string(ps[2]) + "] (" + std::to_string(classes) + " classes in the metadata)");
  if (!torch::isfinite(out).all().item<bool>())
    throw Error(path + ": the model produces NaN or infinite outputs on a test patch");
  return model;
}

torch::Tensor SegmentationModel::predict(const torch::Tensor& batch) {
  torch::NoGradGuard noGrad;
  torch::IValue out = frozen_.forward({batch});
  if (out.isTensor()) return out.toTensor();
  // Models that return deep-supervision lists/tuples: the first entry is full resolution.
  if (out.isTuple()) return out.toTuple()->elements().at(0).toTensor();
  if (out.isList()) return out.toList().get(0).toTensor();
  throw Error(path_ + ": the model's forward does not return a tensor");
}

}  // namespace mqb
