#pragma once
#include <sstream>
#include <string>

namespace mqb {

// What mqb::cancel_point (runtime/CancelPoint.h) throws when the Feedback its thread watches was
// cancelled; the TorchScript interpreter keeps it inside its own error text.
constexpr const char* kCancelPointMessage = "mqb::cancel_point: the forward was cancelled";

inline bool isCancelPointError(const std::string& what) {
  return what.find(kCancelPointMessage) != std::string::npos;
}

// The line of a library exception's text that says what failed. A TorchScript interpreter
// error starts with "The following operation failed in the TorchScript interpreter." and a
// traceback; its reason is the last "SomethingError: ..." line. Other texts (c10::Error with
// "Exception raised from ..." frames) keep their first non-empty line.
inline std::string errorReason(const std::string& what) {
  std::istringstream lines(what);
  std::string line, first, lastError;
  while (std::getline(lines, line)) {
    const size_t a = line.find_first_not_of(" \t\r");
    if (a == std::string::npos) continue;
    line = line.substr(a);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (first.empty()) first = line;
    const size_t colon = line.find("Error: ");
    if (colon != std::string::npos && line.find(' ') > colon) lastError = line;
  }
  if (what.find("TorchScript interpreter") != std::string::npos && !lastError.empty()) return lastError;
  return first.empty() ? std::string("unknown error") : first;
}

}  // namespace mqb
