// The one Markdown / CSV / LaTeX table writer (core/BenchmarkTable.h) and the one Δ% formula
// (core/SegmentationReport.h) behind the CLI's benchmark table and the desktop score table.
#include <gtest/gtest.h>

#include <cmath>

#include "study/BenchmarkTable.h"
#include "metrics/SegmentationReport.h"

using namespace mqb;

TEST(TableWriter, LatexEscapesEverySpecialCharacter) {
  // A model or organ name may carry any of them; an unescaped one breaks the paper's build.
  EXPECT_EQ(latexEscape("a\\b&c%d$e#f_g{h}i~j^k"),
            "a\\textbackslash{}b\\&c\\%d\\$e\\#f\\_g\\{h\\}i\\textasciitilde{}j\\textasciicircum{}k");
  EXPECT_EQ(latexEscape("DSC (↓Δ%) 0.9 (1.0%↑)"), "DSC ($\\downarrow$$\\Delta$\\%) 0.9 (1.0\\%$\\uparrow$)");
  EXPECT_EQ(latexEscape("plain text 1.5"), "plain text 1.5");
}

TEST(TableWriter, LatexTabularRulesAndEscapesCells) {
  const std::string tex = latexTabular({"Organ", "DSC"}, {{"left_kidney", "0.9"}, {"mean", "0.8"}}, "lc", 1);
  EXPECT_EQ(tex, "\\begin{tabular}{lc}\n\\hline\nOrgan & DSC \\\\\n\\hline\nleft\\_kidney & 0.9 \\\\\n\\hline\n"
                 "mean & 0.8 \\\\\n\\hline\n\\end{tabular}\n");
}

TEST(TableWriter, MarkdownAndCsv) {
  EXPECT_EQ(markdownTable({"a", "b"}, {{"1", "2"}}), "| a | b |\n|---|---|\n| 1 | 2 |\n");
  EXPECT_EQ(csvTable({"name", "note"}, {{"x,y", "say \"hi\""}}), "name,note\n\"x,y\",\"say \"\"hi\"\"\"\n");
}

TEST(TableWriter, DeltaPercentIsTheRelativeDrop) {
  EXPECT_DOUBLE_EQ(deltaPercent(0.81, 0.9), 10.0);
  EXPECT_NEAR(deltaPercent(0.84, 0.8), -5.0, 1e-12);  // an improvement is negative
  EXPECT_TRUE(std::isnan(deltaPercent(0.5, 0.0)));
  EXPECT_TRUE(std::isnan(deltaPercent(NAN, 0.9)));
  EXPECT_EQ(formatWithDelta(0.81, 0.9), "0.810 (10.0%)");
  EXPECT_EQ(formatWithDelta(0.84, 0.8), "0.840 (5.0%↑)");
}

TEST(BenchmarkTableMethods, AMethodAddsTheMethodColumnToEveryFormatAndSurvivesJson) {
  BenchmarkRow fp32;
  fp32.model = "m.pt", fp32.framework = "nnUNet", fp32.architecture = "nnU-Net", fp32.category = "CNN";
  fp32.precision = "FP32";
  fp32.dsc = fp32.fp32Dsc = 0.9;
  BenchmarkRow q = fp32;
  q.order = 1, q.precision = "W4A8", q.granularity = "per-channel", q.method = "gptq+bias-correction", q.dsc = 0.89;
  BenchmarkTable table;
  table.rows = {fp32};
  // Without a method the paper's columns stay as they are.
  EXPECT_EQ(table.header().size(), 8u);
  EXPECT_EQ(table.toCsv().find("method"), std::string::npos);
  table.rows.push_back(q);
  ASSERT_EQ(table.header().size(), 9u);
  EXPECT_EQ(table.header()[5], "Quant-Granularity");
  EXPECT_EQ(table.header()[6], "Method");
  EXPECT_NE(table.toMarkdown().find("| Per-channel | GPTQ+BC |"), std::string::npos) << table.toMarkdown();
  EXPECT_NE(table.toMarkdown().find("| -- | -- |"), std::string::npos);  // FP32: no granularity, no method
  EXPECT_NE(table.toCsv().find(",method\n"), std::string::npos);
  EXPECT_NE(table.toCsv().find(",gptq+bias-correction\n"), std::string::npos) << table.toCsv();
  EXPECT_NE(table.toLatex().find("GPTQ+BC"), std::string::npos);
  const BenchmarkTable back = BenchmarkTable::fromJson(table.toJson(), "t.json");
  ASSERT_EQ(back.rows.size(), 2u);
  EXPECT_EQ(back.rows[1].method, "gptq+bias-correction");
  EXPECT_EQ(back.toMarkdown(), table.toMarkdown());
}
