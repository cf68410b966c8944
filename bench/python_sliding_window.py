#!/usr/bin/env python3
"""The same sliding-window inference as core/inference/SlidingWindowInference.cpp, in Python, on the
same TorchScript file and the same prepared input, for the C++/Python time ratio.

The prepared input (reoriented, resampled, clip-scaled, padded [1,1,D,H,W] float32) is
written by the C++ side, so both run on identical data:

    build-bench/bin/mqb_bench_perf sliding --runs 1 --dump-input build-bench/sw
    /usr/bin/python3 bench/python_sliding_window.py --model build-bench/bench-unet-96.pt \
        --input-dir build-bench/sw --runs 3

Replicated exactly: the window starts of planWindows (evenly spaced, first at 0, last flush,
llround), the Gaussian importance map (sigma = patch/8, float64 then float32, max 1,
clamped to the smallest positive value), window batch 1, logits accumulated in place with
addcmul_, the finiteness check, argmax over the unpadded region to uint8. Not replicated:
the nearest-neighbour resampling of the labels back onto the original grid (C++ does it
inside runSlidingWindow; counting it only makes the C++ side slower).

torch.set_num_threads() is set to the C++ at::get_num_threads() recorded in the dump. The
model is frozen with torch.jit.freeze like SegmentationModel does (--no-freeze runs the
module as loaded). Use Debian's /usr/bin/python3 (python3-torch 1.13, the C++ LibTorch).
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import numpy as np
import torch


def plan_windows(size, patch, overlap):
    axis_starts = []
    for a in range(3):
        if size[a] < patch[a]:
            raise ValueError("volume smaller than the patch after padding")
        max_step = max(1.0, patch[a] * (1.0 - overlap))
        steps = int(math.ceil((size[a] - patch[a]) / max_step)) + 1
        actual = (size[a] - patch[a]) / (steps - 1) if steps > 1 else 0.0
        # std::llround: half away from zero (values are >= 0 here)
        axis_starts.append([int(math.floor(i * actual + 0.5)) for i in range(steps)])
    return [(d, h, w) for d in axis_starts[0] for h in axis_starts[1] for w in axis_starts[2]]


def gaussian_importance_map(patch, sigma_scale=1.0 / 8.0):
    axes = []
    for a in range(3):
        sigma = patch[a] * sigma_scale
        centre = (patch[a] - 1) / 2.0
        i = torch.arange(patch[a], dtype=torch.float64)
        axes.append(torch.exp(-(i - centre).pow(2) / (2.0 * sigma * sigma)))
    m = axes[0].view(-1, 1, 1) * axes[1].view(1, -1, 1) * axes[2].view(1, 1, -1)
    m = m / m.max()
    smallest = m[m > 0].min().item()
    m = m.clamp_min(max(smallest, 1e-8))
    return m.to(torch.float32)


def sliding_window(model, x, patch, classes, pad_before, resampled, overlap, batch=1):
    """Returns (labels [D,H,W] uint8, seconds, forward seconds, windows, CPU seconds,
    forward CPU seconds)."""
    t0, c0 = time.perf_counter(), time.process_time()
    D, H, W = x.shape[2:]
    starts = plan_windows((D, H, W), patch, overlap)
    with torch.no_grad():
        logits = torch.zeros((classes, D, H, W), dtype=torch.float32)
        importance = gaussian_importance_map(patch)
        fwd = fwd_cpu = 0.0
        pd, ph, pw = patch
        for first in range(0, len(starts), batch):
            group = starts[first:first + batch]
            windows = [x[:, :, d:d + pd, h:h + ph, w:w + pw] for d, h, w in group]
            window = windows[0].contiguous() if len(windows) == 1 else torch.cat(windows, 0)
            t, c = time.perf_counter(), time.process_time()
            out = model(window)
            fwd += time.perf_counter() - t
            fwd_cpu += time.process_time() - c
            for i, (d, h, w) in enumerate(group):
                logits[:, d:d + pd, h:h + ph, w:w + pw].addcmul_(out[i], importance)
        if not bool(torch.isfinite(logits).all()):
            raise RuntimeError("non-finite logits")
        b = pad_before
        r = resampled
        labels = logits[:, b[0]:b[0] + r[0], b[1]:b[1] + r[1], b[2]:b[2] + r[2]].argmax(0).to(torch.uint8).contiguous()
    return labels, time.perf_counter() - t0, fwd, len(starts), time.process_time() - c0, fwd_cpu


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--input-dir", required=True, help="folder written by mqb_bench_perf sliding --dump-input")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=3, help="forwards on one window before timing")
    ap.add_argument("--threads", type=int, default=0, help="default: the C++ at::get_num_threads()")
    ap.add_argument("--no-freeze", action="store_true")
    ap.add_argument("--optimize", action="store_true",
                    help="torch.jit.optimize_for_inference (oneDNN convolutions, prepacked weights): Python's fastest path")
    ap.add_argument("--batch", type=int, default=1, help="windows per forward")
    ap.add_argument("--json", default="")
    args = ap.parse_args(argv)

    with open(os.path.join(args.input_dir, "prepared_input.json")) as f:
        meta = json.load(f)
    threads = args.threads or meta["threads"]
    torch.set_num_threads(threads)
    shape = meta["shape"]
    x = torch.from_numpy(np.fromfile(os.path.join(args.input_dir, "prepared_input.f32"), dtype=np.float32).reshape(shape))
    patch = meta["patch"]
    model = torch.jit.load(args.model).eval()
    if args.optimize:
        model = torch.jit.optimize_for_inference(torch.jit.freeze(model))
    elif not args.no_freeze:
        model = torch.jit.freeze(model)
    pd, ph, pw = patch
    with torch.no_grad():
        for _ in range(args.warmup):
            model(x[:, :, :pd, :ph, :pw].contiguous().expand(args.batch, -1, -1, -1, -1).contiguous())

    totals, fwds, cpus, fwd_cpus, labels = [], [], [], [], None
    for r in range(args.runs):
        labels, total, fwd, n, cpu, fwd_cpu = sliding_window(model, x, patch, meta["classes"], meta["pad_before"],
                                               meta["resampled_size"], meta["overlap"], args.batch)
        totals.append(total)
        fwds.append(fwd)
        cpus.append(cpu)
        fwd_cpus.append(fwd_cpu)
        print(f"python run {r + 1}: total {total:.3f} s, forward {fwd:.3f} s, overhead "
              f"{100 * (total - fwd) / fwd:.2f} %, {n} windows", file=sys.stderr)

    result = {
        "threads": torch.get_num_threads(),
        "frozen": not args.no_freeze,
        "optimize_for_inference": args.optimize,
        "batch": args.batch,
        "windows": n,
        "run_seconds": {"median": statistics.median(totals), "all": totals},
        "forward_seconds": {"median": statistics.median(fwds), "all": fwds},
        "run_cpu_seconds": {"median": statistics.median(cpus), "all": cpus},
        "forward_cpu_seconds": {"median": statistics.median(fwd_cpus), "all": fwd_cpus},
        "overhead_fraction_of_forward": statistics.median([(t - f) / f for t, f in zip(totals, fwds)]),
        "overhead_cpu_fraction_of_forward": statistics.median([(t - f) / f for t, f in zip(cpus, fwd_cpus)]),
    }
    cpp_labels = os.path.join(args.input_dir, "cpp_labels.u8")
    if os.path.exists(cpp_labels):
        ref = np.fromfile(cpp_labels, dtype=np.uint8)
        result["label_agreement_with_cpp"] = float((ref == labels.numpy().ravel()).mean()) if ref.size == labels.numel() else None
    print(json.dumps(result, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
