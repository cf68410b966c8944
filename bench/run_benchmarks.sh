#!/usr/bin/env bash
# Runs every issue-target benchmark on the anchor model and the example CT, and prints the
# results table (bench/summarize.py). About an hour on a loaded 2-core machine.
#
#   bash bench/run_benchmarks.sh [BUILD_DIR] [step ...]
#
# BUILD_DIR defaults to build-bench (configured and built as in bench/README.md). Steps:
# model sliding python-sliding quant python-hooks analysis memory summary (default: all).
# Results go to BUILD_DIR/bench-results/*.json. PY (default /usr/bin/python3, Debian's
# python3-torch 1.13 = the LibTorch the C++ side links) runs the Python scripts.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build-bench}
shift || true
STEPS=${*:-model sliding python-sliding quant python-hooks analysis memory summary}
PY=${PY:-/usr/bin/python3}
BIN=$BUILD/bin
OUT=$BUILD/bench-results
MODEL=$BUILD/bench-unet-96.pt
mkdir -p "$OUT"
export MQB_BENCH_MODEL=$(realpath -m "$MODEL")

note() { echo "== $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg): $*" >&2; }
has() { [[ " $STEPS " == *" $1 "* ]]; }

if has model; then
  note "anchor model"
  [ -f "$MODEL" ] || "$PY" bench/make_unet.py --out "$MODEL" --patch 96
  "$PY" bench/make_unet.py --out - --patch 96 --report-activations > "$OUT/activations.json"
fi

if has sliding; then
  # Overhead of the pipeline around the forward (target <= 10 %), prepareVolume; dumps the
  # prepared input for the Python twin.
  note "sliding window (C++)"
  "$BIN/mqb_bench_perf" sliding --runs 5 --dump-input "$OUT/sw" --json "$OUT/sliding.json" > /dev/null
  "$BIN/bench_inference" --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true \
    --benchmark_report_aggregates_only=true --benchmark_format=json --benchmark_out="$OUT/bench_inference.json" \
    --benchmark_out_format=json > /dev/null
fi

if has python-sliding; then
  # C++ and Python alternate process by process (the machine load drifts), 2 runs each, 3 times.
  for i in 1 2 3; do
    note "sliding window C++ block $i"
    "$BIN/mqb_bench_perf" sliding --runs 2 --json "$OUT/sliding_cpp_$i.json" > /dev/null
    note "sliding window Python block $i"
    "$PY" bench/python_sliding_window.py --model "$MODEL" --input-dir "$OUT/sw" --runs 2 \
      --json "$OUT/sliding_py_$i.json" > /dev/null
  done
fi

if has quant; then
  note "quantized forward vs FP32 (C++)"
  "$BIN/mqb_bench_perf" quant --rounds 7 --json "$OUT/quant.json" > /dev/null
fi

if has python-hooks; then
  note "fake quant with forward pre-hooks (Python)"
  "$PY" bench/python_fake_quant_hooks.py --model "$MODEL" --input-dir "$OUT/sw" --rounds 7 \
    --mqb-json "$OUT/quant.json" --json "$OUT/python_hooks.json" > /dev/null
fi

if has analysis; then
  note "layer analysis vs FP32 (C++)"
  "$BIN/mqb_bench_perf" analysis --rounds 3 --json "$OUT/analysis.json" > /dev/null
fi

if has memory; then
  # One fresh process per measurement.
  for mode in baseline forward inference quant-inference; do
    note "peak RSS: $mode"
    "$BIN/mqb_bench_peak_rss" $mode > "$OUT/rss_$mode.json"
  done
fi

if has summary; then
  "$PY" bench/summarize.py "$OUT"
fi
