#include "OperatorCancellation.h"

#include <ATen/record_function.h>

#include "Error.h"
#include "Feedback.h"

namespace mqb {
namespace {

thread_local const Feedback* t_feedback = nullptr;
thread_local at::CallbackHandle t_handle = 0;

std::unique_ptr<at::ObserverContext> checkBeforeOperator(const at::RecordFunction&) {
  if (t_feedback && t_feedback->isCanceled()) throw Canceled();
  return nullptr;
}

}  // namespace

OperatorCancellation::OperatorCancellation(const Feedback* feedback) : previous_(t_feedback) {
  t_feedback = feedback;
  if (t_handle == 0) {
    // Operator scope only (not user scopes or backward functions); no inputs are recorded.
    t_handle = at::addThreadLocalCallback(
        at::RecordFunctionCallback(checkBeforeOperator).scopes({at::RecordScope::FUNCTION}).needsInputs(false));
    installedHere_ = true;
  }
}

OperatorCancellation::~OperatorCancellation() {
  t_feedback = previous_;
  if (installedHere_) {
    at::removeCallback(t_handle);
    t_handle = 0;
  }
}

}  // namespace mqb
