#include "study/BenchmarkTable.h"

#include "support/JsonField.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "support/AtomicFile.h"
#include "support/Error.h"
#include "metrics/SegmentationReport.h"
#include "quant/QuantConfig.h"

namespace mqb {
namespace {

struct Cells {
  std::vector<std::string> c;
};

const std::vector<std::string> kHeader = {"Framework", "Architecture",      "Category",  "Param",
                                          "Precision", "Quant-Granularity", "DSC (↓Δ%)", "NSD (↓Δ%)"};

const std::vector<std::string> kExecutionHeader = {"Speed-up", "Size"};

std::string ratioCell(double v) {
  if (!(v > 0)) return "--";
  char b[32];
  std::snprintf(b, sizeof b, "%.2fx", v);
  return b;
}

std::string methodLabel(const BenchmarkRow& r) {
  return r.isReference() || r.method.empty() ? "--" : quant::QuantMethod::parse(r.method).title();
}

std::vector<std::string> cellsOf(const BenchmarkRow& r, bool executionColumns, bool methodColumn) {
  std::vector<std::string> c{r.framework,
                             r.architecture,
                             r.category,
                             formatParameters(r.parameters),
                             precisionLabel(r.precision) + (r.isRealInt8() ? " (real)" : ""),
                             r.isReference() ? "--" : granularityLabel(r.granularity),
                             formatWithDelta(r.dsc, r.fp32Dsc, r.isReference()),
                             formatWithDelta(r.nsd, r.fp32Nsd, r.isReference())};
  if (methodColumn) c.insert(c.begin() + 6, methodLabel(r));
  if (executionColumns) {
    c.push_back(r.isRealInt8() ? ratioCell(r.speedup) : "--");
    c.push_back(r.isRealInt8() ? ratioCell(r.sizeRatio) : "--");
  }
  return c;
}

// One line per model and distinct coverage of its quantized rows, so a number for a model
// whose attention stayed FP32 is never read as a fully quantized one.
std::vector<std::string> coverageNotes(const std::vector<BenchmarkRow>& rows) {
  std::vector<std::string> notes;
  std::set<std::string> seen;
  for (const auto& r : rows) {
    if (r.isReference() || r.coverage.empty()) continue;
    const std::string note = r.architecture + " (" + r.model + "): " + r.coverage;
    if (seen.insert(note).second) notes.push_back(note);
  }
  return notes;
}

}  // namespace

std::string csvField(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string latexEscape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    switch (c) {
      case '&':
      case '%':
      case '$':
      case '#':
      case '_':
      case '{':
      case '}':
        out += '\\';
        out += c;
        continue;
      case '~': out += "\\textasciitilde{}"; continue;
      case '^': out += "\\textasciicircum{}"; continue;
      case '\\': out += "\\textbackslash{}"; continue;
      default: break;
    }
    if (s.compare(i, 3, "↑") == 0) {
      out += "$\\uparrow$";
      i += 2;
    } else if (s.compare(i, 3, "↓") == 0) {
      out += "$\\downarrow$";
      i += 2;
    } else if (s.compare(i, 2, "Δ") == 0) {
      out += "$\\Delta$";
      i += 1;
    } else {
      out += c;
    }
  }
  return out;
}

std::string markdownTable(const std::vector<std::string>& header, const TableRows& rows) {
  std::ostringstream s;
  s << "|";
  for (const auto& h : header) s << " " << h << " |";
  s << "\n|";
  for (size_t i = 0; i < header.size(); ++i) s << "---|";
  s << "\n";
  for (const auto& r : rows) {
    s << "|";
    for (const auto& c : r) s << " " << c << " |";
    s << "\n";
  }
  return s.str();
}

std::string csvTable(const std::vector<std::string>& header, const TableRows& rows) {
  std::ostringstream s;
  for (size_t i = 0; i < header.size(); ++i) s << (i ? "," : "") << csvField(header[i]);
  s << "\n";
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) s << (i ? "," : "") << csvField(r[i]);
    s << "\n";
  }
  return s.str();
}

std::string latexTabular(const std::vector<std::string>& header, const TableRows& rows, const std::string& columns,
                         size_t ruleBeforeRow) {
  std::ostringstream s;
  s << "\\begin{tabular}{" << columns << "}\n\\hline\n";
  for (size_t i = 0; i < header.size(); ++i)
    s << latexEscape(header[i]) << (i + 1 < header.size() ? " & " : " \\\\\n");
  s << "\\hline\n";
  for (size_t k = 0; k < rows.size(); ++k) {
    if (k == ruleBeforeRow) s << "\\hline\n";
    const auto& c = rows[k];
    for (size_t i = 0; i < c.size(); ++i) s << latexEscape(c[i]) << (i + 1 < c.size() ? " & " : " \\\\\n");
  }
  s << "\\hline\n\\end{tabular}\n";
  return s.str();
}

std::string formatParameters(int64_t p) {
  char buf[32];
  const double m = p / 1.0e6;
  std::snprintf(buf, sizeof buf, m >= 0.1 ? "%.1f M" : "%.3f M", m);
  return buf;
}

