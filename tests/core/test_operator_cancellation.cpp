// OperatorCancellation: a cancel reaches into a running TorchScript forward (between two
// ATen operators), and costs little when nothing is cancelled.
#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <chrono>
#include <thread>

#include "Error.h"
#include "Feedback.h"
#include "OperatorCancellation.h"

using namespace mqb;
using Clock = std::chrono::steady_clock;

namespace {

// A forward of many small operators that runs for seconds: a loop of additions.
torch::jit::Module longForward() {
  torch::jit::Module m("LongForward");
  m.define(R"JIT(
    def forward(self, x, steps: int):
        for i in range(steps):
            x = x + 1.0
        return x
  )JIT");
  return m;
}

double secondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

TEST(OperatorCancellation, StopsAForwardBetweenOperators) {
  torch::jit::Module m = longForward();
  torch::Tensor x = torch::zeros({64, 64});
  // Calibrate: how long 20000 steps take here, to be sure the cancel lands mid-forward.
  auto t0 = Clock::now();
  m.forward({x, int64_t(2000)});
  const double perStep = secondsSince(t0) / 2000.0;
  const int64_t steps = static_cast<int64_t>(3.0 / std::max(perStep, 1e-7));  // ~3 s uncancelled

  Feedback feedback;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    feedback.cancel();
  });
  OperatorCancellation scope(&feedback);
  const auto start = Clock::now();
  bool threw = false;
  try {
    m.forward({x, steps});
  } catch (const std::exception& e) {
    threw = true;
    // Through the TorchScript interpreter the type is lost; the text and the Feedback say why.
    EXPECT_NE(std::string(e.what()).find("cancelled by the user"), std::string::npos) << e.what();
  }
  canceller.join();
  const double seconds = secondsSince(start);
  EXPECT_TRUE(threw);
  EXPECT_LT(seconds, 1.0) << "uncancelled the forward takes ~3 s";
  std::printf("cancelled after %.3f s (cancel at 0.2 s, %lld steps of %.1f us)\n", seconds,
              static_cast<long long>(steps), perStep * 1e6);
}

TEST(OperatorCancellation, NoEffectWithoutCancelAndAfterTheScope) {
  torch::jit::Module m = longForward();
  Feedback feedback;
  {
    OperatorCancellation scope(&feedback);
    EXPECT_NO_THROW(m.forward({torch::zeros({4}), int64_t(100)}));
  }
  feedback.cancel();
  // The scope is gone: a cancelled Feedback no longer affects operators on this thread.
  EXPECT_NO_THROW(m.forward({torch::zeros({4}), int64_t(100)}));
}

TEST(OperatorCancellation, OverheadIsSmall) {
  // A conv forward of realistic per-op cost, with and without the callback.
  torch::jit::Module m("Conv");
  m.register_parameter("w", torch::randn({8, 8, 3, 3, 3}), false);
  m.define(R"JIT(
    def forward(self, x):
        for i in range(20):
            x = torch.relu(torch.conv3d(x, self.w, None, [1, 1, 1], [1, 1, 1]))
        return x
  )JIT");
  torch::NoGradGuard noGrad;
  torch::Tensor x = torch::randn({1, 8, 24, 24, 24});
  auto timeIt = [&] {
    const auto t = Clock::now();
    for (int i = 0; i < 5; ++i) m.forward({x});
    return secondsSince(t);
  };
  timeIt();  // warm-up
  const double without = timeIt();
  Feedback feedback;
  double with = 0;
  {
    OperatorCancellation scope(&feedback);
    with = timeIt();
  }
  std::printf("5 forwards of 40 ops: %.4f s without, %.4f s with the operator check (%+.1f%%)\n", without, with,
              100.0 * (with - without) / without);
  EXPECT_LT(with, without * 1.25 + 0.02);
}
