"""Evaluate a MedQuanBench model package (TorchScript + medquanbench.json) on a CT volume.

    /usr/bin/python3 -m models.evaluate --model models/zoo/MQB-nnUNet-S.pt \
        --ct CT.nii.gz --seg SEG.nii.gz [--seg-ids totalseg|btcv] [--json out.json]

Pipeline (SPEC section 7, same as the C++ side): reorient to LPS [z][y][x], resample the image
to the model's target spacing (linear), preprocess, sliding window (patch size, overlap 0.5,
Gaussian sigma = patch/8), argmax, nearest-neighbour resampling of the label map back to the
original grid; Dice per organ on the original grid (SPEC section 6 rules).
"""
import argparse
import json
import sys
import time

import nibabel as nib
import numpy as np
import torch

from models import data as D
from models.export import read_metadata
from models.infer import dice_per_class, resample_linear, resample_nearest_to_shape, sliding_window_logits


def preprocess(ct, pp):
    if pp["type"] == "clip_scale":
        lo, hi = pp["clip"]
        a, b = pp.get("range", [0, 1])
        return (np.clip(ct, lo, hi) - lo) / (hi - lo) * (b - a) + a
    if pp["type"] == "zscore":
        if "clip" in pp:
            ct = np.clip(ct, pp["clip"][0], pp["clip"][1])
        return (ct - pp["mean"]) / pp["std"]
    raise ValueError(pp["type"])


def segment(model, meta, ct, spacing, progress=False):
    """ct: HU [z,y,x] LPS at `spacing`. Returns the label map on the same grid."""
    ts = meta["target_spacing"]
    if np.allclose(spacing, ts, atol=1e-3):
        img = ct.astype(np.float32)
    else:
        img = resample_linear(ct, spacing, ts)
    img = preprocess(img, meta["preprocessing"]).astype(np.float32)
    logits = sliding_window_logits(model, img, meta["patch_size"], meta["output"]["channels"],
                                   progress=progress)
    lab = logits.argmax(0).astype(np.uint8)
    if lab.shape != ct.shape:
        lab = resample_nearest_to_shape(lab, ts, spacing, ct.shape)
    return lab


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--ct", required=True)
    ap.add_argument("--seg", required=True)
    ap.add_argument("--seg-ids", default="totalseg", choices=["totalseg", "btcv"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json")
    ap.add_argument("--save-pred", help="write the predicted BTCV label map (LPS, [z,y,x]) as .npy")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    meta = read_metadata(a.model)
    model = torch.jit.load(a.model, map_location="cpu").eval()
    ct_img, seg_img = nib.load(a.ct), nib.load(a.seg)
    ct, sp, org = D.to_lps_zyx(ct_img, np.float32)
    seg, sp2, org2 = D.to_lps_zyx(seg_img)
    if ct.shape != seg.shape or not np.allclose(sp, sp2, atol=1e-3) or not np.allclose(org, org2, atol=0.1):
        raise SystemExit(f"CT and label grids differ: {ct.shape} {sp} {org} vs {seg.shape} {sp2} {org2}")
    if a.seg_ids == "totalseg":
        seg = D.remap_totalseg_to_btcv(seg)
    t = time.time()
    pred = segment(model, meta, ct, sp)
    dt = time.time() - t
    if a.save_pred:
        np.save(a.save_pred, pred)
    dc = dice_per_class(pred, seg, len(meta["classes"]))
    names = {c["id"]: c["name"] for c in meta["classes"]}
    print(f"{meta['name']} on {a.ct}: grid {ct.shape} spacing {sp} ({dt:.0f} s)")
    for c, v in dc.items():
        print(f"  {c:2d} {names[c]:24s} {'skipped (absent)' if np.isnan(v) else f'{v:.4f}'}"
              f"   gt {int((seg == c).sum()):7d} pred {int((pred == c).sum()):7d}")
    mean = float(np.nanmean(list(dc.values())))
    print(f"  mean Dice over {int(np.sum(~np.isnan(list(dc.values()))))} organs: {mean:.4f}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"model": meta["name"], "ct": a.ct, "mean_dice": mean,
                       "dice": {names[c]: (None if np.isnan(v) else v) for c, v in dc.items()}}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
