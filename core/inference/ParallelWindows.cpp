#include "inference/ParallelWindows.h"

#include <ATen/Parallel.h>
#include <ATen/ThreadLocalState.h>
#include <omp.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/BlasThreads.h"
#include "runtime/CancelPoint.h"
#include "support/Error.h"

namespace mqb {
namespace {

// OpenBLAS's thread pool is process-wide: while windows run in parallel each GEMM (the
// transposed convolutions) must stay on its caller's thread. Nested inferences share it.
class SingleThreadedBlas {
 public:
  SingleThreadedBlas() {
    std::lock_guard<std::mutex> lock(mutex());
    if (users()++ == 0) {
      saved() = blasThreads();
      if (saved() > 1) setBlasThreads(1);
    }
  }
  ~SingleThreadedBlas() {
    std::lock_guard<std::mutex> lock(mutex());
    if (--users() == 0 && saved() > 1) setBlasThreads(saved());
  }

 private:
  static std::mutex& mutex() {
    static std::mutex m;
    return m;
  }
  static int& users() {
    static int n = 0;
    return n;
  }
  static int& saved() {
    static int n = 0;
    return n;
  }
};

}  // namespace

int windowWorkers(int requested) {
  if (const char* env = std::getenv("MQB_WINDOW_WORKERS")) {
    char* end = nullptr;
    const long n = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && n >= 1 && n <= 256) return static_cast<int>(n);
  }
  if (requested > 0) return requested;
  return std::max(1, at::get_num_threads());
}

SingleIntraOpThread::SingleIntraOpThread() {
  at::internal::lazy_init_num_threads();
  previous_ = omp_get_max_threads();
  omp_set_num_threads(1);
}

SingleIntraOpThread::~SingleIntraOpThread() { omp_set_num_threads(previous_); }

int runOrderedParallel(size_t count, int workers, const std::function<void(size_t)>& produce,
                       const std::function<void(size_t)>& consume, const Feedback* feedback, size_t lookAhead) {
  workers = static_cast<int>(std::min<size_t>(std::max(1, workers), count));
  if (workers <= 1) {
    for (size_t i = 0; i < count; ++i) {
      if (feedback) feedback->throwIfCanceled();
      produce(i);
      consume(i);
    }
    return 1;
  }
  const size_t maxWaiting = lookAhead > 0 ? lookAhead : static_cast<size_t>(workers) + 2;
  std::mutex mutex;
  std::condition_variable changed;
  size_t next = 0;      // next index a worker takes
  size_t consumed = 0;  // results handed to consume so far
  bool stop = false;
  std::vector<bool> ready(count, false);
  std::map<size_t, std::exception_ptr> failures;

  const at::ThreadLocalState callerState;
  const Feedback* callerWatch = watchedFeedback();
  SingleThreadedBlas blas;
  auto work = [&] {
    at::ThreadLocalStateGuard stateGuard(callerState);
    SingleIntraOpThread oneThread;   // oneDNN and at::parallel_for read this thread's setting
    CancelScope watch(callerWatch);  // the cancellation points of the job's forwards
    for (;;) {
      size_t i;
      {
        std::unique_lock<std::mutex> lock(mutex);
        changed.wait(lock, [&] { return stop || next >= count || next < consumed + maxWaiting; });
        if (stop || next >= count) return;
        i = next++;
      }
      try {
        produce(i);
        std::lock_guard<std::mutex> lock(mutex);
        ready[i] = true;
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex);
        failures.emplace(i, std::current_exception());
        stop = true;
      }
      changed.notify_all();
    }
  };
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(workers));
  auto joinAll = [&] {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stop = true;
    }
    changed.notify_all();
    for (auto& t : threads)
      if (t.joinable()) t.join();
  };
  try {
    for (int w = 0; w < workers; ++w) threads.emplace_back(work);
    for (size_t i = 0; i < count; ++i) {
      {
        std::unique_lock<std::mutex> lock(mutex);
        // Woken by results; the timeout only bounds how late a cancel is noticed here.
        while (!stop && !ready[i]) {
          changed.wait_for(lock, std::chrono::milliseconds(50));
          if (feedback && feedback->isCanceled()) stop = true;
        }
        if (!ready[i]) break;  // stopped: failure or cancel, reported below
      }
      consume(i);
      {
        std::lock_guard<std::mutex> lock(mutex);
        consumed = i + 1;
      }
      changed.notify_all();
    }
  } catch (...) {
    joinAll();
    throw;
  }
  joinAll();
  if (!failures.empty()) std::rethrow_exception(failures.begin()->second);
  if (feedback) feedback->throwIfCanceled();
  if (consumed != count) throw Error("window-parallel inference stopped before its last window");
  return workers;
}

}  // namespace mqb
