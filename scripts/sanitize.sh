#!/usr/bin/env bash
# Builds the core and CLI tests (and the CLI they run) with AddressSanitizer +
# UndefinedBehaviorSanitizer into build-asan/ and runs them. Any ASan/UBSan report fails the run.
#   scripts/sanitize.sh [gtest filter]     e.g. scripts/sanitize.sh 'Cli*'
# Leak detection is off: LibTorch and ITK keep process-lifetime singletons that LSan reports.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${MQB_ASAN_BUILD_DIR:-build-asan}
jobs=${MQB_JOBS:-2}
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMQB_SANITIZE=ON \
  -DMQB_BUILD_GUI=OFF -DMQB_BUILD_BENCH=OFF "${launcher[@]}"
core_tests=$(cd tests/core && ls test_*.cpp | sed 's/\.cpp$//')
nice -n 5 cmake --build "$build_dir" -j "$jobs" --target medquanbench-cli test_cli test_corpus $core_tests

export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# One intra-op thread keeps the run reproducible and leaves the machine usable.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
filter=${1:-*}
status=0
for t in $core_tests test_cli test_corpus; do
  echo "== $t"
  "$build_dir/bin/$t" --gtest_filter="$filter" --gtest_brief=1 || { status=1; echo "FAILED: $t"; }
done
exit $status