std::string precisionLabel(const std::string& id) { return id == "FP32" ? "FP32" : "INT " + id; }

std::string granularityLabel(const std::string& id) {
  if (id.empty()) return "--";
  return quant::granularityTitle(quant::parseGranularity(id));
}

bool BenchmarkTable::hasExecutionColumns() const {
  return std::any_of(rows.begin(), rows.end(), [](const BenchmarkRow& r) { return r.isRealInt8(); });
}

bool BenchmarkTable::hasMethodColumn() const {
  return std::any_of(rows.begin(), rows.end(), [](const BenchmarkRow& r) { return !r.method.empty(); });
}

std::vector<std::string> BenchmarkTable::header() const {
  std::vector<std::string> h = kHeader;
  if (hasMethodColumn()) h.insert(h.begin() + 6, "Method");
  if (hasExecutionColumns()) h.insert(h.end(), kExecutionHeader.begin(), kExecutionHeader.end());
  return h;
}

std::string BenchmarkTable::toMarkdown() const {
  const std::vector<std::string> head = header();
  const bool execution = hasExecutionColumns();
  TableRows cells;
  for (const auto& r : rows) cells.push_back(cellsOf(r, execution, hasMethodColumn()));
  std::ostringstream s;
  s << markdownTable(head, cells);
  char tol[64];
  std::snprintf(tol, sizeof tol, "%g", toleranceMm);
  s << "\nNSD tolerance " << tol << " mm; DSC/NSD are means over organs";
  if (volumes.size() > 1) s << " and over " << volumes.size() << " volumes";
  s << "; Δ% is the relative drop against the same model's FP32 row.\n";
  const auto notes = coverageNotes(rows);
  if (!notes.empty()) {
    s << "\nQuantization coverage (contractions quantized / all in the frozen graph; share of the "
         "multiply-accumulates per patch; FP32 leftovers by reason):\n";
    for (const auto& n : notes) s << "- " << n << "\n";
  }
  if (execution)
    s << "(real) rows ran on integer kernels: Speed-up is the FP32 time over the row's time on the same machine, "
         "Size the INT8 model file over the FP32 file.\n";
  return s.str();
}

std::string BenchmarkTable::toCsv() const {
  std::ostringstream s;
  s << "framework,architecture,category,parameters,precision,granularity,dsc,dsc_delta_percent,nsd,"
       "nsd_delta_percent,fp32_dsc,fp32_nsd,agreement_dsc,tolerance_mm,model";
  const bool execution = hasExecutionColumns();
  s << (execution ? ",execution,speedup,size_ratio" : "") << (hasMethodColumn() ? ",method\n" : "\n");
  for (const auto& r : rows) {
    auto delta = [&](double v, double ref) {
      const double d = deltaPercent(v, ref);
      if (r.isReference() || !std::isfinite(d)) return std::string();
      char b[32];
      std::snprintf(b, sizeof b, "%.3f", d);
      return std::string(b);
    };
    char nums[256];
    std::snprintf(nums, sizeof nums, "%.6f", r.dsc);
    s << csvField(r.framework) << "," << csvField(r.architecture) << "," << r.category << "," << r.parameters << ","
      << r.precision << "," << (r.isReference() ? "" : r.granularity) << "," << nums << "," << delta(r.dsc, r.fp32Dsc);
    std::snprintf(nums, sizeof nums, ",%.6f,%s,%.6f,%.6f,%.6f,%g,", r.nsd, delta(r.nsd, r.fp32Nsd).c_str(), r.fp32Dsc,
                  r.fp32Nsd, r.agreementDsc, toleranceMm);
    s << nums << csvField(r.model);
    if (execution) {
      std::snprintf(nums, sizeof nums, ",%s,%.4f,%.4f", r.isRealInt8() ? "real-int8" : "simulated", r.speedup,
                    r.sizeRatio);
      s << nums;
    }
    if (hasMethodColumn()) s << "," << csvField(r.method);
    s << "\n";
  }
  return s.str();
}

std::string BenchmarkTable::toLatex() const {
  const std::vector<std::string> head = header();
  const bool execution = hasExecutionColumns();
  TableRows cells;
  for (const auto& r : rows) cells.push_back(cellsOf(r, execution, hasMethodColumn()));
  std::ostringstream s;
  s << latexTabular(head, cells, std::string(head.size(), 'l'));
  for (const auto& n : coverageNotes(rows))
    s << "\\par{\\footnotesize Quantization coverage: " << latexEscape(n) << "}\n";
  return s.str();
}

