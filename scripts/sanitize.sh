#!/usr/bin/env bash
# Builds the core and CLI tests (and the CLI they run) with AddressSanitizer +
# UndefinedBehaviorSanitizer into build-asan/ and runs each test binary; any sanitizer report,
# in a test binary or in a medquanbench-cli it starts, fails the run.
#   scripts/sanitize.sh [gtest filter]     e.g. scripts/sanitize.sh 'Cli*'
# Environment: MQB_ASAN_BUILD_DIR (build-asan), MQB_JOBS (2), MQB_SANITIZE_TESTS (the binaries
# to run, default: every core suite, then test_cli, then test_corpus), OMP_NUM_THREADS (1).
# Prints one summary line per binary; logs and reports go to <build dir>/sanitize-logs/.
# Tests with wall-clock bounds (CliSignals: exit within 2 s of a signal, a pipe refused within
# 10 s) can fail from ASan's slowdown on a busy machine: the line tells them from a report.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build_dir=${MQB_ASAN_BUILD_DIR:-build-asan}
jobs=${MQB_JOBS:-2}
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
# -O1 -g1: ASan's usual optimisation level, with line tables for the stacks; it compiles
# markedly faster than -O2 -g on the LibTorch headers. Tests are listed when run (PRE_TEST),
# not by running every binary at build time.
build_start=$(date +%s)
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" \
  -DMQB_SANITIZE=ON -DMQB_BUILD_GUI=OFF -DMQB_BUILD_BENCH=OFF \
  -DCMAKE_GTEST_DISCOVER_TESTS_DISCOVERY_MODE=PRE_TEST "${launcher[@]}" >/dev/null
core_tests=$(find tests/core -name "test_*.cpp" -printf "%f\n" | sed "s/\.cpp$//" | sort)
tests=${MQB_SANITIZE_TESTS:-$(echo $core_tests test_cli test_corpus)}
nice -n 10 cmake --build "$build_dir" -j "$jobs" --target medquanbench-cli $tests
echo "build: $(( $(date +%s) - build_start )) s"

logs=$root/$build_dir/sanitize-logs
rm -rf "$logs"
mkdir -p "$logs"
# ASan reports go to files (log_path, one per process), so a report from a medquanbench-cli
# that a test starts is seen even when the test captures its output. UBSan ignores log_path
# next to ASan (GCC 12): its reports go to stderr and abort the process (exit 134), which the
# tests see as a wrong exit code; the logs are searched for "runtime error" as well.
# detect_leaks=0: LibTorch and ITK keep process-lifetime singletons that LeakSanitizer reports.
asan="detect_leaks=0:abort_on_error=1:halt_on_error=1"
ubsan="print_stacktrace=1:abort_on_error=1:halt_on_error=1:suppressions=$root/scripts/ubsan.supp"
# One intra-op thread keeps the run reproducible and leaves the machine usable.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
filter=${1:-*}
status=0
run_start=$(date +%s)
for t in $tests; do
  mkdir -p "$logs/$t"
  start=$(date +%s)
  rc=0
  ASAN_OPTIONS="$asan:log_path=$logs/$t/asan" UBSAN_OPTIONS="$ubsan" \
    "$build_dir/bin/$t" --gtest_filter="$filter" --gtest_brief=1 >"$logs/$t.log" 2>&1 || rc=$?
  reports=$(( $(find "$logs/$t" -type f | wc -l) + $(grep -c -E 'runtime error:|ERROR: AddressSanitizer' "$logs/$t.log" || true) ))
  ran=$(sed -n 's/^\[==========\] \([0-9]*\) tests\? from .* ran\..*/\1/p' "$logs/$t.log" | tail -1)
  passed=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) tests\?\..*/\1/p' "$logs/$t.log" | tail -1)
  verdict=ok
  if [[ $rc -ne 0 || $reports -gt 0 ]]; then
    verdict=FAILED
    status=1
  fi
  printf '%-32s %-6s %4s tests, %4s passed, exit %3d, %d sanitizer report(s), %4d s\n' \
    "$t" "$verdict" "${ran:-?}" "${passed:-0}" "$rc" "$reports" "$(( $(date +%s) - start ))"
  for r in $(find "$logs/$t" -type f | sort) "$logs/$t.log"; do
    grep -H -m3 -E 'ERROR: AddressSanitizer|runtime error:' "$r" | sed 's/^/  /' || true
  done
done
echo "run: $(( $(date +%s) - run_start )) s; logs in $logs"
exit $status
