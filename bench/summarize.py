#!/usr/bin/env python3
"""Prints the results table (Markdown) from the JSON files bench/run_benchmarks.sh writes.

    /usr/bin/python3 bench/summarize.py build-bench/bench-results
"""
import glob
import json
import os
import statistics
import sys


def load(d, name):
    p = os.path.join(d, name)
    if not os.path.exists(p):
        return None
    with open(p) as f:
        return json.load(f)


def mib(b):
    return f"{b / 2**20:.0f} MiB"


def verdict(ok):
    return "met" if ok else "**missed**"


def main(argv):
    d = argv[1] if len(argv) > 1 else "build-bench/bench-results"
    rows = []
    notes = []

    sl = load(d, "sliding.json")
    if sl:
        f = sl["overhead_fraction_of_forward"]["median"]
        fc = sl.get("overhead_cpu_fraction_of_forward", {}).get("median")
        cpu = f"; CPU time {100 * fc:.2f} %" if fc is not None else ""
        rows.append(("B1 sliding window: (whole call - forward) / forward, window batch 1",
                     f"{100 * f:.2f} %{cpu} (forward {sl['forward_seconds']['median']:.1f} s for {sl['windows']} windows, "
                     f"overhead {sl['overhead_seconds']['median']:.2f} s; pipeline around an instant model "
                     f"{sl['instant_model_pipeline_seconds']['median']:.2f} s = "
                     f"{100 * sl['instant_pipeline_fraction_of_forward']:.2f} %)",
                     "<= 10 %", verdict(f <= 0.10)))
        rows.append(("B1 prepareVolume (reorient, resample, clip-scale, pad)",
                     f"{sl['prepare_seconds']['median'] * 1000:.0f} ms = "
                     f"{100 * sl['prepare_seconds']['median'] / sl['forward_seconds']['median']:.2f} % of the forward; "
                     f"with it the overhead is {100 * sl['overhead_with_prepare_fraction']:.2f} %",
                     "(part of <= 10 %)", verdict(sl["overhead_with_prepare_fraction"] <= 0.10)))
        notes.append(f"ATen threads {sl['threads']}; prepared input {sl['prepared_input']}; patch {sl['patch']}; "
                     f"FP32 forward of one window {sl['forward_seconds_per_window']['median']:.2f} s (median)")

    cpp = [load(d, os.path.basename(p)) for p in sorted(glob.glob(os.path.join(d, "sliding_cpp_*.json")))]
    py = [load(d, os.path.basename(p)) for p in sorted(glob.glob(os.path.join(d, "sliding_py_*.json")))]
    if cpp and py:
        ct = [t for j in cpp for t in j["run_seconds"]["all"]]
        pt = [t for j in py for t in j["run_seconds"]["all"]]
        cf = [t for j in cpp for t in j["forward_seconds"]["all"]]
        pf = [t for j in py for t in j["forward_seconds"]["all"]]
        # Pair block i of C++ with block i of Python (adjacent in time).
        block = [statistics.median(a["run_seconds"]["all"]) / statistics.median(b["run_seconds"]["all"])
                 for a, b in zip(cpp, py)]
        r = statistics.median(ct) / statistics.median(pt)
        agree = py[0].get("label_agreement_with_cpp")
        if all("run_cpu_seconds" in j for j in cpp + py):
            cc = [t for j in cpp for t in j["run_cpu_seconds"]["all"]]
            pc = [t for j in py for t in j["run_cpu_seconds"]["all"]]
            rows.append(("B3 C++ / Python CPU time, same TorchScript, same windows",
                         f"{statistics.median(cc) / statistics.median(pc):.3f} (C++ {statistics.median(cc):.1f} s, "
                         f"Python {statistics.median(pc):.1f} s CPU)", "<= 1.0",
                         verdict(statistics.median(cc) <= statistics.median(pc) * 1.02)))
        rows.append(("B3 C++ / Python time, same TorchScript, same windows",
                     f"{r:.3f} (C++ {statistics.median(ct):.1f} s, Python {statistics.median(pt):.1f} s, "
                     f"medians of {len(ct)}+{len(pt)} runs in alternating processes; per-block ratios "
                     f"{', '.join(f'{b:.3f}' for b in block)}; forward only {statistics.median(cf) / statistics.median(pf):.3f}; "
                     f"label agreement {agree})",
                     "<= 1.0", verdict(r <= 1.0 + 0.02) + (" (within noise)" if 1.0 < r <= 1.02 else "")))

    base = load(d, "rss_baseline.json")
    fwd = load(d, "rss_forward.json")
    inf = load(d, "rss_inference.json")
    act = load(d, "activations.json")
    if base and fwd and inf:
        b0 = base["vm_hwm_bytes"]
        window = fwd["vm_hwm_bytes"] - b0
        measured = inf["vm_hwm_bytes"] - b0
        fixed = 2 * (inf["logits_bytes"] + inf["prepared_input_bytes"])
        budget = fixed + window
        rows.append(("B2 peak RSS of one full inference (VmHWM - baseline)",
                     f"{mib(measured)} vs budget {mib(budget)} = 2 x ({mib(inf['logits_bytes'])} logits + "
                     f"{mib(inf['prepared_input_bytes'])} input) + {mib(window)} one window (measured single "
                     f"forward); absolute VmHWM {mib(inf['vm_hwm_bytes'])}, baseline {mib(b0)}",
                     "<= budget", verdict(measured <= budget)))
        if act:
            budget2 = fixed + act["sum_activation_bytes"]
            rows.append(("B2 same, budget from the summed activation sizes",
                         f"{mib(measured)} vs {mib(budget2)} (sum of the {act['activations']} activations of one "
                         f"forward: {mib(act['sum_activation_bytes'])})", "<= budget", verdict(measured <= budget2)))
        qi = load(d, "rss_quant-inference.json")
        if qi:
            rows.append(("(info) peak RSS, W8A8 per-voxel quantized inference",
                         f"{mib(qi['vm_hwm_bytes'] - b0)} over baseline", "-", "-"))

    q = load(d, "quant.json")
    if q:
        targets = {"per-tensor": 1.05, "per-channel": 1.05, "per-voxel": 1.10, "adaptive": 1.10}
        for g, t in targets.items():
            v = q["variants"].get(g)
            if not v:
                continue
            r = v["ratio_to_fp32"]["median"]
            rc = v.get("cpu_ratio_to_fp32", {}).get("median", r)
            fp = q.get("fp32_forward_cpu_seconds", q["fp32_forward_seconds"])["median"]
            k = v.get("fake_quant_kernels_cpu_seconds", v.get("fake_quant_kernels_seconds", {})).get("median")
            ki = v.get("fake_quant_kernels_inplace_cpu_seconds", {}).get("median")
            inplace = f", in place {ki:.3f} s = {100 * ki / fp:.1f} %" if ki is not None else ""
            rows.append((f"C4 {q['bits']} {g} forward / FP32 forward (one 96^3 patch)",
                         f"{rc:.3f} CPU, {r:.3f} wall (FP32 {fp:.2f} s CPU; fake-quant kernels alone "
                         f"{k:.3f} s = {100 * k / fp:.1f} %{inplace})",
                         f"<= {t:.2f}", verdict(rc <= t)))
        v = q["variants"].get("fp32-graph-with-hooks")
        if v:
            rows.append(("(info) FP32 graph copy with pass-through hooks / FP32",
                         f"{v.get('cpu_ratio_to_fp32', v['ratio_to_fp32'])['median']:.3f}", "-", "-"))

    a = load(d, "analysis.json")
    if a:
        r = a["ratio_to_fp32"]["median"]
        rc = a.get("cpu_ratio_to_fp32", a["ratio_to_fp32"])["median"]
        rows.append((f"C5 analyzeLayers (1 patch, isolated + cumulative, {a['config']}) / FP32 forward",
                     f"{rc:.2f} CPU, {r:.2f} wall (analysis {a['analysis_seconds']['median']:.1f} s, "
                     f"FP32 {a['fp32_forward_seconds']['median']:.2f} s)", "<= 3", verdict(rc <= 3.0)))

    ph = load(d, "python_hooks.json")
    if ph:
        for g, v in ph["granularities"].items():
            if "python_over_mqb_normalised" not in v:
                continue
            if "python_over_mqb_cpu_absolute" in v:
                rows.append((f"C6 Python pre-hooks {g}: Python / MedQuanBench quantized forward",
                             f"{v['python_over_mqb_cpu_absolute']:.3f} CPU (Python {v['forward_cpu_seconds']['median']:.2f} s, "
                             f"MQB {v['mqb_forward_cpu_seconds']:.2f} s); each vs its own FP32: Python "
                             f"{v['cpu_ratio_to_own_fp32']['median']:.3f}, MQB {v['mqb_cpu_ratio_to_fp32']:.3f}; "
                             f"output SQNR {v['output_sqnr_db']:.1f} dB",
                             "> 1", verdict(v["python_over_mqb_cpu_absolute"] > 1.0)))
                continue
            rows.append((f"C6 Python pre-hooks {g}: Python / MedQuanBench quantized forward",
                         f"{v['python_over_mqb_absolute']:.3f} absolute (Python {v['forward_seconds']['median']:.2f} s, "
                         f"MQB {v['mqb_forward_seconds']:.2f} s); Python hooked/own FP32 {v['ratio_to_own_fp32']['median']:.3f} "
                         f"vs MQB {v['mqb_ratio_to_fp32']:.3f} (normalised {v['python_over_mqb_normalised']:.3f})",
                         "> 1", verdict(v["python_over_mqb_absolute"] > 1.0)))

    print("| measurement | result | target | verdict |")
    print("|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    for n in notes:
        print(f"\n{n}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
