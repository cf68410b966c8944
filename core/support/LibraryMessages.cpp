#include "support/LibraryMessages.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <mutex>
#include <sstream>
#include <vector>

namespace mqb {
namespace {

// stderr is one per process: nested or concurrent captures share one redirection.
std::mutex g_mutex;
int g_depth = 0;
int g_savedStderr = -1;
std::FILE* g_buffer = nullptr;

std::string readBuffer() {
  if (!g_buffer) return {};
  std::fflush(g_buffer);
  std::string out;
  const long end = std::ftell(g_buffer);
  if (end <= 0) return out;
  out.resize(static_cast<size_t>(end));
  std::rewind(g_buffer);
  const size_t n = std::fread(out.data(), 1, out.size(), g_buffer);
  out.resize(n);
  std::fseek(g_buffer, 0, SEEK_END);
  return out;
}

}  // namespace

LibraryMessageCapture::LibraryMessageCapture() {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_depth == 0) {
    std::cerr.flush();
    std::fflush(stderr);
    g_buffer = std::tmpfile();
    if (!g_buffer) return;  // no temporary file: the libraries print as before
    g_savedStderr = ::dup(STDERR_FILENO);
    if (g_savedStderr < 0 || ::dup2(::fileno(g_buffer), STDERR_FILENO) < 0) {
      std::fclose(g_buffer);
      g_buffer = nullptr;
      return;
    }
  }
  ++g_depth;
  active_ = true;
}

LibraryMessageCapture::~LibraryMessageCapture() {
  if (!active_) return;
  std::lock_guard<std::mutex> lock(g_mutex);
  if (--g_depth == 0) {
    std::cerr.flush();
    std::fflush(stderr);
    ::dup2(g_savedStderr, STDERR_FILENO);
    ::close(g_savedStderr);
    g_savedStderr = -1;
    std::fclose(g_buffer);
    g_buffer = nullptr;
  }
}

std::string LibraryMessageCapture::text() {
  std::lock_guard<std::mutex> lock(g_mutex);
  std::cerr.flush();
  std::fflush(stderr);
  return readBuffer();
}

std::string cleanLibraryLine(const std::string& raw) {
  std::string line = raw;
  // "/path/itkFoo.cxx:123:" and "itk::ERROR: ImageFileReader(0x55..): " prefixes
  for (const char* marker : {".cxx:", ".cpp:", ".hxx:", ".h:", ".c:"}) {
    const size_t at = line.find(marker);
    if (at != std::string::npos && at < 200) {
      size_t after = line.find(':', at + std::string(marker).size());
      if (after != std::string::npos) line = line.substr(after + 1);
    }
  }
  const size_t paren = line.find("): ");
  if (line.rfind("itk::", 0) == 0 || line.find("ERROR: ") != std::string::npos ||
      line.find("WARNING: ") != std::string::npos) {
    if (paren != std::string::npos) line = line.substr(paren + 3);
  }
  const size_t first = line.find_first_not_of(" \t\r\n");
  const size_t last = line.find_last_not_of(" \t\r\n");
  return first == std::string::npos ? std::string() : line.substr(first, last - first + 1);
}

std::string LibraryMessageCapture::summary() {
  std::istringstream lines(text());
  std::string line, best;
  while (std::getline(lines, line)) {
    const std::string clean = cleanLibraryLine(line);
    if (clean.empty() || clean == "WARNING" || clean == "ERROR" || clean.rfind("Description:", 0) == 0) continue;
    // The first line that says what went wrong; ITK's headers ("WARNING: In ...") carry none.
    if (clean.rfind("In ", 0) == 0 || clean.find("Location:") != std::string::npos) continue;
    best = clean;
    break;
  }
  if (best.size() > 200) best = best.substr(0, 200) + "...";
  return best;
}

}  // namespace mqb
