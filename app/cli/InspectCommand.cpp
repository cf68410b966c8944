#include <iostream>

#include "CommandLine.h"
#include "Commands.h"
#include "SegmentationModel.h"

namespace mqb::cli {

int runInspect(int argc, char** argv) {
  CommandLine cl("inspect", "Print a model's metadata, parameter count and quantizable operations.");
  cl.option("model", "M.pt", "TorchScript model with MedQuanBench metadata", true);
  cl.flag("json", "print the metadata as JSON");
  if (!cl.parse(argc, argv)) return 0;
  SegmentationModel model = SegmentationModel::load(cl.get("model"));
  const ModelMetadata& md = model.metadata();
  if (cl.has("json")) {
    std::cout << md.toJson().dump(2) << "\n";
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
  return 0;
}

}  // namespace mqb::cli
