#include "AtomicFile.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "Error.h"

namespace fs = std::filesystem;

namespace mqb {

void writeTextFileAtomically(const std::string& path, const std::string& text) {
  const fs::path target(path);
  std::error_code ec;
  if (target.has_parent_path()) fs::create_directories(target.parent_path(), ec);
  const fs::path temp =
      target.parent_path() / (".tmp-" + std::to_string(::getpid()) + "-" + target.filename().string());
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(path + ": cannot write (cannot create " + temp.string() + ")");
    out << text;
    out.flush();
    if (!out) {
      out.close();
      fs::remove(temp, ec);
      throw Error(path + ": cannot write (disk full?)");
    }
  }
  fs::rename(temp, target, ec);
  if (ec) {
    fs::remove(temp, ec);
    throw Error(path + ": cannot write: " + ec.message());
  }
}

}  // namespace mqb
