#include "Interrupts.h"

#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <mutex>
#include <thread>

#include <cstdlib>
#include <string>

#include "support/AtomicFile.h"
#include "runtime/CancelPoint.h"
#include "support/Feedback.h"

namespace mqb::cli {
namespace {

std::atomic<bool> g_interrupted{false};
pthread_t g_watcher;
std::mutex g_targetMutex;
Feedback* g_target = nullptr;

sigset_t interruptSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

[[noreturn]] void endNow() {
  OutputTransaction::discardAllPending();
  [[maybe_unused]] auto n = ::write(STDERR_FILENO, "\n", 1);
  n = ::write(STDERR_FILENO, kHardStopMessage, std::char_traits<char>::length(kHardStopMessage));
  n = ::write(STDERR_FILENO, "\n", 1);
  ::_exit(130);
}

void watch() {
  const sigset_t set = interruptSignals();
  int signal = 0;
  if (sigwait(&set, &signal) != 0) return;
  g_interrupted = true;
  {
    std::lock_guard<std::mutex> lock(g_targetMutex);
    if (!g_target) endNow();  // nothing to cancel cooperatively (e.g. a blocked read)
    g_target->cancel();
  }
  // The job unwinds and main returns 130; a second signal or the grace period ends it here.
  const std::chrono::milliseconds grace = gracePeriod();
  struct timespec wait {};
  wait.tv_sec = static_cast<time_t>(grace.count() / 1000);
  wait.tv_nsec = static_cast<long>((grace.count() % 1000) * 1000000);
  siginfo_t info;
  sigtimedwait(&set, &info, &wait);
  endNow();
}

}  // namespace

bool interruptRequested() { return g_interrupted; }

std::chrono::milliseconds gracePeriod() {
  const char* v = std::getenv("MQB_CLI_GRACE_MS");
  if (!v || !*v) return kGracePeriod;
  char* end = nullptr;
  const long ms = std::strtol(v, &end, 10);
  return *end == '\0' && ms > 0 ? std::chrono::milliseconds(ms) : kGracePeriod;
}

// Threads started before main (library static initialisers) do not have the signals
// blocked; one delivered to them is handed on to the watcher, which has them blocked and so
// receives it in sigwait. pthread_kill is async-signal-safe.
extern "C" void forwardToWatcher(int signal) { pthread_kill(g_watcher, signal); }

void installInterruptWatcher() {
  const sigset_t set = interruptSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread watcher(watch);
  g_watcher = watcher.native_handle();
  watcher.detach();
  struct sigaction action {};
  action.sa_handler = forwardToWatcher;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

InterruptTarget::InterruptTarget(Feedback& feedback) : scope_(std::make_unique<CancelScope>(&feedback)) {
  std::lock_guard<std::mutex> lock(g_targetMutex);
  g_target = &feedback;
}

InterruptTarget::~InterruptTarget() {
  std::lock_guard<std::mutex> lock(g_targetMutex);
  g_target = nullptr;
}

}  // namespace mqb::cli