nlohmann::json BenchmarkTable::toJson() const {
  const bool execution = hasExecutionColumns();
  nlohmann::json jr = nlohmann::json::array();
  for (const auto& r : rows) {
    jr.push_back({{"order", r.order},
                  {"model", r.model},
                  {"framework", r.framework},
                  {"architecture", r.architecture},
                  {"category", r.category},
                  {"parameters", r.parameters},
                  {"precision", r.precision},
                  {"granularity", r.granularity},
                  {"dsc", r.dsc},
                  {"nsd", r.nsd},
                  {"fp32_dsc", r.fp32Dsc},
                  {"fp32_nsd", r.fp32Nsd},
                  {"agreement_dsc", r.agreementDsc},
                  {"seconds", r.seconds},
                  {"coverage", r.coverage},
                  {"method", r.method},
                  {"cells", cellsOf(r, execution, hasMethodColumn())}});
    if (r.isRealInt8()) {
      jr.back()["execution"] = r.execution;
      jr.back()["speedup"] = r.speedup;
      jr.back()["size_ratio"] = r.sizeRatio;
    }
  }
  return {{"format", "medquanbench-table"},
          {"tolerance_mm", toleranceMm},
          {"volumes", volumes},
          {"expected_rows", expectedRows},
          {"shard", shard},
          {"header", header()},
          {"rows", jr}};
}

BenchmarkTable BenchmarkTable::fromJson(const nlohmann::json& j, const std::string& source) {
  if (j.value("format", "") != "medquanbench-table") throw Error(source + ": not a MedQuanBench table (JSON)");
  BenchmarkTable t;
  try {
    t.toleranceMm = j.at("tolerance_mm").get<double>();
    t.volumes = j.value("volumes", std::vector<std::string>{});
    // Checked integer reads: get<int>() of 1e20 is an undefined float -> int conversion.
    t.expectedRows = jsonValue<int>(j, "expected_rows", 0, source);
    t.shard = j.value("shard", "");
    const nlohmann::json& rows = j.at("rows");
    for (size_t i = 0; i < rows.size(); ++i) {
      const nlohmann::json& r = rows[i];
      const std::string at = "rows[" + std::to_string(i) + "]";
      BenchmarkRow row;
      row.order = jsonRequire<int>(r, "order", source, at);
      row.model = r.at("model").get<std::string>();
      row.framework = r.at("framework").get<std::string>();
      row.architecture = r.at("architecture").get<std::string>();
      row.category = r.at("category").get<std::string>();
      row.parameters = jsonRequire<int64_t>(r, "parameters", source, at);
      row.precision = r.at("precision").get<std::string>();
      row.granularity = r.at("granularity").get<std::string>();
      row.dsc = r.at("dsc").get<double>();
      row.nsd = r.at("nsd").get<double>();
      row.fp32Dsc = r.at("fp32_dsc").get<double>();
      row.fp32Nsd = r.at("fp32_nsd").get<double>();
      row.agreementDsc = r.value("agreement_dsc", 0.0);
      row.seconds = r.value("seconds", 0.0);
      row.coverage = r.value("coverage", "");
      row.execution = r.value("execution", "");
      row.method = r.value("method", "");
      if (!row.method.empty()) row.method = quant::QuantMethod::parse(row.method).id();
      row.speedup = r.value("speedup", 0.0);
      row.sizeRatio = r.value("size_ratio", 0.0);
      t.rows.push_back(row);
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(source + ": malformed table JSON (" + e.what() + ")");
  }
  return t;
}

void BenchmarkTable::write(const std::string& prefix) const {
  writeTextFileAtomically(prefix + ".md", toMarkdown());
  writeTextFileAtomically(prefix + ".csv", toCsv());
  writeTextFileAtomically(prefix + ".json", toJson().dump(2) + "\n");
  writeTextFileAtomically(prefix + ".tex", toLatex());
}

BenchmarkTable BenchmarkTable::merge(const std::vector<BenchmarkTable>& parts) {
  if (parts.empty()) throw Error("merge: no partial tables given");
  BenchmarkTable t;
  t.toleranceMm = parts[0].toleranceMm;
  t.volumes = parts[0].volumes;
  t.expectedRows = parts[0].expectedRows;
  std::set<int> seen;
  for (const auto& p : parts) {
    if (p.toleranceMm != t.toleranceMm || p.volumes != t.volumes || p.expectedRows != t.expectedRows)
      throw Error("merge: partial tables come from different sweeps (volumes, tolerance or size differ)");
    for (const auto& r : p.rows) {
      if (!seen.insert(r.order).second)
        throw Error("merge: configuration " + std::to_string(r.order) + " appears in more than one part");
      t.rows.push_back(r);
    }
  }
  std::sort(t.rows.begin(), t.rows.end(),
            [](const BenchmarkRow& a, const BenchmarkRow& b) { return a.order < b.order; });
  if (t.expectedRows > 0 && static_cast<int>(t.rows.size()) != t.expectedRows) {
    std::string missing;
    for (int i = 0; i < t.expectedRows; ++i)
      if (!seen.count(i)) missing += (missing.empty() ? "" : ", ") + std::to_string(i);
    throw Error("merge: " + std::to_string(t.expectedRows - static_cast<int>(t.rows.size())) +
                " configuration(s) missing (" + missing + "); did every shard finish?");
  }
  return t;
}

}  // namespace mqb
