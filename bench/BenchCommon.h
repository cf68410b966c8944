#pragma once
// Shared helpers of the benchmark programs: where the anchor model and the example CT
// are, wall-clock timing, medians, and the process's memory high-water mark.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/Resources.h"

namespace mqb::bench {

namespace fs = std::filesystem;

#ifndef MQB_DATA_DIR
#define MQB_DATA_DIR ""
#endif

using Clock = std::chrono::steady_clock;
inline double secondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
template <typename F>
double timeIt(F&& f) {
  const auto t = Clock::now();
  f();
  return secondsSince(t);
}

// CPU time of the whole process (all threads). On a shared, oversubscribed machine it
// counts the work done rather than the time slices other processes took, so ratios of
// CPU times are far less noisy than ratios of wall times (cache and memory-bandwidth
// interference remain).
inline double cpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}
// System (kernel) CPU time of the process: mostly page faults of fresh allocations here.
inline double systemCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_stime.tv_sec + 1e-6 * u.ru_stime.tv_usec;
}
struct Timing {
  double wall = 0, cpu = 0, sys = 0;
};
template <typename F>
Timing timeBoth(F&& f) {
  const auto t = Clock::now();
  const double c = cpuSeconds(), k = systemCpuSeconds();
  f();
  return {secondsSince(t), cpuSeconds() - c, systemCpuSeconds() - k};
}

inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}
inline double minOf(const std::vector<double>& v) { return v.empty() ? 0 : *std::min_element(v.begin(), v.end()); }
inline double maxOf(const std::vector<double>& v) { return v.empty() ? 0 : *std::max_element(v.begin(), v.end()); }

inline fs::path executableDir() {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::current_path() : p.parent_path();
}

// The anchor model (bench/make_unet.py): $MQB_BENCH_MODEL, else <build>/bench-unet-<patch>.pt
// beside the bin/ folder of this program. Empty when it does not exist.
inline std::string benchModelPath(int patch = 96) {
  if (const char* env = std::getenv("MQB_BENCH_MODEL"); env && *env) return env;
  fs::path p = executableDir() / ".." / ("bench-unet-" + std::to_string(patch) + ".pt");
  std::error_code ec;
  return fs::weakly_canonical(p, ec).string();
}

inline std::string modelHint(int patch = 96) {
  return "generate it with: /usr/bin/python3 bench/make_unet.py --out <build>/bench-unet-" + std::to_string(patch) +
         ".pt --patch " + std::to_string(patch) + " (or point MQB_BENCH_MODEL at a model)";
}

// The example CT: $MQB_DATA_DIR (or ../shared/data, or the CMake MQB_DATA_DIR) /abdomen-ct/example_ct.nii.gz.
// Empty when absent.
inline std::string exampleCtPath() {
  std::error_code ec;
  std::vector<fs::path> roots{fs::path(sampleDataDir())};
  if (std::string(MQB_DATA_DIR).size()) roots.emplace_back(MQB_DATA_DIR);
  for (const auto& r : roots) {
    fs::path p = r / "abdomen-ct" / "example_ct.nii.gz";
    if (fs::is_regular_file(p, ec)) return p.string();
  }
  return "";
}

// Peak resident set size of this process (VmHWM from /proc/self/status), in bytes.
inline long long peakRssBytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::atoll(line.c_str() + 6) * 1024LL;
  return -1;
}
inline long long currentRssBytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atoll(line.c_str() + 6) * 1024LL;
  return -1;
}
// getrusage's ru_maxrss (kilobytes on Linux), in bytes.
inline long long ruMaxRssBytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<long long>(u.ru_maxrss) * 1024LL;
}

inline double loadAverage1() {
  double l[3] = {0, 0, 0};
  return getloadavg(l, 3) > 0 ? l[0] : -1;
}

}  // namespace mqb::bench
