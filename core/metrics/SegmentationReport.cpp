#include "metrics/SegmentationReport.h"

#include <cmath>
#include <cstdio>
#include <sstream>

namespace mqb {
namespace {
nlohmann::json numberOrNull(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }
std::string fixed3(double v) {
  if (!std::isfinite(v)) return "--";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}
}  // namespace

nlohmann::json scoresToJson(const SegmentationScores& s) {
  nlohmann::json organs = nlohmann::json::array();
  for (const auto& o : s.organs)
    organs.push_back({{"id", o.id},
                      {"name", o.name},
                      {"dsc", numberOrNull(o.dsc)},
                      {"nsd", numberOrNull(o.nsd)},
                      {"predicted_voxels", o.predictedVoxels},
                      {"reference_voxels", o.referenceVoxels}});
  return {{"organs", organs},
          {"mean_dsc", numberOrNull(s.meanDsc)},
          {"mean_nsd", numberOrNull(s.meanNsd)},
          {"tolerance_mm", s.toleranceMm}};
}

std::string formatScoresTable(const SegmentationScores& s, const std::string& title) {
  std::ostringstream out;
  char tol[32];
  std::snprintf(tol, sizeof tol, "NSD@%gmm", s.toleranceMm);
  char line[256];
  out << title << "\n";
  std::snprintf(line, sizeof line, "  %-3s %-24s %7s %9s\n", "id", "organ", "DSC", tol);
  out << line;
  for (const auto& o : s.organs) {
    std::snprintf(line, sizeof line, "  %-3d %-24s %7s %9s\n", o.id, o.name.c_str(), fixed3(o.dsc).c_str(),
                  fixed3(o.nsd).c_str());
    out << line;
  }
  std::snprintf(line, sizeof line, "  %-28s %7s %9s\n", "mean", fixed3(s.meanDsc).c_str(), fixed3(s.meanNsd).c_str());
  out << line;
  return out.str();
}

double deltaPercent(double value, double reference) {
  if (!std::isfinite(value) || !std::isfinite(reference) || reference == 0.0) return NAN;
  return (reference - value) / reference * 100.0;
}

std::string formatWithDelta(double value, double reference, bool isReference) {
  if (isReference) return fixed3(value) + " (--)";
  const double delta = deltaPercent(value, reference);
  if (!std::isfinite(delta)) return fixed3(value);
  char buf[64];
  // One decimal everywhere (0.2%, 54.9%), so columns compare; improvements get an arrow.
  if (delta < 0) {
    std::snprintf(buf, sizeof buf, "%.3f (%.1f%%↑)", value, -delta);
  } else {
    std::snprintf(buf, sizeof buf, "%.3f (%.1f%%)", value, delta);
  }
  return buf;
}

}  // namespace mqb
