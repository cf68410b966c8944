#include "support/FileChecks.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "support/Error.h"

namespace fs = std::filesystem;

namespace mqb {
namespace {

std::string kindOf(mode_t mode) {
  if (S_ISFIFO(mode)) return "a named pipe";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISREG(mode) || S_ISDIR(mode)) return "";
  return "not a regular file";
}

// The nearest folder of `path` that exists ("." for a bare file name).
fs::path existingFolderOf(const fs::path& path) {
  fs::path folder = path.parent_path();
  std::error_code ec;
  while (!folder.empty() && !fs::exists(folder, ec)) folder = folder.parent_path();
  return folder.empty() ? fs::path(".") : folder;
}

}  // namespace

std::string specialFileKind(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "";
  return kindOf(st.st_mode);
}

void checkInputPath(const std::string& path, bool folderAllowed, const std::string& what) {
  if (path.empty()) throw Error("the " + what + " path is empty");
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    throw Error(path + ": " + (err == ENOENT ? std::string("file not found") : std::strerror(err)));
  }
  if (S_ISDIR(st.st_mode)) {
    if (!folderAllowed) throw Error(path + ": is a folder; a " + what + " file is expected");
    if (::access(path.c_str(), R_OK | X_OK) != 0) throw Error(path + ": cannot read: " + std::strerror(errno));
    return;
  }
  const std::string kind = kindOf(st.st_mode);
  if (!kind.empty())
    throw Error(path + ": is " + kind + "; only regular files" + (folderAllowed ? " and folders" : "") + " are read");
  if (::access(path.c_str(), R_OK) != 0) throw Error(path + ": cannot read: " + std::strerror(errno));
}

void checkFolderEntries(const std::string& folder) {
  std::error_code ec;
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string kind = specialFileKind(it->path().string());
    if (!kind.empty())
      throw Error(it->path().string() + ": is " + kind + " inside the folder; only regular files are read");
  }
  if (ec) throw Error(folder + ": cannot list the folder: " + ec.message());
}

void checkOutputPath(const std::string& path, const std::vector<std::string>& inputs) {
  if (path.empty()) throw Error("an output path is empty");
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) throw Error(path + ": is a folder; an output file name is expected");
    const std::string kind = kindOf(st.st_mode);
    if (!kind.empty()) throw Error(path + ": is " + kind + "; outputs are written to regular files only");
    for (const auto& input : inputs) {
      struct stat in {};
      if (input.empty() || ::stat(input.c_str(), &in) != 0 || S_ISDIR(in.st_mode)) continue;
      if (in.st_dev == st.st_dev && in.st_ino == st.st_ino)
        throw Error(path + ": is the input " + input + "; refusing to overwrite an input");
    }
  } else if (errno != ENOENT) {
    throw Error(path + ": cannot write: " + std::strerror(errno));
  }
  // The output is written beside its target and renamed, so its folder must be writable
  // (a missing folder is created, so the nearest existing one must be).
  const fs::path folder = existingFolderOf(fs::path(path));
  struct stat fst {};
  if (::stat(folder.c_str(), &fst) != 0 || !S_ISDIR(fst.st_mode))
    throw Error(path + ": cannot write: " + folder.string() + " is not a folder");
  if (::access(folder.c_str(), W_OK | X_OK) != 0)
    throw Error(path + ": cannot write: folder " + folder.string() + ": " + std::strerror(errno));
}

void checkDistinctOutputs(const std::vector<std::string>& outputs) {
  for (size_t i = 0; i < outputs.size(); ++i)
    for (size_t j = i + 1; j < outputs.size(); ++j) {
      std::error_code ec;
      const bool same = outputs[i] == outputs[j] ||
                        fs::weakly_canonical(outputs[i], ec) == fs::weakly_canonical(outputs[j], ec);
      if (same) throw Error(outputs[j] + ": given for two outputs; each output needs its own file");
    }
}

bool hasSuffixIgnoringCase(const std::string& path, const std::string& lowerSuffix) {
  if (path.size() < lowerSuffix.size()) return false;
  const size_t start = path.size() - lowerSuffix.size();
  for (size_t i = 0; i < lowerSuffix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(path[start + i])) != lowerSuffix[i]) return false;
  return true;
}

}  // namespace mqb
