#pragma once
// A LibTorch error raised inside a model's forward (a wrong output shape, an op that fails on
// this input) is reported as "<model>: the forward failed: <reason>", with the TorchScript
// reason line kept (errorReason), instead of escaping as an anonymous library error.
#include <string>
#include <utility>

#include "support/Error.h"
#include "support/ErrorReason.h"

namespace mqb::cli {

template <typename F>
auto withModelContext(const std::string& modelPath, F&& work) -> decltype(work()) {
  try {
    return std::forward<F>(work)();
  } catch (const Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw Error(modelPath + ": out of memory while running the model");
  } catch (const std::exception& e) {
    throw Error(modelPath + ": the forward failed: " + errorReason(e.what()));
  }
}

}  // namespace mqb::cli
