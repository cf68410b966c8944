#pragma once
// How the quantized weights are chosen (SPEC section 10): the method axis beside precision,
// granularity and calibrator. Round-to-nearest (`rtn`) is the baseline; a weight method
// picks other integer levels on the same min-max grid from calibration data, and bias
// correction then removes the mean output shift the quantized weights leave per channel.
// Methods compose in the SPEC's fixed order (weight method -> bias correction). Plain data
// without torch, like QuantConfig, so the desktop application can name a method.
#include <string>
#include <vector>

namespace mqb::quant {

enum class WeightMethod { Rtn, Gptq };

struct QuantMethod {
  WeightMethod weights = WeightMethod::Rtn;
  bool biasCorrection = false;
  // GPTQ (Frantar et al. 2022): dampening relative to mean(diag H), columns per lazy-update
  // block, and quantizing columns in descending diag(H) order ("act-order").
  double gptqDampening = 0.01;
  int gptqBlockSize = 128;
  bool gptqActOrder = false;

  bool roundToNearest() const { return weights == WeightMethod::Rtn && !biasCorrection; }
  // Canonical text, accepted back by parse(): "rtn", "gptq", "gptq:act-order:damp=0.05+bias-correction",
  // "bias-correction" (round-to-nearest weights, then bias correction).
  std::string id() const;
  // Short form for tables and titles: "RTN", "GPTQ", "GPTQ+BC", "RTN+BC".
  std::string title() const;
  // Parts joined by '+' or ',' in any order, at most one weight method; "gptq" takes options
  // after colons: act-order, damp=X (0 < X <= 1), block=N (N >= 1). Throws mqb::Error naming
  // the part and the valid names.
  static QuantMethod parse(const std::string& text);
  bool operator==(const QuantMethod& o) const;
  bool operator!=(const QuantMethod& o) const { return !(*this == o); }
};

// The methods a user is offered, as parse() texts (the CLI's help, the GUI's list).
const std::vector<std::string>& availableMethods();

}  // namespace mqb::quant
