#include "AtomicFile.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "Error.h"

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
    if (ec) throw Error(target + ": cannot write: cannot create folder " + t.parent_path().string() + ": " + ec.message());
  }
  const std::string temporary = temporaryBeside(t).string();
  std::lock_guard<std::mutex> lock(registryMutex());
  if (g_processEnding) throw Error(target + ": not written (the program is ending)");
  for (const auto& s : staged_)
    if (s.target == target) return s.temporary;
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
  for (size_t i = 0; i < staged_.size(); ++i) {
    std::error_code ec;
    fs::rename(staged_[i].temporary, staged_[i].target, ec);
    if (ec) {
      // Renames within one folder only fail for reasons checked before the work started
      // (permissions, a folder in the way); what is not yet renamed is removed.
      const std::string message = staged_[i].target + ": cannot write: " + ec.message();
      staged_.erase(staged_.begin(), staged_.begin() + static_cast<std::ptrdiff_t>(i));
      discard();
      committed_ = true;
      throw Error(message);
    }
  }
  committed_ = true;
}

void OutputTransaction::discard() {
  for (const auto& s : staged_) {
    std::error_code ec;
    fs::remove(s.temporary, ec);
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
