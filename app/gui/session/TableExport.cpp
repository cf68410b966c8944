#include "TableExport.h"

#include <cmath>
#include <cstdio>

#include "study/BenchmarkTable.h"
#include "support/Error.h"
#include "support/FileChecks.h"
#include "metrics/SegmentationReport.h"

namespace mqb::gui {
namespace {

std::string num(double v) {
  if (!std::isfinite(v)) return "--";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

std::string csvNum(double v, int decimals = 4) {
  if (!std::isfinite(v)) return "NaN";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string withDelta(double v, double ref) {
  if (!std::isfinite(v)) return "--";
  return formatWithDelta(v, ref);
}

// The table through core's one writer (study/BenchmarkTable.h); LaTeX as a captioned table float
// with a rule above the mean row.
std::string render(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows,
                   TableFormat format, const std::string& caption) {
  switch (format) {
    case TableFormat::Csv: return csvTable(header, rows);
    case TableFormat::Markdown:
      return (caption.empty() ? std::string() : caption + "\n\n") + markdownTable(header, rows);
    case TableFormat::Latex: {
      const size_t meanRow = !rows.empty() && rows.back()[0] == "mean" ? rows.size() - 1 : static_cast<size_t>(-1);
      std::string s = "\\begin{table}[t]\n\\centering\n";
      if (!caption.empty()) s += "\\caption{" + latexEscape(caption) + "}\n";
      s += latexTabular(header, rows, "l" + std::string(header.size() > 1 ? header.size() - 1 : 0, 'c'), meanRow);
      return s + "\\end{table}\n";
    }
    case TableFormat::Json:  // callers produce JSON themselves
      break;
  }
  return {};
}

}  // namespace

TableFormat tableFormatForPath(const std::string& path) {
  if (hasSuffixIgnoringCase(path, ".csv")) return TableFormat::Csv;
  if (hasSuffixIgnoringCase(path, ".md") || hasSuffixIgnoringCase(path, ".markdown")) return TableFormat::Markdown;
  if (hasSuffixIgnoringCase(path, ".tex")) return TableFormat::Latex;
  if (hasSuffixIgnoringCase(path, ".json")) return TableFormat::Json;
  throw Error(path + ": unknown table format (use .csv, .md, .tex or .json)");
}

std::string formatParameterCount(int64_t p) { return formatParameters(p); }

std::string formatComparisonTable(const ComparisonTable& t, TableFormat format) {
  if (format == TableFormat::Json) {
    nlohmann::json organs = nlohmann::json::array();
    auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
    for (const auto& o : t.organs)
      organs.push_back({{"id", o.id},
                        {"name", o.name},
                        {"fp32_dsc", num(o.fp32Dsc)},
                        {"quantized_dsc", num(o.quantDsc)},
                        {"fp32_nsd", num(o.fp32Nsd)},
                        {"quantized_nsd", num(o.quantNsd)},
                        {"agreement_dsc", num(o.agreeDsc)},
                        {"agreement_nsd", num(o.agreeNsd)},
                        {"fp32_voxels", o.fp32Voxels},
                        {"quantized_voxels", o.quantVoxels},
                        {"truth_voxels", o.truthVoxels}});
    const nlohmann::json j = {{"model", t.modelName},
                              {"model_file", t.modelPath},
                              {"volume", t.volumeName},
                              {"precision", t.precision},
                              {"configuration", t.configuration},
                              {"ground_truth", t.haveTruth},
                              {"tolerance_mm", t.toleranceMm},
                              {"organs", organs},
                              {"mean",
                               {{"fp32_dsc", num(t.meanFp32Dsc)},
                                {"quantized_dsc", num(t.meanQuantDsc)},
                                {"fp32_nsd", num(t.meanFp32Nsd)},
                                {"quantized_nsd", num(t.meanQuantNsd)},
                                {"agreement_dsc", num(t.meanAgreeDsc)},
                                {"agreement_nsd", num(t.meanAgreeNsd)}}}};
    return j.dump(2) + "\n";
  }
  const std::string tol = csvNum(t.toleranceMm, 1);
  const std::string q = t.precision;
  std::vector<std::string> header{"Organ"};
  if (t.haveTruth) {
    if (format == TableFormat::Csv) {
      header.insert(header.end(), {"FP32 DSC", q + " DSC", q + " DSC drop %", "FP32 NSD@" + tol + "mm",
                                   q + " NSD@" + tol + "mm", q + " NSD drop %"});
    } else {
      header.insert(header.end(),
                    {"FP32 DSC", q + " DSC (↓Δ%)", "FP32 NSD@" + tol + "mm", q + " NSD@" + tol + "mm (↓Δ%)"});
    }
  }
  header.insert(header.end(), {"Agreement DSC", "Agreement NSD@" + tol + "mm"});
  std::vector<std::vector<std::string>> rows;
  auto addRow = [&](const std::string& name, double fd, double qd, double fn, double qn, double ad, double an) {
    std::vector<std::string> r{name};
    if (t.haveTruth) {
      if (format == TableFormat::Csv) {
        r.insert(r.end(), {csvNum(fd), csvNum(qd), csvNum(deltaPercent(qd, fd), 2), csvNum(fn), csvNum(qn),
                           csvNum(deltaPercent(qn, fn), 2)});
      } else {
        r.insert(r.end(), {num(fd), withDelta(qd, fd), num(fn), withDelta(qn, fn)});
      }
    }
    if (format == TableFormat::Csv) {
      r.insert(r.end(), {csvNum(ad), csvNum(an)});
    } else {
      r.insert(r.end(), {num(ad), num(an)});
    }
    rows.push_back(r);
  };
  for (const auto& o : t.organs) addRow(o.name, o.fp32Dsc, o.quantDsc, o.fp32Nsd, o.quantNsd, o.agreeDsc, o.agreeNsd);
  addRow("mean", t.meanFp32Dsc, t.meanQuantDsc, t.meanFp32Nsd, t.meanQuantNsd, t.meanAgreeDsc, t.meanAgreeNsd);
  const std::string caption = t.modelName + ": FP32 vs " + t.configuration + " (NSD tolerance " + tol + " mm)";
  return render(header, rows, format, caption);
}

std::string formatBenchmarkRows(const ComparisonTable& t, const quant::QuantConfig& settings, TableFormat format,
                                const quant::RealInt8Measurement* realInt8) {
  if (!t.haveTruth) throw Error("the benchmark table needs ground truth (File > Open ground truth)");
  // The CLI's table (core/BenchmarkTable), so GUI exports and sweeps look the same.
  BenchmarkTable table;
  table.toleranceMm = t.toleranceMm;
  if (!t.volumeName.empty()) table.volumes = {t.volumeName};
  BenchmarkRow fp32;
  fp32.model = t.modelPath;
  fp32.framework = t.framework;
  fp32.architecture = t.architecture;
  fp32.category = t.category;
  fp32.parameters = t.parameterCount;
  fp32.precision = "FP32";
  fp32.dsc = fp32.fp32Dsc = t.meanFp32Dsc;
  fp32.nsd = fp32.fp32Nsd = t.meanFp32Nsd;
  fp32.agreementDsc = 1.0;
  table.rows.push_back(fp32);
  if (!settings.precision.floatingPoint) {
    BenchmarkRow q = fp32;
    q.order = 1;
    q.precision = settings.precision.id();
    q.granularity = quant::granularityId(settings.granularity);
    if (!settings.method.roundToNearest()) q.method = settings.method.id();
    q.dsc = t.meanQuantDsc;
    q.nsd = t.meanQuantNsd;
    q.agreementDsc = t.meanAgreeDsc;
    if (settings.execution == quant::Execution::RealInt8 && realInt8) {
      q.execution = quant::executionId(quant::Execution::RealInt8);
      q.speedup = realInt8->speedup();
      q.sizeRatio = realInt8->sizeRatio();
    }
    table.rows.push_back(q);
  }
  switch (format) {
    case TableFormat::Csv: return table.toCsv();
    case TableFormat::Latex: return table.toLatex();
    case TableFormat::Json: return table.toJson().dump(2) + "\n";
    default: return table.toMarkdown();
  }
}

}  // namespace mqb::gui
