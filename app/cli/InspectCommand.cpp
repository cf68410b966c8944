#include <cstdio>
#include <iostream>

#include "CommandLine.h"
#include "Commands.h"
#include "Preflight.h"
#include "SegmentationModel.h"
#include "quant/QuantizableGraph.h"

namespace mqb::cli {

int runInspect(int argc, char** argv) {
  CommandLine cl("inspect", "Print a model's metadata, parameter count and quantizable operations.");
  cl.option("model", "M.pt", "TorchScript model with MedQuanBench metadata", true);
  cl.flag("json", "print the metadata as JSON");
  if (!cl.parse(argc, argv)) return 0;
  Preflight().input(cl.get("model"), "model").check();
  SegmentationModel model = SegmentationModel::load(cl.get("model"));
  const ModelMetadata& md = model.metadata();
  const quant::QuantizableGraph graph(model.module(), cl.get("model"));
  auto shape = [](const std::vector<int64_t>& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) out += (i ? "x" : "") + std::to_string(s[i]);
    return out.empty() ? std::string("-") : out;
  };
  if (cl.has("json")) {
    nlohmann::json j = {{"metadata", md.toJson()}, {"parameters", model.parameterCount()}};
    nlohmann::json ops = nlohmann::json::array();
    for (const auto& op : graph.ops())
      ops.push_back({{"name", op.name}, {"kind", quant::opKindName(op.kind)}, {"aten", op.atenName},
                     {"weight_shape", op.weightShape}, {"pointwise", op.pointwise}});
    j["quantizable_ops"] = ops;
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << "model:          " << md.name << "  (" << cl.get("model") << ")\n"
            << "framework:      " << md.framework << "\n"
            << "architecture:   " << md.architecture << " [" << md.category << "]\n"
            << "parameters:     " << model.parameterCount() << " ("
            << model.parameterCount() / 1.0e6 << " M)\n"
            << "input:          " << md.inputChannels << " channel(s), patch " << md.patchSize[0] << "x"
            << md.patchSize[1] << "x" << md.patchSize[2] << " (DxHxW), spacing " << md.targetSpacing[0]
            << "x" << md.targetSpacing[1] << "x" << md.targetSpacing[2] << " mm, orientation "
            << md.orientation << "\n"
            << "preprocessing:  " << md.preprocessing.describe() << "\n"
            << "classes:        " << md.classes.size() << "\n";
  for (const auto& c : md.classes)
    std::cout << "  " << c.id << "  " << c.name << "  rgb(" << int(c.color[0]) << "," << int(c.color[1])
              << "," << int(c.color[2]) << ")\n";
  std::cout << "quantizable ops: " << graph.ops().size() << "\n";
  std::printf("  %-4s %-36s %-15s %-22s %s\n", "#", "name", "kind", "weight", "aten");
  for (const auto& op : graph.ops())
    std::printf("  %-4d %-36s %-15s %-22s %s%s\n", op.index, op.name.c_str(), quant::opKindName(op.kind).c_str(),
                shape(op.weightShape).c_str(), op.atenName.c_str(), op.pointwise ? " (1x1x1)" : "");
  return 0;
}

}  // namespace mqb::cli
