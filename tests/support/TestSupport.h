#pragma once
// Shared helpers for the test suites: where the sample data is, and a skip message
// when it is absent (a user's fresh clone has no ../shared/data).
#include <gtest/gtest.h>

#include <string>

namespace mqb::test {

// MQB_DATA_DIR environment variable, else the CMake cache value (default ../shared/data).
std::string dataDir();
// Full path of a file under the data folder, or "" when it does not exist.
std::string dataFile(const std::string& relative);
// A fresh empty temporary directory, removed at process exit.
std::string tempDir();

}  // namespace mqb::test

// Skips the current test with a clear message when a sample-data file is missing.
#define MQB_REQUIRE_DATA(var, relative)                                                           \
  const std::string var = ::mqb::test::dataFile(relative);                                        \
  if (var.empty())                                                                                \
    GTEST_SKIP() << "sample data " << (relative) << " not found under " << ::mqb::test::dataDir() \
                 << " (set MQB_DATA_DIR to the shared data folder)";
