#include "support/AtomicFile.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "support/Error.h"

namespace fs = std::filesystem;

namespace mqb {
namespace {

fs::path temporaryBeside(const fs::path& target) {
  return target.parent_path() / (".tmp-" + std::to_string(::getpid()) + "-" + target.filename().string());
}

// Open transactions, so an interrupt can remove their temporaries; the same mutex makes
// commit() and that removal exclusive (outputs appear all together or not at all).
std::mutex& registryMutex() {
  static std::mutex m;
  return m;
}
std::vector<OutputTransaction*>& registry() {
  static std::vector<OutputTransaction*> r;
  return r;
}
std::atomic<bool> g_processEnding{false};

std::string replaceAll(std::string text, const std::string& from, const std::string& to) {
  if (from.empty()) return text;
  for (size_t pos = 0; (pos = text.find(from, pos)) != std::string::npos; pos += to.size())
    text.replace(pos, from.size(), to);
  return text;
}

}  // namespace

void writeTextFileAtomically(const std::string& path, const std::string& text) {
  const fs::path target(path);
  std::error_code ec;
  if (target.has_parent_path()) fs::create_directories(target.parent_path(), ec);
  const fs::path temp = temporaryBeside(target);
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out) {
      const int err = errno;
      throw Error(path + ": cannot write: " + (err ? std::strerror(err) : "cannot create a file in its folder"));
    }
    out << text;
    out.flush();
    if (!out) {
      const int err = errno;
      out.close();
      fs::remove(temp, ec);
      throw Error(path + ": cannot write: " + (err ? std::strerror(err) : "write failed (disk full?)"));
    }
  }
  fs::rename(temp, target, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(temp, ignored);
    throw Error(path + ": cannot write: " + ec.message());
  }
}

OutputTransaction::OutputTransaction() {
  static std::atomic<int> next{0};
  id_ = next++;
  std::lock_guard<std::mutex> lock(registryMutex());
  registry().push_back(this);
}

OutputTransaction::~OutputTransaction() {
  std::lock_guard<std::mutex> lock(registryMutex());
  if (!committed_) discard();
  auto& r = registry();
  r.erase(std::remove(r.begin(), r.end(), this), r.end());
}

std::string OutputTransaction::stage(const std::string& target) {
  const fs::path t(target);
  std::error_code ec;
  if (t.has_parent_path() && !fs::exists(t.parent_path(), ec)) {
    fs::create_directories(t.parent_path(), ec);
    if (ec)
      throw Error(target + ": cannot write: cannot create folder " + t.parent_path().string() + ": " + ec.message());
  }
  // A private folder beside the target: writers that add companion files (MetaImage .mhd +
  // .zraw) name them after the file they write, so they stay consistent and move with it.
  const fs::path folder = t.parent_path() /
                          (".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(id_) + "-output");
  const std::string temporary = (folder / t.filename()).string();
  std::lock_guard<std::mutex> lock(registryMutex());
  if (g_processEnding) throw Error(target + ": not written (the program is ending)");
  for (const auto& s : staged_)
    if (s.target == target) return s.temporary;
  fs::create_directories(folder, ec);
  if (ec) throw Error(target + ": cannot write: " + ec.message());
  staged_.push_back({target, temporary});
  return temporary;
}

void OutputTransaction::write(const std::string& target,
                              const std::function<void(const std::string& temporary)>& writeTo) {
  const std::string temporary = stage(target);
  try {
    writeTo(temporary);
  } catch (const Error& e) {
    throw Error(replaceAll(e.what(), temporary, target));
  }
}

void OutputTransaction::writeText(const std::string& target, const std::string& text) {
  write(target, [&](const std::string& temporary) {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(target + ": cannot write: " + std::strerror(errno));
    out << text;
    out.flush();
    if (!out) throw Error(target + ": cannot write: " + std::strerror(errno));
  });
}

void OutputTransaction::commit() {
  std::lock_guard<std::mutex> lock(registryMutex());
  if (g_processEnding) throw Canceled();
  for (const auto& s : staged_) {
    std::error_code ec;
    if (!fs::is_regular_file(s.temporary, ec)) {
      const std::string message = s.target + ": cannot write: the output was not produced";
      discard();
      committed_ = true;
      throw Error(message);
    }
  }
  // Every file in the staging folders (outputs and their companions) moves beside its target.
  std::vector<fs::path> folders;
  for (const auto& s : staged_) {
    const fs::path folder = fs::path(s.temporary).parent_path();
    if (std::find(folders.begin(), folders.end(), folder) == folders.end()) folders.push_back(folder);
  }
  for (const auto& folder : folders) {
    std::error_code ec;
    std::vector<fs::path> files;
    for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) files.push_back(it->path());
    for (const auto& f : files) {
      fs::rename(f, folder.parent_path() / f.filename(), ec);
      if (ec) {
        // Renames within one folder only fail for reasons checked before the work started
        // (permissions, a folder in the way); what is not yet renamed is removed.
        const std::string message = (folder.parent_path() / f.filename()).string() + ": cannot write: " + ec.message();
        discard();
        committed_ = true;
        throw Error(message);
      }
    }
    fs::remove(folder, ec);
  }
  staged_.clear();
  committed_ = true;
}

void OutputTransaction::discard() {
  for (const auto& s : staged_) {
    std::error_code ec;
    fs::remove_all(fs::path(s.temporary).parent_path(), ec);
  }
  staged_.clear();
}

void OutputTransaction::discardAllPending() {
  std::lock_guard<std::mutex> lock(registryMutex());
  g_processEnding = true;
  for (OutputTransaction* t : registry())
    if (!t->committed_) t->discard();
}

}  // namespace mqb
