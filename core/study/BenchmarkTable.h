#pragma once
// The benchmark table of the MedQuanBench paper (SPEC section 8): one row per model x
// precision x granularity, written as Markdown, CSV, JSON and LaTeX. Rows carry their
// FP32 reference, so partial tables from sharded sweeps merge into the same table.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace mqb {

struct BenchmarkRow {
  int order = 0;      // position in the full sweep (merge sorts by it)
  std::string model;  // model file
  std::string framework, architecture, category;
  int64_t parameters = 0;
  std::string precision;    // "FP32", "W8A8"
  std::string granularity;  // "per-channel", "" for FP32
  // The quantization method (QuantMethod::id(), SPEC section 10); "" for FP32 rows and for
  // tables swept without methods, which keep the paper's columns.
  std::string method;
  double dsc = 0, nsd = 0;          // mean over volumes of the mean over organs
  double fp32Dsc = 0, fp32Nsd = 0;  // the same model's FP32 values
  double agreementDsc = 0;          // vs the FP32 prediction
  double seconds = 0;
  // Quantized rows: what ran quantized (quant::Coverage::summary(), e.g. "81/105 contractions
  // quantized (92.1 % of the MACs per patch); FP32: 24 unsupported"); shown as a footnote.
  std::string coverage;
  // Real integer execution (SPEC section 9): "" for simulated rows, "real-int8" otherwise,
  // with the measured speed-up over the FP32 run and the model file size over the FP32 file.
  std::string execution;
  double speedup = 0;
  double sizeRatio = 0;
  bool isReference() const { return precision == "FP32"; }
  bool isRealInt8() const { return execution == "real-int8"; }
};

struct BenchmarkTable {
  std::vector<BenchmarkRow> rows;
  double toleranceMm = 2.0;
  std::vector<std::string> volumes;
  int expectedRows = 0;  // of the full sweep; a shard holds fewer
  std::string shard;     // "i/N" for a partial result, "" for a full table

  // Whether the table carries the optional Speed-up and Size columns (some real-INT8 row).
  bool hasExecutionColumns() const;
  // Whether the table carries the Method column (some row names a method).
  bool hasMethodColumn() const;
  std::vector<std::string> header() const;

  std::string toMarkdown() const;
  std::string toCsv() const;
  std::string toLatex() const;
  nlohmann::json toJson() const;
  static BenchmarkTable fromJson(const nlohmann::json& j, const std::string& source);
  // Writes <prefix>.md/.csv/.json/.tex atomically.
  void write(const std::string& prefix) const;
  // Merges partial tables; throws mqb::Error when rows are missing or duplicated.
  static BenchmarkTable merge(const std::vector<BenchmarkTable>& parts);
};

// The project's one Markdown / CSV / LaTeX table writer (this table, the desktop
// application's per-organ score table).
using TableRows = std::vector<std::vector<std::string>>;
// "| a | b |" header, "|---|---|" rule, one line per row.
std::string markdownTable(const std::vector<std::string>& header, const TableRows& rows);
// Comma-separated; fields with , " or a newline quoted (RFC 4180).
std::string csvTable(const std::vector<std::string>& header, const TableRows& rows);
std::string csvField(const std::string& text);
// \begin{tabular}{<columns>} ... \end{tabular} with \hline around the header and at the end;
// one more \hline before row `ruleBeforeRow` (e.g. the mean) when it is a row index.
std::string latexTabular(const std::vector<std::string>& header, const TableRows& rows, const std::string& columns,
                         size_t ruleBeforeRow = static_cast<size_t>(-1));
// Text for LaTeX: \ & % $ # _ { } ~ ^ escaped; ↑ ↓ Δ as math symbols.
std::string latexEscape(const std::string& text);

// "26.9 M" style parameter count.
std::string formatParameters(int64_t parameters);
// Table precision label: "FP32" or "INT W8A8"; granularity label: "--" or "Per-channel".
std::string precisionLabel(const std::string& precisionId);
std::string granularityLabel(const std::string& granularityId);

}  // namespace mqb
