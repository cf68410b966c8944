#include "support/Resources.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace fs = std::filesystem;

namespace mqb {
namespace {

fs::path executableDir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::current_path() : exe.parent_path();
}

std::string firstExisting(const char* envVar, const fs::path& relativeToShare) {
  if (const char* env = std::getenv(envVar); env && *env) return env;
  const fs::path share = executableDir() / ".." / MQB_SHARE_SUBDIR;
  fs::path p = share / relativeToShare;
  std::error_code ec;
  if (fs::exists(p, ec)) return fs::weakly_canonical(p, ec).string();
  // Installed layout where bin/ and share/ are siblings under a prefix other than the build dir.
  p = executableDir() / ".." / "share" / "medquanbench" / relativeToShare;
  return fs::weakly_canonical(p, ec).string();
}

}  // namespace

std::string resourceDir() { return firstExisting("MQB_RESOURCE_DIR", "resources"); }
std::string bundledModelDir() { return firstExisting("MQB_MODEL_DIR", "models"); }

std::string sampleDataDir() {
  if (const char* env = std::getenv("MQB_DATA_DIR"); env && *env) return env;
  std::error_code ec;
  for (fs::path candidate :
       {fs::current_path() / ".." / "shared" / "data", executableDir() / ".." / ".." / ".." / "shared" / "data"}) {
    if (fs::exists(candidate, ec)) return fs::weakly_canonical(candidate, ec).string();
  }
  return (fs::current_path() / ".." / "shared" / "data").lexically_normal().string();
}

std::string versionString() { return MQB_VERSION; }

}  // namespace mqb
