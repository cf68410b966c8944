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
