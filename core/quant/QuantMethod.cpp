#include "quant/QuantMethod.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <sstream>

#include "support/Error.h"

namespace mqb::quant {
namespace {

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, sep)) parts.push_back(part);
  if (!text.empty() && text.back() == sep) parts.emplace_back();
  return parts;
}

std::string lower(std::string t) {
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
  std::replace(t.begin(), t.end(), '_', '-');
  t.erase(std::remove_if(t.begin(), t.end(), [](unsigned char c) { return std::isspace(c); }), t.end());
  return t;
}

const char* kValid = "rtn, gptq[:act-order][:damp=X][:block=N], bias-correction, or gptq+bias-correction";

void parseGptqOption(const std::string& option, const std::string& text, QuantMethod& m) {
  const size_t eq = option.find('=');
  const std::string key = option.substr(0, eq), value = eq == std::string::npos ? "" : option.substr(eq + 1);
  try {
    size_t used = 0;
    if (key == "act-order" && eq == std::string::npos) {
      m.gptqActOrder = true;
      return;
    }
    if (key == "damp" && !value.empty()) {
      const double d = std::stod(value, &used);
      if (used == value.size() && d > 0 && d <= 1) {
        m.gptqDampening = d;
        return;
      }
    }
    if (key == "block" && !value.empty()) {
      const long n = std::stol(value, &used);
      if (used == value.size() && n >= 1 && n <= 1 << 20) {
        m.gptqBlockSize = static_cast<int>(n);
        return;
      }
    }
  } catch (const std::exception&) {
  }
  throw Error("method '" + text + "': gptq option '" + option +
              "' is not act-order, damp=X (0 < X <= 1) or block=N (N >= 1)");
}

}  // namespace

std::string QuantMethod::id() const {
  std::string s = weights == WeightMethod::Gptq ? "gptq" : (biasCorrection ? "" : "rtn");
  if (weights == WeightMethod::Gptq) {
    if (gptqActOrder) s += ":act-order";
    if (gptqDampening != QuantMethod().gptqDampening) {
      // The shortest text that reads back as the same double, so ids round-trip exactly.
      std::string text;
      for (int digits = 6; digits <= 17; ++digits) {
        std::ostringstream d;
        d.precision(digits);
        d << gptqDampening;
        text = d.str();
        if (std::stod(text) == gptqDampening) break;
      }
      s += ":damp=" + text;
    }
    if (gptqBlockSize != QuantMethod().gptqBlockSize) s += ":block=" + std::to_string(gptqBlockSize);
  }
  if (biasCorrection) s += s.empty() ? "bias-correction" : "+bias-correction";
  return s;
}

std::string QuantMethod::title() const {
  std::string s = weights == WeightMethod::Gptq ? "GPTQ" : "RTN";
  if (biasCorrection) s += "+BC";
  return s;
}

QuantMethod QuantMethod::parse(const std::string& text) {
  QuantMethod m;
  const std::string t = lower(text);
  if (t.empty()) throw Error("empty method (valid: " + std::string(kValid) + ")");
  bool weightMethodSeen = false;
  std::string parts = t;
  std::replace(parts.begin(), parts.end(), '+', ',');
  for (const std::string& part : split(parts, ',')) {
    const std::vector<std::string> words = split(part, ':');
    const std::string& name = words.empty() ? part : words[0];
    if (name == "rtn" || name == "gptq") {
      if (weightMethodSeen) throw Error("method '" + text + "' names two weight methods; choose one of rtn, gptq");
      weightMethodSeen = true;
      m.weights = name == "gptq" ? WeightMethod::Gptq : WeightMethod::Rtn;
      if (name == "rtn" && words.size() > 1) throw Error("method '" + text + "': rtn takes no options");
      for (size_t i = 1; i < words.size(); ++i) parseGptqOption(words[i], text, m);
    } else if (name == "bias-correction" || name == "bc") {
      if (words.size() > 1) throw Error("method '" + text + "': bias-correction takes no options");
      if (m.biasCorrection) throw Error("method '" + text + "' names bias-correction twice");
      m.biasCorrection = true;
    } else {
      throw Error("unknown method '" + (part.empty() ? text : part) + "' (valid: " + kValid + ")");
    }
  }
  return m;
}

bool QuantMethod::operator==(const QuantMethod& o) const {
  if (weights != o.weights || biasCorrection != o.biasCorrection) return false;
  // GPTQ's options change nothing for round-to-nearest.
  return weights != WeightMethod::Gptq ||
         (gptqDampening == o.gptqDampening && gptqBlockSize == o.gptqBlockSize && gptqActOrder == o.gptqActOrder);
}

const std::vector<std::string>& availableMethods() {
  static const std::vector<std::string> all{"rtn", "gptq", "bias-correction", "gptq+bias-correction"};
  return all;
}

}  // namespace mqb::quant
