#!/usr/bin/env bash
# Configures (once) and builds MedQuanBench into build/ (Release). Fast when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${MQB_BUILD_DIR:-build}
if [ ! -f "$build_dir/build.ninja" ]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release ${MQB_CMAKE_ARGS:-} >/dev/null
fi
# Torch-heavy translation units need ~1.5 GB each: cap parallel jobs by memory too.
jobs=$(nproc)
mem_jobs=$(( $(awk '/MemAvailable/ {print $2}' /proc/meminfo) / 1600000 ))
[ "$mem_jobs" -ge 1 ] && [ "$mem_jobs" -lt "$jobs" ] && jobs=$mem_jobs
cmake --build "$build_dir" -j "$jobs"
