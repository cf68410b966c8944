#pragma once
// Every failure the engine reports to a user is an mqb::Error whose message names the
// file (or option) and the problem, so front ends can print it as one line.
#include <stdexcept>
#include <string>

namespace mqb {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Thrown when a Feedback was cancelled; long jobs unwind without producing a result.
class Canceled : public Error {
 public:
  Canceled() : Error("cancelled by the user") {}
};

}  // namespace mqb
