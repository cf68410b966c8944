#pragma once
// Cancellation inside a long forward pass: while an OperatorCancellation lives, every ATen
// operator started on this thread first checks the Feedback and throws mqb::Canceled when it
// was cancelled (an at::RecordFunction start callback, so it works for any TorchScript model
// without touching its graph). Between-window checks alone leave a one-window 256^3 forward
// uncancellable for tens of seconds; with this the wait is one operator.
//
// Use: construct it on the thread that runs the forwards (the CLI does so for its whole
// command), e.g. around SlidingWindowInference's window loop:
//     OperatorCancellation cancelInForwards(feedback);   // feedback may be null
//     ... module.forward(...) ...
// The exception unwinds through LibTorch like any operator error; catch mqb::Canceled as
// for the existing between-window checks.
namespace mqb {

class Feedback;

class OperatorCancellation {
 public:
  explicit OperatorCancellation(const Feedback* feedback);
  ~OperatorCancellation();
  OperatorCancellation(const OperatorCancellation&) = delete;
  OperatorCancellation& operator=(const OperatorCancellation&) = delete;

 private:
  const Feedback* previous_;
  bool installedHere_ = false;
};

}  // namespace mqb
