#pragma once
// The per-organ comparison table as CSV, Markdown or LaTeX (for papers), and the two-row
// MedQuanBench benchmark table (FP32 + quantized, SPEC section 8). Qt-free.
#include <string>

#include "SessionTypes.h"
#include "quant/int8/RealInt8Measurement.h"

namespace mqb::gui {

enum class TableFormat { Csv, Markdown, Latex, Json };
// By file extension: .csv, .md / .markdown, .tex, .json; throws mqb::Error otherwise.
TableFormat tableFormatForPath(const std::string& path);

// Organ | FP32 DSC | Q DSC (Δ%) | FP32 NSD | Q NSD (Δ%) | agreement DSC | agreement NSD,
// then the mean. Without ground truth only the agreement columns. CSV holds plain numbers
// (NaN for skipped organs) plus the delta% columns.
std::string formatComparisonTable(const ComparisonTable& table, TableFormat format);
// The FP32 row and the quantized row of the benchmark table (Framework | Architecture |
// Category | Param | Precision | Quant-Granularity | DSC | NSD), written by core's
// BenchmarkTable exactly as the CLI writes it; needs ground truth (mqb::Error otherwise).
// A real-INT8 result (`realInt8`, AnalysisSession::realInt8Measurement) adds the Speed-up and
// Size columns, as the CLI's sweep --real-int8 does.
std::string formatBenchmarkRows(const ComparisonTable& table, const quant::QuantConfig& settings, TableFormat format,
                                const quant::RealInt8Measurement* realInt8 = nullptr);

// "26.9 M" (core formatParameters)
std::string formatParameterCount(int64_t parameters);

}  // namespace mqb::gui
