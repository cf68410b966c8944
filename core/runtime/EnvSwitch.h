#pragma once
// The A/B switches of the engine (MQB_FAST_CONV, MQB_FUSED_NORM, MQB_CANCEL_POINTS, ...):
// each is on unless its environment variable is exactly "0".
#include <cstdlib>
#include <cstring>

namespace mqb {

inline bool envSwitchOff(const char* name) {
  const char* v = std::getenv(name);
  return v && std::strcmp(v, "0") == 0;
}

}  // namespace mqb
