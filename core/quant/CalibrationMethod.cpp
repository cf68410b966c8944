#include "quant/CalibrationMethod.h"

#include <algorithm>
#include <cctype>
#include <sstream>

#include "support/Error.h"

namespace mqb::quant {

namespace {

std::string lowercase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

}  // namespace

std::string CalibrationMethod::toString() const {
  switch (kind) {
    case CalibrationKind::MinMax: return "minmax";
    case CalibrationKind::Mse: return "mse";
    case CalibrationKind::Entropy: return "entropy";
    case CalibrationKind::Percentile: {
      std::ostringstream s;
      s.precision(10);
      s << "percentile:" << percentile;
      return s.str();
    }
  }
  return "minmax";
}

CalibrationMethod CalibrationMethod::parse(const std::string& text) {
  const std::string t = lowercase(text);
  CalibrationMethod m;
  if (t == "minmax") return m;
  if (t == "mse") {
    m.kind = CalibrationKind::Mse;
    return m;
  }
  if (t == "entropy") {
    m.kind = CalibrationKind::Entropy;
    return m;
  }
  const std::string prefix = "percentile";
  if (t.compare(0, prefix.size(), prefix) == 0) {
    m.kind = CalibrationKind::Percentile;
    if (t.size() == prefix.size()) return m;
    if (t[prefix.size()] == ':') {
      const std::string number = t.substr(prefix.size() + 1);
      size_t used = 0;
      try {
        m.percentile = std::stod(number, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used == number.size() && used > 0 && m.percentile > 0.0 && m.percentile <= 100.0) return m;
    }
  }
  throw Error("unknown calibration method '" + text + "' (use minmax, percentile, percentile:<p>, mse or entropy)");
}

const std::vector<CalibrationKind>& allCalibrationKinds() {
  static const std::vector<CalibrationKind> kinds{CalibrationKind::MinMax, CalibrationKind::Percentile,
                                                  CalibrationKind::Mse, CalibrationKind::Entropy};
  return kinds;
}

}  // namespace mqb::quant
