#include <cmath>
#include <iostream>
#include <memory>
#include <sstream>

#include "support/AtomicFile.h"
#include "study/BenchmarkTable.h"
#include "Commands.h"
#include "ConsoleProgress.h"
#include "support/Error.h"
#include "support/JsonField.h"
#include "ModelErrors.h"
#include "Preflight.h"
#include "QuantOptions.h"
#include "quant/int8/Int8Model.h"
#include "quant/QuantCoverage.h"

namespace mqb::cli {
namespace {

struct Configuration {
  int order;
  size_t model;
  std::string precision, granularity;  // granularity "" for FP32
  std::string method;                  // QuantMethod::id(); "" for FP32 and for a sweep without --methods
  bool realInt8 = false;               // the same configuration on LibTorch's integer kernels
};

std::pair<int, int> parseShard(const std::string& s) {
  const auto slash = s.find('/');
  try {
    if (slash != std::string::npos) {
      const int i = std::stoi(s.substr(0, slash)), n = std::stoi(s.substr(slash + 1));
      if (n >= 1 && i >= 0 && i < n) return {i, n};
    }
  } catch (...) {
  }
  throw Error("--shard expects i/N with 0 <= i < N, got '" + s + "'");
}

// The four table files of one prefix, as part of the command's outputs.
void writeTable(const BenchmarkTable& table, const std::string& prefix, OutputTransaction& output) {
  output.writeText(prefix + ".md", table.toMarkdown());
  output.writeText(prefix + ".csv", table.toCsv());
  output.writeText(prefix + ".json", table.toJson().dump(2) + "\n");
  output.writeText(prefix + ".tex", table.toLatex());
}

double mean(const std::vector<double>& v) {
  double s = 0;
  int n = 0;
  for (double x : v)
    if (std::isfinite(x)) s += x, ++n;
  return n ? s / n : NAN;
}

}  // namespace

int runSweep(int argc, char** argv) {
  CommandLine cl("sweep",
                 "Benchmark table over models x precisions x granularities (SPEC section 8), written as\n"
                 "<out>.md, .csv, .json and .tex. FP32 is computed once per model and reused. With\n"
                 "--shard i/N only every N-th configuration runs and <out>.json is a partial result for `merge`.");
  addStudyOptions(cl, true);
  addQuantOptions(cl, false);
  cl.option("precisions", "P,...", "precisions", false, "FP32,W8A8,W4A4");
  cl.option("granularities", "G,...", "granularities", false, "per-tensor,per-channel,per-voxel,adaptive");
  cl.option("methods", "M,...",
            "quantization methods (a method combines parts with '+'), e.g. rtn,gptq,gptq+bias-correction; "
            "adds a Method column (SPEC section 10)");
  cl.flag("real-int8",
          "also run every W8A8 per-tensor / per-channel configuration on LibTorch's integer kernels: extra rows "
          "with the speed-up over FP32 (time per window, same process and threads) and the size of the INT8 file");
  cl.option("shard", "i/N", "run only shard i of N (SLURM job arrays)");
  cl.option("out", "table", "output prefix", true);
  if (!cl.parse(argc, argv)) return 0;

  const auto models = cl.getList("models");
  const auto volumes = cl.getList("volume");
  const auto labels = cl.getList("labels");
  if (volumes.size() != labels.size())
    throw Error("sweep: " + std::to_string(volumes.size()) + " volume(s) but " + std::to_string(labels.size()) +
                " label map(s); give one label map per volume");
  const std::vector<std::string> series = seriesPerVolume(cl, volumes.size());
  // Methods are separated by ',' (a method's own parts by '+': gptq+bias-correction), or by
  // ';' when one is written with commas as --method takes it ("rtn;gptq,bias-correction").
  std::vector<std::string> methods;
  if (cl.has("methods")) {
    const std::string text = cl.get("methods");
    const char separator = text.find(';') != std::string::npos ? ';' : ',';
    std::string part;
    std::istringstream in(text);
    while (std::getline(in, part, separator)) methods.push_back(quant::QuantMethod::parse(part).id());
    if (methods.empty()) throw Error("sweep: --methods names no method");
  } else {
    methods.push_back("");
  }
  std::vector<Configuration> configs;
  for (size_t m = 0; m < models.size(); ++m) {
    configs.push_back({static_cast<int>(configs.size()), m, "FP32", "", ""});
    for (const auto& p : cl.getList("precisions")) {
      if (quant::Precision::parse(p).floatingPoint) continue;
      for (const auto& g : cl.getList("granularities"))
        for (const auto& method : methods) {
          const quant::QuantConfig config =
              quantConfigFrom(cl, p, g, method);  // validate every string before the long run
          configs.push_back({static_cast<int>(configs.size()), m, quant::Precision::parse(p).id(),
                             quant::granularityId(quant::parseGranularity(g)), method});
          if (!cl.has("real-int8")) continue;
          try {
            quant::Int8Model::checkConfig(config);
          } catch (const Error&) {
            continue;  // simulated only (e.g. W4A4, per-voxel): the integer kernels are W8A8 per-tensor grids
          }
          configs.push_back(configs.back());
          configs.back().order = static_cast<int>(configs.size()) - 1;
          configs.back().realInt8 = true;
        }
    }
  }
  int shard = 0, shards = 1;
  if (cl.has("shard")) std::tie(shard, shards) = parseShard(cl.get("shard"));
  const std::vector<std::string> extensions =
      cl.has("shard") ? std::vector<std::string>{".json"} : std::vector<std::string>{".md", ".csv", ".json", ".tex"};
  {
    Preflight p;
    for (const auto& m : models) p.input(m, "model");
    for (const auto& v : volumes) p.input(v, "volume", true);
    for (const auto& l : labels) p.input(l, "label map");
    p.labelMapTable(cl.get("label-map"));
    for (const auto& ext : extensions) p.output(cl.get("out") + ext);
    p.check();
  }

  BenchmarkTable table;
  table.toleranceMm = cl.getDouble("tolerance-mm");
  table.volumes = volumes;
  table.expectedRows = static_cast<int>(configs.size());
  if (cl.has("shard")) table.shard = cl.get("shard");

  Feedback feedback;
  ConsoleProgress progress(feedback, cl.has("quiet"));
  std::vector<std::unique_ptr<quant::QuantizationStudy>> studies;  // per volume, current model
  size_t currentModel = SIZE_MAX;
  std::vector<quant::ContractionCoverage> modelMacs;  // the current model's contractions with their MACs
  int done = 0, mine = 0;
  for (const auto& c : configs) mine += c.order % shards == shard;
  for (const auto& c : configs) {
    if (c.order % shards != shard) continue;
    if (c.model != currentModel) {
      studies.clear();
      for (size_t v = 0; v < volumes.size(); ++v)
        studies.push_back(withModelContext(models[c.model], [&] {
          return std::make_unique<quant::QuantizationStudy>(
              studyInputsFrom(cl, models[c.model], volumes[v], labels[v], series[v]), &feedback);
        }));
      currentModel = c.model;
      modelMacs.clear();
      if (cl.has("exclude")) checkOpNames(quantConfigFrom(cl, "W8A8", "per-tensor"), studies[0]->graph());
    }
    const auto& md = studies[0]->model().metadata();
    BenchmarkRow row;
    row.order = c.order;
    row.model = models[c.model];
    row.framework = md.framework;
    row.architecture = md.architecture;
    row.category = md.category;
    row.parameters = studies[0]->model().parameterCount();
    row.precision = c.precision;
    row.granularity = c.granularity;
    row.method = c.method;
    std::vector<double> dsc, nsd, fdsc, fnsd, agree, speedups;
    if (c.realInt8) row.execution = "real-int8";
    double seconds = 0;
    for (auto& study : studies) {
      const auto& fp = *withModelContext(row.model, [&]() -> decltype(auto) { return study->fp32Scores(&feedback); });
      fdsc.push_back(fp.meanDsc);
      fnsd.push_back(fp.meanNsd);
      if (c.precision == "FP32") {
        dsc.push_back(fp.meanDsc);
        nsd.push_back(fp.meanNsd);
        agree.push_back(1.0);
        seconds += study->fp32().seconds;
      } else if (c.realInt8) {
        // The study runs it like any configuration (the same path as the desktop app) and
        // measures time per window against its FP32 run and the INT8 model's size.
        quant::QuantConfig config = quantConfigFrom(cl, c.precision, c.granularity, c.method);
        config.execution = quant::Execution::RealInt8;
        quant::QuantizedRun run = withModelContext(row.model, [&] { return study->runQuantized(config, &feedback); });
        if (run.scores) {
          dsc.push_back(run.scores->meanDsc);
          nsd.push_back(run.scores->meanNsd);
        }
        agree.push_back(run.agreement.meanDsc);
        seconds += run.inference.seconds;
        const auto measured = study->realInt8Measurement(config);
        if (!measured) throw Error(row.model + ": the real-INT8 run recorded no measurement");
        speedups.push_back(measured->speedup());
        if (row.sizeRatio == 0) row.sizeRatio = measured->sizeRatio();
        if (row.coverage.empty())
          row.coverage = std::to_string(measured->integerOps) + "/" + std::to_string(measured->totalOps) +
                         " ops on integer kernels (" + measured->engine + ")";
      } else {
        const quant::QuantConfig config = quantConfigFrom(cl, c.precision, c.granularity, c.method);
        if (row.coverage.empty()) {
          if (modelMacs.empty()) modelMacs = quant::coverageOf(study->graph(), nullptr, md).contractions;
          std::vector<int64_t> macs;
          for (const auto& e : modelMacs) macs.push_back(e.macs);
          row.coverage = quant::coverageOf(study->graph(), &config, macs).summary();
        }
        quant::QuantizedRun run = withModelContext(row.model, [&] { return study->runQuantized(config, &feedback); });
        // What the method did (and skipped) and the edge layers belong to the row's note;
        // its time counts in the row's seconds (the cost targets).
        if (const auto adjusted = study->cachedMethodWeights(config)) {
          if (row.coverage.find("; method ") == std::string::npos) row.coverage += "; method " + adjusted->summary();
          seconds += adjusted->seconds;
        }
        if (config.edgeBits > 0 && row.coverage.find("; edges ") == std::string::npos)
          row.coverage += "; edges W" + std::to_string(config.edgeBits) + "A" + std::to_string(config.edgeBits);
        dsc.push_back(run.scores->meanDsc);
        nsd.push_back(run.scores->meanNsd);
        agree.push_back(run.agreement.meanDsc);
        seconds += run.inference.seconds;
      }
    }
    row.dsc = mean(dsc);
    row.nsd = mean(nsd);
    row.fp32Dsc = mean(fdsc);
    row.fp32Nsd = mean(fnsd);
    row.agreementDsc = mean(agree);
    row.seconds = seconds;
    if (c.realInt8) row.speedup = mean(speedups);
    table.rows.push_back(row);
    ++done;
    progress.finish();
    std::cerr << "[" << done << "/" << mine << "] " << md.name << " " << c.precision << " "
              << (c.granularity.empty() ? "--" : c.granularity) << (c.method.empty() ? "" : " " + c.method)
              << (c.realInt8 ? " real INT8" : "") << ": DSC " << row.dsc << " NSD " << row.nsd << "\n";
  }
  OutputTransaction output;
  if (cl.has("shard")) {
    output.writeText(cl.get("out") + ".json", table.toJson().dump(2) + "\n");
    feedback.throwIfCanceled();
    output.commit();
    std::cout << "partial result " << shard << "/" << shards << " (" << table.rows.size() << " of " << configs.size()
              << " configurations) written to " << cl.get("out") << ".json\n";
  } else {
    writeTable(table, cl.get("out"), output);
    feedback.throwIfCanceled();
    output.commit();
    std::cout << table.toMarkdown();
  }
  return 0;
}

int runMerge(int argc, char** argv) {
  CommandLine cl("merge", "Combine the partial results of `sweep --shard i/N` into the benchmark table.");
  cl.option("parts", "a.json,b.json,...", "partial results written by sweep --shard", true);
  cl.option("out", "table", "output prefix (.md, .csv, .json, .tex)", true);
  if (!cl.parse(argc, argv)) return 0;
  Preflight preflight;
  for (const auto& p : cl.getList("parts")) preflight.input(p, "partial result");
  for (const char* ext : {".md", ".csv", ".json", ".tex"}) preflight.output(cl.get("out") + ext);
  preflight.check();
  std::vector<BenchmarkTable> parts;
  for (const auto& p : cl.getList("parts")) {
    const nlohmann::json j = readJsonFile(p, "partial result");
    try {
      parts.push_back(BenchmarkTable::fromJson(j, p));
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Error(p + ": not a sweep partial result: " + jsonReason(e));
    }
  }
  BenchmarkTable t = BenchmarkTable::merge(parts);
  OutputTransaction output;
  writeTable(t, cl.get("out"), output);
  output.commit();
  std::cout << t.toMarkdown();
  return 0;
}

}  // namespace mqb::cli
