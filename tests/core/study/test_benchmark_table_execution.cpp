// The optional Speed-up and Size columns of the benchmark table for real-INT8 rows.
#include <gtest/gtest.h>

#include "study/BenchmarkTable.h"
#include "support/Error.h"

using namespace mqb;

namespace {

BenchmarkRow row(int order, const std::string& precision, const std::string& execution = "") {
  BenchmarkRow r;
  r.order = order;
  r.model = "m.pt";
  r.framework = "nnUNet";
  r.architecture = "nnU-Net";
  r.category = "CNN";
  r.parameters = 2500000;
  r.precision = precision;
  r.granularity = precision == "FP32" ? "" : "per-tensor";
  r.dsc = 0.9, r.nsd = 0.8, r.fp32Dsc = 0.9, r.fp32Nsd = 0.8;
  r.execution = execution;
  if (execution == "real-int8") r.speedup = 2.345, r.sizeRatio = 0.2712;
  return r;
}

}  // namespace

TEST(BenchmarkTableExecution, RealInt8RowsAddSpeedAndSizeColumnsInEveryFormat) {
  BenchmarkTable t;
  t.rows = {row(0, "FP32"), row(1, "W8A8"), row(2, "W8A8", "real-int8")};
  ASSERT_TRUE(t.hasExecutionColumns());
  const std::string md = t.toMarkdown();
  EXPECT_NE(md.find("| Speed-up | Size |"), std::string::npos) << md;
  EXPECT_NE(md.find("| INT W8A8 (real) |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 2.35x | 0.27x |"), std::string::npos) << md;
  EXPECT_NE(md.find("| -- | -- |"), std::string::npos) << md;  // simulated and FP32 rows
  const std::string csv = t.toCsv();
  EXPECT_NE(csv.find(",execution,speedup,size_ratio\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",real-int8,2.3450,0.2712\n"), std::string::npos) << csv;
  const std::string tex = t.toLatex();
  EXPECT_NE(tex.find("\\begin{tabular}{llllllllll}"), std::string::npos) << tex;
  const BenchmarkTable back = BenchmarkTable::fromJson(t.toJson(), "t.json");
  ASSERT_EQ(back.rows.size(), 3u);
  EXPECT_EQ(back.rows[2].execution, "real-int8");
  EXPECT_DOUBLE_EQ(back.rows[2].speedup, 2.345);
  EXPECT_DOUBLE_EQ(back.rows[2].sizeRatio, 0.2712);
  EXPECT_EQ(back.rows[1].execution, "");
  EXPECT_EQ(back.toMarkdown(), md);
  // Integers that do not fit are one-line errors naming the field, not a wrapped conversion.
  for (const char* field : {"order", "parameters"}) {
    nlohmann::json huge = t.toJson();
    huge["rows"][1][field] = 1e20;
    try {
      BenchmarkTable::fromJson(huge, "t.json");
      ADD_FAILURE() << field << " = 1e20 was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("rows[1].") + field), std::string::npos) << e.what();
    }
  }
  nlohmann::json badCount = t.toJson();
  badCount["expected_rows"] = 1e20;
  EXPECT_THROW(BenchmarkTable::fromJson(badCount, "t.json"), Error);
}

TEST(BenchmarkTableExecution, SimulatedOnlyTablesKeepThePaperFormat) {
  BenchmarkTable t;
  t.rows = {row(0, "FP32"), row(1, "W8A8")};
  EXPECT_FALSE(t.hasExecutionColumns());
  EXPECT_EQ(t.header().size(), 8u);
  EXPECT_EQ(t.toMarkdown().find("Speed-up"), std::string::npos);
  EXPECT_EQ(t.toCsv().find("speedup"), std::string::npos);
  EXPECT_NE(t.toLatex().find("\\begin{tabular}{llllllll}\n"), std::string::npos);
}
