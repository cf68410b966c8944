#!/usr/bin/env python3
"""The "Python way" of fake quantization, for comparison with MedQuanBench's quantized
forward: the anchor U-Net as an eager nn.Module (bench/make_unet.py's BenchUNet, with the
weights of the scripted model file), with forward pre-hooks on every Conv3d /
ConvTranspose3d that fake-quantize the input, and weights fake-quantized once.

  weights      symmetric min-max, W bits: per-tensor -> torch.fake_quantize_per_tensor_affine,
               otherwise per output channel (dim 0 for Conv3d, dim 1 for ConvTranspose3d)
               -> torch.fake_quantize_per_channel_affine
  activations  per-tensor : static, amax from calibration, torch.fake_quantize_per_tensor_affine
               per-channel: static per input channel, torch.fake_quantize_per_channel_affine(axis=1)
               per-voxel  : dynamic, s = amax(|x|, dim=1) / qmax, (x / s).round().clamp() * s
               adaptive   : per-voxel for 1x1x1 convs, per-channel for the others

Each hooked forward is timed against the same module's FP32 forward (alternated, paired
like mqb_bench_perf quant), and, with --mqb-json (the output of `mqb_bench_perf quant
--json ...`), against MedQuanBench's quantized forward of the same granularity.

    /usr/bin/python3 bench/python_fake_quant_hooks.py --model build-bench/bench-unet-96.pt \
        --input-dir build-bench/sw --rounds 7 --mqb-json build-bench/quant.json

--input-dir is the prepared CT written by `mqb_bench_perf sliding --dump-input DIR`;
without it, calibration and timing use random patches. Use /usr/bin/python3 (Debian's
python3-torch 1.13, the LibTorch of the C++ side).
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_unet import BenchUNet  # noqa: E402

GRANULARITIES = ["per-tensor", "per-channel", "per-voxel", "adaptive"]


def quant_modules(net):
    return [(n, m) for n, m in net.named_modules() if isinstance(m, (nn.Conv3d, nn.ConvTranspose3d))]


def is_pointwise(m):
    return isinstance(m, nn.Conv3d) and all(k == 1 for k in m.kernel_size)


def fake_quant_weight(w, axis, bits, per_tensor):
    qmax = 2 ** (bits - 1) - 1
    if per_tensor:
        s = max(w.abs().max().item(), 1e-12) / qmax
        return torch.fake_quantize_per_tensor_affine(w, s, 0, -qmax, qmax)
    dims = [d for d in range(w.dim()) if d != axis]
    s = w.abs().amax(dim=dims).clamp_min(1e-12) / qmax
    return torch.fake_quantize_per_channel_affine(w, s, torch.zeros_like(s, dtype=torch.int32), axis, -qmax, qmax)


def calibrate(net, patches):
    """amax per tensor and per input channel of every quantized module input (FP32 run)."""
    stats = {}
    handles = []
    for name, m in quant_modules(net):
        def hook(mod, inp, name=name):
            x = inp[0]
            a = x.detach().abs()
            t = a.max().item()
            c = a.amax(dim=(0, 2, 3, 4))
            if name in stats:
                stats[name] = (max(stats[name][0], t), torch.maximum(stats[name][1], c))
            else:
                stats[name] = (t, c)
        handles.append(m.register_forward_pre_hook(hook))
    with torch.no_grad():
        for p in patches:
            net(p)
    for h in handles:
        h.remove()
    return stats


def install(net, fp32_state, stats, granularity, wbits, abits):
    """Loads fake-quantized weights and registers the activation pre-hooks; returns handles."""
    net.load_state_dict(fp32_state)
    qmax = 2 ** (abits - 1) - 1
    handles = []
    with torch.no_grad():
        for name, m in quant_modules(net):
            axis = 1 if isinstance(m, nn.ConvTranspose3d) else 0
            m.weight.copy_(fake_quant_weight(m.weight, axis, wbits, granularity == "per-tensor"))
            scheme = granularity
            if granularity == "adaptive":
                scheme = "per-voxel" if is_pointwise(m) else "per-channel"
            if scheme == "per-tensor":
                s = max(stats[name][0], 1e-12) / qmax

                def hook(mod, inp, s=s):
                    return (torch.fake_quantize_per_tensor_affine(inp[0], s, 0, -qmax, qmax),) + inp[1:]
            elif scheme == "per-channel":
                s = stats[name][1].clamp_min(1e-12) / qmax
                z = torch.zeros_like(s, dtype=torch.int32)

                def hook(mod, inp, s=s, z=z):
                    return (torch.fake_quantize_per_channel_affine(inp[0], s, z, 1, -qmax, qmax),) + inp[1:]
            else:  # per-voxel, dynamic

                def hook(mod, inp):
                    x = inp[0]
                    s = x.abs().amax(dim=1, keepdim=True).clamp_min(1e-12) / qmax
                    return (torch.round(x / s).clamp_(-qmax, qmax).mul_(s),) + inp[1:]
            handles.append(m.register_forward_pre_hook(hook))
    return handles


def load_patches(input_dir, patch, count, seed):
    rng = np.random.default_rng(seed)
    if input_dir:
        with open(os.path.join(input_dir, "prepared_input.json")) as f:
            meta = json.load(f)
        x = torch.from_numpy(np.fromfile(os.path.join(input_dir, "prepared_input.f32"), dtype=np.float32)
                             .reshape(meta["shape"]))
        out = []
        for _ in range(count):
            s = [int(rng.integers(0, x.shape[2 + a] - patch + 1)) for a in range(3)]
            out.append(x[:, :, s[0]:s[0] + patch, s[1]:s[1] + patch, s[2]:s[2] + patch].contiguous())
        return out, meta.get("threads")
    g = torch.Generator().manual_seed(seed)
    return [torch.rand(1, 1, patch, patch, patch, generator=g) for _ in range(count)], None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="the scripted anchor model (weights are taken from it)")
    ap.add_argument("--input-dir", default="")
    ap.add_argument("--patch", type=int, default=96)
    ap.add_argument("--bits", default="W8A8")
    ap.add_argument("--calibration-patches", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=0, help="default: the C++ thread count from --input-dir, else torch's")
    ap.add_argument("--granularities", default=",".join(GRANULARITIES))
    ap.add_argument("--mqb-json", default="", help="output of mqb_bench_perf quant --json")
    ap.add_argument("--json", default="")
    args = ap.parse_args(argv)

    wbits, abits = [int(v) for v in args.bits.upper().lstrip("W").split("A")]
    patches, cpp_threads = load_patches(args.input_dir, args.patch, args.calibration_patches + 1, 7)
    threads = args.threads or cpp_threads or torch.get_num_threads()
    torch.set_num_threads(threads)
    x = patches.pop()

    scripted = torch.jit.load(args.model)
    net = BenchUNet().eval()
    net.load_state_dict(scripted.state_dict())
    fp32_state = {k: v.clone() for k, v in net.state_dict().items()}
    with torch.no_grad():  # same function as the file
        assert torch.allclose(net(patches[0]), scripted(patches[0]), atol=1e-4), "weights differ from the model file"
    del scripted
    stats = calibrate(net, patches)

    grans = [g for g in args.granularities.split(",") if g]
    results = {"threads": torch.get_num_threads(), "bits": args.bits, "rounds": args.rounds, "granularities": {}}
    fp32_all = []

    def forward_time():
        """(wall, process CPU) seconds of one forward."""
        with torch.no_grad():
            t, c = time.perf_counter(), time.process_time()
            net(x)
            return time.perf_counter() - t, time.process_time() - c

    for g in grans:
        # Alternate FP32 (no hooks, FP32 weights) and hooked runs: F Q F Q ... F. Switching
        # (quantizing the weights once, registering the hooks) is outside the timed forwards.
        handles = []

        def set_quant():
            handles.extend(install(net, fp32_state, stats, g, wbits, abits))

        def set_fp32():
            for h in handles:
                h.remove()
            handles.clear()
            net.load_state_dict(fp32_state)

        set_fp32()
        with torch.no_grad():
            y_fp = net(x)
        set_quant()
        with torch.no_grad():  # sanity: W8A8 output close to FP32
            y_q = net(x)
            sqnr = 10 * torch.log10(y_fp.double().pow(2).sum() / (y_fp.double() - y_q.double()).pow(2).sum()).item()
        del y_fp, y_q
        for _ in range(args.warmup):
            forward_time()
        set_fp32()
        for _ in range(args.warmup):
            forward_time()
        before = forward_time()
        fp32_all.append(before)
        qt, ratios, cpu_ratios = [], [], []
        for r in range(args.rounds):
            set_quant()
            t = forward_time()
            set_fp32()
            after = forward_time()
            fp32_all.append(after)
            qt.append(t)
            ratios.append(t[0] / (0.5 * (before[0] + after[0])))
            cpu_ratios.append(t[1] / (0.5 * (before[1] + after[1])))
            before = after
            print(f"{g} round {r + 1}: hooked {t[0]:.3f} s, ratio {ratios[-1]:.3f} (CPU time {cpu_ratios[-1]:.3f})",
                  file=sys.stderr)
        results["granularities"][g] = {
            "output_sqnr_db": sqnr,
            "forward_seconds": {"median": statistics.median(w for w, _ in qt), "all": [w for w, _ in qt]},
            "forward_cpu_seconds": {"median": statistics.median(c for _, c in qt), "all": [c for _, c in qt]},
            "ratio_to_own_fp32": {"median": statistics.median(ratios), "all": ratios},
            "cpu_ratio_to_own_fp32": {"median": statistics.median(cpu_ratios), "all": cpu_ratios}}
    results["fp32_forward_seconds"] = {"median": statistics.median(w for w, _ in fp32_all), "all": [w for w, _ in fp32_all]}
    results["fp32_forward_cpu_seconds"] = {"median": statistics.median(c for _, c in fp32_all),
                                           "all": [c for _, c in fp32_all]}

    if args.mqb_json:
        with open(args.mqb_json) as f:
            mqb = json.load(f)
        results["mqb_fp32_forward_seconds"] = mqb["fp32_forward_seconds"]["median"]
        if "fp32_forward_cpu_seconds" in mqb:
            results["mqb_fp32_forward_cpu_seconds"] = mqb["fp32_forward_cpu_seconds"]["median"]
        for g in grans:
            v = mqb["variants"].get(g)
            if not v:
                continue
            r = results["granularities"][g]
            r["mqb_forward_seconds"] = v["forward_seconds"]["median"]
            r["mqb_ratio_to_fp32"] = v["ratio_to_fp32"]["median"]
            # Absolute (different processes, run at different times: machine load differs)
            # and load-normalised (each side's quantized/FP32 ratio, so the load cancels;
            # valid because both FP32 forwards run the same aten convolutions).
            r["python_over_mqb_absolute"] = r["forward_seconds"]["median"] / r["mqb_forward_seconds"]
            r["python_over_mqb_normalised"] = r["ratio_to_own_fp32"]["median"] / r["mqb_ratio_to_fp32"]
            if "forward_cpu_seconds" in v:
                r["mqb_forward_cpu_seconds"] = v["forward_cpu_seconds"]["median"]
                r["mqb_cpu_ratio_to_fp32"] = v["cpu_ratio_to_fp32"]["median"]
                r["python_over_mqb_cpu_absolute"] = r["forward_cpu_seconds"]["median"] / r["mqb_forward_cpu_seconds"]
                r["python_over_mqb_cpu_normalised"] = r["cpu_ratio_to_own_fp32"]["median"] / r["mqb_cpu_ratio_to_fp32"]
    print(json.dumps(results, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
