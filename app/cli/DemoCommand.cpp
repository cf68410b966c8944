#include <filesystem>
#include <iostream>

#include "study/BenchmarkTable.h"
#include "CommandLine.h"
#include "Commands.h"
#include "demo/DemoData.h"
#include "support/Error.h"
#include "support/Resources.h"

namespace mqb::cli {

int runDemo(int argc, char** argv) {
  CommandLine cl("demo", "The built-in demo, headless: the bundled models on the sample CT (or a volume you give),\n"
                         "FP32 and quantized, written as the benchmark table (Markdown, CSV, JSON, LaTeX).");
  cl.option("volume", "V", "CT volume to use instead of the sample data");
  cl.option("series", "UID", "the DICOM series to read when the --volume folder holds several");
  cl.option("labels", "GT", "its ground truth (with --volume)");
  cl.option("label-map", "NAME", "remap table for --labels");
  cl.option("out", "DIR", "output folder", false, "medquanbench-demo");
  cl.option("precisions", "P,...", "precisions", false, "FP32,W8A8,W4A4");
  cl.option("granularities", "G,...", "granularities", false, "per-tensor,per-channel,adaptive");
  if (!cl.parse(argc, argv)) return 0;
  DemoVolume v = resolveDemoVolume(cl.get("volume"), defaultCacheDir());
  if (cl.has("labels")) {
    v.labels = cl.get("labels");
    v.labelMap = cl.get("label-map");
  }
  const auto models = bundledModels();
  if (models.empty()) throw Error("no bundled models in " + bundledModelDir() + " (train them with models/train.sh)");
  if (v.labels.empty()) throw Error(v.ct + ": the demo table needs ground truth; give --labels");
  std::cout << "MedQuanBench demo: " << models.size() << " model(s) on " << v.ct << " (" << v.origin << ")\n";
  std::filesystem::create_directories(cl.get("out"));
  std::string modelList;
  for (const auto& m : models) modelList += (modelList.empty() ? "" : ",") + m;
  std::vector<std::string> args = {"--models",        modelList,
                                   "--volume",        v.ct,
                                   "--labels",        v.labels,
                                   "--precisions",    cl.get("precisions"),
                                   "--granularities", cl.get("granularities"),
                                   "--out",           cl.get("out") + "/table"};
  if (!v.labelMap.empty()) args.insert(args.end(), {"--label-map", v.labelMap});
  if (cl.has("series")) args.insert(args.end(), {"--series", cl.get("series")});
  std::vector<char*> argvSweep;
  for (auto& a : args) argvSweep.push_back(a.data());
  const int rc = runSweep(static_cast<int>(argvSweep.size()), argvSweep.data());
  if (rc == 0)
    std::cout << "\ntable written to " << cl.get("out") << "/table.{md,csv,json,tex}\n"
              << "open it in the desktop application: medquanbench --demo\n";
  return rc;
}

}  // namespace mqb::cli
