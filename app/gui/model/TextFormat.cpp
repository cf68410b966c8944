#include "TextFormat.h"

#include <cmath>
#include <cstdio>

#include "metrics/SegmentationReport.h"

namespace mqb::gui {

std::string fixed(double value, int decimals) {
  if (!std::isfinite(value)) return "--";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

std::string general(double value, int significant) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*g", significant, value);
  return buffer;
}

std::string scoreText(double value) { return fixed(value, 3); }

std::string scoreWithDelta(double value, double reference) {
  return std::isfinite(value) ? formatWithDelta(value, reference) : "--";
}

std::string escapeHtml(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace mqb::gui
