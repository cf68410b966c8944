#pragma once
// Cancellation inside a model's forward. LibTorch 1.13 swallows exceptions thrown by
// at::RecordFunction callbacks, so the check is an operator of the graph itself:
// mqb::cancel_point(x) returns x unchanged (an alias, no copy) unless the Feedback watched
// by the calling thread was cancelled, in which case it throws. insertCancelPoints puts one
// after every heavy node of a finished (frozen, oneDNN-rewritten) graph, so a cancel takes
// effect after at most one convolution / contraction instead of after the whole window.
#include <stdexcept>
#include <string>

#include "support/Error.h"
#include "support/ErrorReason.h"
#include "support/Feedback.h"

// Only declared: Qt sources (SessionController) include this header, and Qt's `slots`
// macro breaks LibTorch's headers.
namespace torch::jit {
struct Graph;
}

namespace mqb {

// Inserts mqb::cancel_point after every convolution (float, oneDNN or INT8), transposed
// convolution, linear, matmul/bmm/mm, einsum and fake-quant hook of `graph`, nested blocks
// included. Run it last, after ConvertFrozenOpsToMKLDNN: the oneDNN pass does not know the
// operator and would leave the convolutions it follows on the native kernels. Returns the
// number of points inserted.
int insertCancelPoints(torch::jit::Graph& graph);

// Number of mqb::cancel_point nodes in `graph` (tests, diagnostics).
int countCancelPoints(const torch::jit::Graph& graph);

// While it lives, the cancellation points run by this thread watch `feedback` (may be null:
// nothing is watched). Scopes nest; the previous watch is restored on destruction.
class CancelScope {
 public:
  explicit CancelScope(const Feedback* feedback);
  ~CancelScope();
  CancelScope(const CancelScope&) = delete;
  CancelScope& operator=(const CancelScope&) = delete;

 private:
  const Feedback* previous_;
};

// The Feedback this thread's innermost CancelScope watches, or null: for checks in code a
// job reaches without a Feedback parameter (calibration grids built inside a model).
const Feedback* watchedFeedback();

// Runs `forward` (a model's predict) with this thread's cancellation points watching
// `feedback`. The TorchScript interpreter turns the cancel point's exception into a
// std::runtime_error with a traceback; it comes out of here as mqb::Canceled again.
template <class Forward>
auto runCancellable(const Feedback* feedback, Forward&& forward) -> decltype(forward()) {
  CancelScope scope(feedback);
  try {
    return forward();
  } catch (const Canceled&) {
    throw;
  } catch (const std::exception& e) {
    if (feedback && feedback->isCanceled() && isCancelPointError(e.what())) throw Canceled();
    throw;
  }
}

// For work a forward runs in its hooks (calibration statistics, analysis observers): an
// mqb::Canceled thrown there leaves the forward as the cancellation point's own error, so
// runCancellable around the forward gives mqb::Canceled again.
template <class Work>
void cancellableInForward(Work&& work) {
  try {
    work();
  } catch (const Canceled&) {
    throw std::runtime_error(kCancelPointMessage);
  }
}

// runCancellable when there is a Feedback; otherwise `forward` as it is, under the
// thread's current watch (a null Feedback must not switch off the job's scope).
template <class Forward>
auto runWatched(const Feedback* feedback, Forward&& forward) -> decltype(forward()) {
  if (feedback) return runCancellable(feedback, std::forward<Forward>(forward));
  return forward();
}

}  // namespace mqb
