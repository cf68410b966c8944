#pragma once
// Progress of long runs on stderr: a live line on a terminal, a line per 10% otherwise
// (logs of batch jobs stay readable). Ctrl-C cancels the run through the Feedback (Interrupts.h).
#include <string>

#include "support/Feedback.h"
#include "Interrupts.h"

namespace mqb::cli {

class ConsoleProgress {
 public:
  explicit ConsoleProgress(Feedback& feedback, bool quiet = false);
  ~ConsoleProgress();
  void finish();

 private:
  Feedback& feedback_;
  InterruptTarget interrupt_;
  bool tty_;
  int lastDecile_ = -1;
  bool open_ = false;
};

}  // namespace mqb::cli
