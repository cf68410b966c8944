#pragma once
// Ctrl-C and SIGTERM for the CLI. The signals are blocked in every thread and taken by one
// watcher thread (sigwait), so no blocked read restarts behind a flag: the watcher cancels
// the running job's Feedback, gives it kGracePeriod to unwind (removing its temporaries and
// exiting 130), and otherwise ends the process itself after removing every uncommitted
// output temporary (OutputTransaction::discardAllPending), still with exit code 130.
// A second signal ends the process at once, the same way.
#include <chrono>
#include <memory>

namespace mqb {
class Feedback;
class CancelScope;
}  // namespace mqb

namespace mqb::cli {

constexpr std::chrono::milliseconds kGracePeriod{1500};
// MQB_CLI_GRACE_MS overrides it (tests lengthen it to prove the job itself stops in time).
std::chrono::milliseconds gracePeriod();
// What the watcher prints when it ends the process itself after the grace period.
constexpr const char* kHardStopMessage =
    "medquanbench-cli: cancelled (the job did not stop in time); nothing was written";

// Call first in main, before any thread (LibTorch's pools) exists: threads inherit the mask.
void installInterruptWatcher();

// True once SIGINT/SIGTERM arrived: an error raised while the job unwinds (e.g. a cancel
// inside a TorchScript forward, which reaches us as the interpreter's runtime error) is
// then reported as the cancel it is.
bool interruptRequested();

// The Feedback an interrupt cancels while this object lives (one at a time). The
// cancellation points of every forward run by the constructing thread watch it too (model
// loading's test forward, calibration, windows: runtime/CancelPoint.h).
class InterruptTarget {
 public:
  explicit InterruptTarget(Feedback& feedback);
  ~InterruptTarget();
  InterruptTarget(const InterruptTarget&) = delete;
  InterruptTarget& operator=(const InterruptTarget&) = delete;

 private:
  std::unique_ptr<CancelScope> scope_;
};

}  // namespace mqb::cli
