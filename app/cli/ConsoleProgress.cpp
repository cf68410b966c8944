#include "ConsoleProgress.h"

#include <unistd.h>

#include <cstdio>

namespace mqb::cli {

ConsoleProgress::ConsoleProgress(Feedback& feedback, bool quiet)
    : feedback_(feedback), interrupt_(feedback), tty_(::isatty(STDERR_FILENO) != 0) {
  if (quiet) return;
  feedback.setProgressCallback([this](double f, const std::string& stage) {
    const int pct = static_cast<int>(f * 100.0 + 0.5);
    if (tty_) {
      std::fprintf(stderr, "\r[%3d%%] %-60.60s", pct, stage.c_str());
      open_ = true;
    } else if (pct / 10 != lastDecile_) {
      lastDecile_ = pct / 10;
      std::fprintf(stderr, "[%3d%%] %s\n", pct, stage.c_str());
    }
    std::fflush(stderr);
  });
}

void ConsoleProgress::finish() {
  if (open_) std::fprintf(stderr, "\n");
  open_ = false;
}

ConsoleProgress::~ConsoleProgress() {
  finish();
  feedback_.setProgressCallback(nullptr);
}

}  // namespace mqb::cli
