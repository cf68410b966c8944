// medquanbench-cli: the headless front end of the MedQuanBench engine.
#include <torch/torch.h>

#include <cstdlib>
#include <cstring>
#include <thread>
#include <iostream>
#include <string>

#include "runtime/BlasThreads.h"
#include "runtime/CachingCpuAllocator.h"
#include "Commands.h"
#include "support/Error.h"
#include "support/ErrorReason.h"
#include "Interrupts.h"
#include "support/Resources.h"
#include "quant/int8/Int8Engine.h"
#include "quant/int8/Int8Kernels.h"

namespace {

void printUsage() {
  std::cout << "MedQuanBench " << mqb::versionString()
            << " - post-training quantization of 3D medical segmentation models\n\n"
               "usage: medquanbench-cli <command> [options]   (medquanbench-cli <command> --help)\n\n"
               "commands:\n"
               "  segment    FP32 segmentation of a CT volume, DSC/NSD against ground truth\n"
               "  compare    DSC/NSD per organ between two label maps\n"
               "  inspect    model metadata, parameters and quantizable operations\n"
               "  quantize   segmentation with a fake-quantized model, drop vs FP32 and agreement\n"
               "  analyze    layer-wise errors, activation histograms, sensitivity ranking (JSON)\n"
               "  sweep      benchmark table over models x precisions x granularities (--shard i/N)\n"
               "  merge      combine sharded sweep results into the table\n"
               "  export-int8  INT8 TorchScript model with packed integer weights (runs with segment)\n"
               "  demo       the built-in demo: bundled models on the sample CT, headless report\n"
               "  phantom    write a synthetic abdominal CT phantom and its label map\n"
               "  --version  print the version\n";
}

}  // namespace

int main(int argc, char** argv) {
  mqb::cli::installInterruptWatcher();
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    printUsage();
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  // Debian's LibTorch starts with one intra-op thread here (OpenMP reports 1); use every
  // core unless the user chose with OMP_NUM_THREADS (e.g. SLURM --cpus-per-task).
  if (!std::getenv("OMP_NUM_THREADS"))
    torch::set_num_threads(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  mqb::setBlasThreads(torch::get_num_threads());
  mqb::installCachingCpuAllocator();
  // INT8 model files (export-int8) call mqb::int8_* operators and unpack their weights for
  // the current quantized engine when loaded: both must be in place before any load.
  mqb::quant::registerInt8Operators();
  if (command == "--version" || command == "version") {
    std::cout << "medquanbench-cli " << mqb::versionString() << "\n";
    return 0;
  }
  try {
    if (!mqb::quant::availableInt8Engines().empty()) mqb::quant::useInt8Engine(mqb::quant::chooseInt8Engine());
    if (command == "segment") return mqb::cli::runSegment(argc - 2, argv + 2);
    if (command == "compare") return mqb::cli::runCompare(argc - 2, argv + 2);
    if (command == "inspect") return mqb::cli::runInspect(argc - 2, argv + 2);
    if (command == "phantom") return mqb::cli::runPhantom(argc - 2, argv + 2);
    if (command == "quantize") return mqb::cli::runQuantize(argc - 2, argv + 2);
    if (command == "analyze") return mqb::cli::runAnalyze(argc - 2, argv + 2);
    if (command == "sweep") return mqb::cli::runSweep(argc - 2, argv + 2);
    if (command == "merge") return mqb::cli::runMerge(argc - 2, argv + 2);
    if (command == "demo") return mqb::cli::runDemo(argc - 2, argv + 2);
    if (command == "export-int8") return mqb::cli::runExportInt8(argc - 2, argv + 2);
    std::cerr << "medquanbench-cli: unknown command '" << command << "' (see --help)\n";
    return 2;
  } catch (const std::exception& e) {
    if (dynamic_cast<const mqb::Canceled*>(&e) || mqb::cli::interruptRequested()) {
      std::cerr << "\nmedquanbench-cli: cancelled; nothing was written\n";
      return 130;
    }
    if (dynamic_cast<const mqb::Error*>(&e)) {
      std::cerr << "\nerror: " << e.what() << "\n";
      return 1;
    }
    // Anything not translated by the engine (e.g. a torch error deep in a forward).
    std::cerr << "\nerror: " << mqb::errorReason(e.what()) << "\n";
    return 1;
  }
}
