#include <cstdio>
#include <iostream>

#include "CommandLine.h"
#include "Commands.h"
#include "Preflight.h"
#include "model/SegmentationModel.h"
#include "quant/QuantCoverage.h"
#include "quant/QuantizableGraph.h"

namespace mqb::cli {

int runInspect(int argc, char** argv) {
  CommandLine cl("inspect", "Print a model's metadata, parameter count, quantizable operations and the coverage:\n"
                            "every contraction of the frozen graph, the share of its multiply-accumulates per patch\n"
                            "the engine quantizes, and each contraction it leaves in FP32 with the reason.");
  cl.option("model", "M.pt", "TorchScript model with MedQuanBench metadata", true);
  cl.flag("json", "print the metadata as JSON");
  if (!cl.parse(argc, argv)) return 0;
  Preflight().input(cl.get("model"), "model").check();
  SegmentationModel model = SegmentationModel::load(cl.get("model"));
  const ModelMetadata& md = model.metadata();
  const quant::QuantizableGraph graph(model.module(), cl.get("model"));
  const std::vector<int64_t> macs = quant::measureContractionMacs(
      graph, torch::zeros({1, md.inputChannels, md.patchSize[0], md.patchSize[1], md.patchSize[2]}));
  const quant::Coverage coverage = quant::coverageOf(graph, nullptr, macs);
  auto shape = [](const std::vector<int64_t>& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) out += (i ? "x" : "") + std::to_string(s[i]);
    return out.empty() ? std::string("-") : out;
  };
  if (cl.has("json")) {
    nlohmann::json j = {{"metadata", md.toJson()}, {"axis_order", md.axisOrder}, {"parameters", model.parameterCount()}};
    nlohmann::json ops = nlohmann::json::array();
    for (const auto& op : graph.ops()) {
      nlohmann::json o = {{"name", op.name},
                          {"kind", quant::opLabel(op)},
                          {"aten", op.atenName},
                          {"weight_shape", op.weightShape},
                          {"pointwise", op.pointwise}};
      if (!op.einsumEquation.empty()) o["equation"] = op.einsumEquation;
      if (macs[static_cast<size_t>(op.position)] >= 0) o["macs_per_patch"] = macs[static_cast<size_t>(op.position)];
      ops.push_back(o);
    }
    j["quantizable_ops"] = ops;
    j["coverage"] = coverage.toJson();
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << "model:          " << md.name << "  (" << cl.get("model") << ")\n"
            << "framework:      " << md.framework << "\n"
            << "architecture:   " << md.architecture << " [" << md.category << "]\n"
            << "parameters:     " << model.parameterCount() << " (" << model.parameterCount() / 1.0e6 << " M)\n"
            << "input:          " << md.inputChannels << " channel(s), patch " << md.patchSize[0] << "x"
            << md.patchSize[1] << "x" << md.patchSize[2] << " (" << (md.xyzAxes() ? "x,y,z" : "z,y,x")
            << "), spacing " << md.targetSpacing[0] << "x" << md.targetSpacing[1] << "x" << md.targetSpacing[2]
            << " mm, orientation " << md.orientation << "\n"
            << "axis order:     " << md.axisOrder << " (tensor axes [N, C, "
            << (md.xyzAxes() ? "x, y, z]: MONAI / nibabel layout" : "z, y, x]: nnU-Net / SimpleITK layout") << ")\n"
            << "preprocessing:  " << md.preprocessing.describe() << "\n"
            << "classes:        " << md.classes.size() << "\n";
  for (const auto& c : md.classes)
    std::cout << "  " << c.id << "  " << c.name << "  rgb(" << int(c.color[0]) << "," << int(c.color[1]) << ","
              << int(c.color[2]) << ")\n";
  std::cout << "quantizable ops: " << graph.ops().size() << "\n";
  std::printf("  %-4s %-44s %-15s %-22s %14s  %s\n", "#", "name", "kind", "weight", "MACs/patch", "aten");
  for (const auto& op : graph.ops()) {
    const int64_t m = macs[static_cast<size_t>(op.position)];
    const std::string detail = op.einsumEquation.empty() ? op.atenName : "einsum \"" + op.einsumEquation + "\"";
    std::printf("  %-4d %-44s %-15s %-22s %14s  %s%s\n", op.index, op.name.c_str(), quant::opLabel(op).c_str(),
                shape(op.weightShape).c_str(), m >= 0 ? std::to_string(m).c_str() : "-", detail.c_str(),
                op.pointwise ? " (1x1x1)" : "");
  }
  std::cout << "coverage:       " << coverage.summary() << "\n";
  for (const auto& e : coverage.leftovers())
    std::printf("  FP32  %-44s %-15s %14s  %s\n", e.name.c_str(), e.atenName.c_str(),
                e.macs >= 0 ? std::to_string(e.macs).c_str() : "-", e.reason.c_str());
  return 0;
}

}  // namespace mqb::cli
