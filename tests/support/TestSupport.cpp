#include "TestSupport.h"

#include <cstdlib>
#include <filesystem>
#include <random>

namespace fs = std::filesystem;

namespace mqb::test {

std::string dataDir() {
  if (const char* env = std::getenv("MQB_DATA_DIR"); env && *env) return env;
#ifdef MQB_DATA_DIR
  return MQB_DATA_DIR;
#else
  return "../shared/data";
#endif
}

std::string dataFile(const std::string& relative) {
  fs::path p = fs::path(dataDir()) / relative;
  return fs::exists(p) ? p.string() : std::string();
}

namespace {
struct TempRoot {
  fs::path path;
  TempRoot() {
    std::random_device rd;
    path = fs::temp_directory_path() / ("mqb-test-" + std::to_string(rd()));
    fs::create_directories(path);
  }
  ~TempRoot() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};
}  // namespace

std::string tempDir() {
  static TempRoot root;
  static int counter = 0;
  fs::path p = root.path / std::to_string(counter++);
  fs::create_directories(p);
  return p.string();
}

}  // namespace mqb::test
