#include "ConsoleProgress.h"

#include <unistd.h>

#include <csignal>
#include <cstdio>

namespace mqb::cli {
namespace {
Feedback* g_interruptTarget = nullptr;
extern "C" void onInterrupt(int) {
  if (g_interruptTarget) g_interruptTarget->cancel();  // lock-free atomic store
}
}  // namespace

ConsoleProgress::ConsoleProgress(Feedback& feedback, bool quiet)
    : feedback_(feedback), tty_(::isatty(STDERR_FILENO) != 0) {
  g_interruptTarget = &feedback;
  std::signal(SIGINT, onInterrupt);
  std::signal(SIGTERM, onInterrupt);
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
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  g_interruptTarget = nullptr;
}

}  // namespace mqb::cli
