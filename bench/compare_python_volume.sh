#!/usr/bin/env bash
# Whole-volume FP32 sliding window: MedQuanBench's pipeline (mqb_bench_volume, reference
# variant only) against Python's fastest ways on the same prepared input and the same
# TorchScript file (torch.jit.optimize_for_inference at batch 1, and frozen at batch 2),
# in alternating processes, same thread count. Prints the CPU-time ratios.
#   bash bench/compare_python_volume.sh [build-dir] [model.pt] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
model=${2:-models/zoo/MQB-nnUNet-S.pt}
rounds=${3:-2}
out="$build/bench-results/volume-$(basename "$model" .pt)"
mkdir -p "$out"
py=/usr/bin/python3
"$build/bin/mqb_bench_volume" --model "$model" --rounds 1 --variants "" --dump-input "$out/sw" \
  --json "$out/cpp_0.json" > /dev/null
for r in $(seq 1 "$rounds"); do
  "$py" bench/python_sliding_window.py --model "$model" --input-dir "$out/sw" --runs 1 --warmup 2 --optimize \
    --json "$out/py_optimized_$r.json" > /dev/null
  "$py" bench/python_sliding_window.py --model "$model" --input-dir "$out/sw" --runs 1 --warmup 2 --batch 2 \
    --json "$out/py_batch2_$r.json" > /dev/null
  "$build/bin/mqb_bench_volume" --model "$model" --rounds 1 --variants "" --json "$out/cpp_$r.json" > /dev/null
done
"$py" - "$out" "$rounds" <<'PY'
import json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
load = lambda p: json.load(open(p))
cpp = [load(f"{out}/cpp_{r}.json")["variants"]["fast-batch1"]["run_cpu_seconds"]["median"] for r in range(0, rounds + 1)]
for name in ("optimized", "batch2"):
    py = [load(f"{out}/py_{name}_{r}.json") for r in range(1, rounds + 1)]
    ratios = [p["run_cpu_seconds"]["median"] / (0.5 * (cpp[r] + cpp[r + 1])) for r, p in enumerate(py)]
    agree = [p.get("label_agreement_with_cpp") for p in py]
    print(f"python {name}: CPU s {[round(p['run_cpu_seconds']['median'], 2) for p in py]}, "
          f"python / MedQuanBench {[round(x, 3) for x in ratios]} (median {statistics.median(ratios):.3f}), "
          f"label agreement with C++ {agree}")
print(f"MedQuanBench CPU s {[round(c, 2) for c in cpp]}, threads {load(f'{out}/cpp_0.json')['threads']}")
PY
