#pragma once
// Window-parallel inference: independent windows on several threads, each forward on one
// intra-op thread. A 48^3 window is too small for LibTorch's intra-op threads to pay off
// (short OpenMP regions around every norm, activation, reorder and fake-quant pass; the
// zoo CNN ran 1.15x faster on 2 threads than on 1), while two windows at a time keep both
// cores busy for the whole forward.
#include <cstddef>
#include <functional>

#include <torch/torch.h>

#include "support/Feedback.h"

namespace mqb {

// Threads for the windows of one inference: `requested` when > 0, else the calling thread's
// LibTorch intra-op thread count; MQB_WINDOW_WORKERS=n in the environment overrides both
// (1 = the previous behaviour: one window at a time on all intra-op threads, for A/B).
int windowWorkers(int requested = 0);

// Calls produce(i) for every i in [0, count) on `workers` threads (each with one intra-op
// OpenMP thread, the caller's LibTorch thread-local state, its nice value), then consume(i)
// on the calling thread in increasing i, so whatever consume accumulates is bit-identical
// to a serial loop. produce(i) leaves its result where consume(i) finds it (e.g. element i
// of a vector sized beforehand); the hand-over is synchronised here. At most `lookAhead`
// produced results wait for consume at once (bounded memory; 0 = workers + 2). A cancel of
// `feedback` or an exception in produce or consume stops the workers (a running produce
// ends at its next cancellation point) and is rethrown here after they all joined: the
// lowest failing index's exception wins. workers <= 1: a plain loop on the calling thread.
// Returns the number of threads that ran produce (at most count).
int runOrderedParallel(size_t count, int workers, const std::function<void(size_t)>& produce,
                       const std::function<void(size_t)>& consume, const Feedback* feedback, size_t lookAhead = 0);

// While it lives, LibTorch / OpenMP on this thread use one thread (the calling thread's
// OpenMP setting only; restored on destruction).
class SingleIntraOpThread {
 public:
  SingleIntraOpThread();
  ~SingleIntraOpThread();
  SingleIntraOpThread(const SingleIntraOpThread&) = delete;
  SingleIntraOpThread& operator=(const SingleIntraOpThread&) = delete;

 private:
  int previous_;
};

}  // namespace mqb
