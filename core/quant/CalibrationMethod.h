#pragma once
// Which calibrator turns the observed statistics into static activation ranges (SPEC
// section 3). Plain data without torch, so configurations and the desktop application can
// name a method without seeing the Calibrator that implements it (quant/Calibrator.h).
#include <string>
#include <vector>

namespace mqb::quant {

enum class CalibrationKind { MinMax, Percentile, Mse, Entropy };

struct CalibrationMethod {
  CalibrationKind kind = CalibrationKind::MinMax;
  double percentile = 99.99;  // Percentile only

  bool needsHistogram() const { return kind != CalibrationKind::MinMax; }
  // "minmax", "percentile:99.99", "mse", "entropy"
  std::string toString() const;
  // Accepts toString() forms, and "percentile" alone for the default p. Throws mqb::Error.
  static CalibrationMethod parse(const std::string& text);
  bool operator==(const CalibrationMethod& o) const {
    return kind == o.kind && (kind != CalibrationKind::Percentile || percentile == o.percentile);
  }
  bool operator!=(const CalibrationMethod& o) const { return !(*this == o); }
};

// Every kind, in the order a user is offered them (the GUI's calibrator list).
const std::vector<CalibrationKind>& allCalibrationKinds();

}  // namespace mqb::quant
