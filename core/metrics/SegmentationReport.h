#pragma once
// The per-organ report printed and written by the CLI (`segment`, `compare`, `quantize`):
// one definition of its JSON keys and its text table, shared by every command.
#include <nlohmann/json.hpp>
#include <string>

#include "metrics/SegmentationMetrics.h"

namespace mqb {

nlohmann::json scoresToJson(const SegmentationScores& scores);
// "organ  DSC  NSD@2mm" table with the mean; NaN (both masks empty) shows as "--".
std::string formatScoresTable(const SegmentationScores& scores, const std::string& title);
// Relative drop per SPEC section 6 in percent, (reference - value) / reference * 100 (negative
// for an improvement); NaN when either is not finite or the reference is 0. The one Δ% formula
// of the CLI reports, the benchmark table and the desktop application.
double deltaPercent(double value, double reference);
// Relative drop per SPEC section 6: "0.870 (0.2%)", "0.761 (1%↑)", "0.872 (--)" for the reference.
std::string formatWithDelta(double value, double reference, bool isReference = false);

}  // namespace mqb
