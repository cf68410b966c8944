#include "quant/int8/Int8Engine.h"

#include <ATen/Context.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "support/Error.h"

namespace mqb::quant {
namespace {

std::string engineName(at::QEngine e) {
  switch (e) {
    case at::QEngine::ONEDNN: return "onednn";
    case at::QEngine::QNNPACK: return "qnnpack";
    case at::QEngine::FBGEMM: return "fbgemm";
    case at::QEngine::X86: return "x86";
    case at::QEngine::NoQEngine: return "none";
  }
  return "none";
}

at::QEngine engineFromName(const std::string& name) {
  for (at::QEngine e : at::globalContext().supportedQEngines())
    if (engineName(e) == name) return e;
  std::string known;
  for (const auto& n : availableInt8Engines()) known += (known.empty() ? "" : ", ") + n;
  throw Error("quantized engine '" + name +
              "' is not available in this LibTorch (available: " + (known.empty() ? "none" : known) + ")");
}

}  // namespace

std::vector<std::string> availableInt8Engines() {
  std::vector<std::string> names;
  for (at::QEngine e : at::globalContext().supportedQEngines())
    if (e != at::QEngine::NoQEngine) names.push_back(engineName(e));
  return names;
}

std::string chooseInt8Engine() {
  if (const char* env = std::getenv("MQB_INT8_ENGINE"); env && *env) {
    engineFromName(env);
    return env;
  }
  const auto names = availableInt8Engines();
  for (const char* preferred : {"onednn", "x86", "fbgemm", "qnnpack"})
    for (const auto& n : names)
      if (n == preferred) return n;
  throw Error("this LibTorch has no quantized engine: real INT8 execution is not possible here");
}

bool int8AccumulatorMaySaturate(const std::string& engine) {
  if (engine == "qnnpack") return false;  // widens to int32 before accumulating
#if defined(__x86_64__) || defined(__i386__)
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line))
    if (line.rfind("flags", 0) == 0)
      return line.find(" avx512_vnni") == std::string::npos && line.find(" avx_vnni") == std::string::npos;
  return true;
#else
  return false;
#endif
}

void useInt8Engine(const std::string& engine) { at::globalContext().setQEngine(engineFromName(engine)); }

std::string currentInt8Engine() { return engineName(at::globalContext().qEngine()); }

}  // namespace mqb::quant
