"""Train a MedQuanBench zoo model on the shared abdomen CT and export it.

    nice -n 10 /usr/bin/python3 -m models.train --model cnn --iters 1200
    nice -n 10 /usr/bin/python3 -m models.train --model hybrid --iters 1200

Writes models/runs/<name>/{ckpt.pt,log.txt,eval.json} and models/zoo/<name>.pt.
Deterministic for a given seed and thread count: every random draw of iteration i comes
from numpy.random.default_rng([seed, i]), so a resumed run (--resume) continues exactly.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from models import data as D
from models import networks as N
from models.export import export_model
from models.infer import dice_per_class, sliding_window_logits

HERE = os.path.dirname(os.path.abspath(__file__))

CONFIGS = {
    "cnn": dict(name="MQB-nnUNet-S", build=N.build_cnn, framework="nnUNet-style",
                architecture="nnU-Net", category="CNN", lr=2e-3, warmup=20, wd=3e-5,
                patch=[48, 48, 48],
                description="nnU-Net-style 3D PlainConvUNet (5 stages, 16-32-64-96-128 features, "
                            "Conv3d-InstanceNorm-LeakyReLU x2 per stage, strided-conv encoder, "
                            "ConvTranspose3d decoder, concatenation skips). Trained on one CT volume "
                            "with TotalSegmentator-derived BTCV labels: a demonstration model."),
    "hybrid": dict(name="MQB-UNETR-S", build=N.build_hybrid, framework="MONAI-style",
                   architecture="UNETR", category="Hybrid", lr=8e-4, warmup=50, wd=1e-2,
                   patch=[48, 48, 48],
                   description="UNETR-style hybrid: ViT encoder (8^3 patch embedding, 6 pre-norm blocks, "
                               "dim 144, 4 heads, explicit q/k/v Linear + matmul attention, GELU MLP) with "
                               "features from depths 2, 4 and 6 reshaped to 3D, a ConvTranspose3d + conv "
                               "decoder and a shallow conv stem skip. Trained on one CT volume with "
                               "TotalSegmentator-derived BTCV labels: a demonstration model."),
    "transunet": dict(name="MQB-TransUNet-S", build=N.build_transunet, framework="TransUNet-style",
                      architecture="TransUNet", category="Hybrid", lr=1e-3, warmup=50, wd=1e-2,
                      patch=[48, 48, 48],
                      description="TransUNet-style hybrid: three Conv3d-InstanceNorm-LeakyReLU encoder stages "
                                  "(16-32-64 features, full/half/quarter resolution), a ViT bottleneck (2^3 "
                                  "patch embedding of the 1/4 features -> 6^3 tokens, 4 pre-norm blocks, dim 128, "
                                  "4 heads, explicit q/k/v Linear + matmul attention, GELU MLP) and a "
                                  "ConvTranspose3d decoder with the CNN skips. Trained on one CT volume with "
                                  "TotalSegmentator-derived BTCV labels: a demonstration model."),
}

SPACING = [3.0, 3.0, 3.0]


def log(f, msg):
    print(msg, flush=True)
    f.write(msg + "\n")
    f.flush()


def rot_matrix(angles):
    """Rotation in voxel (z, y, x) space from three angles (radians)."""
    a, b, c = angles
    rz = np.array([[1, 0, 0], [0, math.cos(a), -math.sin(a)], [0, math.sin(a), math.cos(a)]])
    ry = np.array([[math.cos(b), 0, math.sin(b)], [0, 1, 0], [-math.sin(b), 0, math.cos(b)]])
    rx = np.array([[math.cos(c), -math.sin(c), 0], [math.sin(c), math.cos(c), 0], [0, 0, 1]])
    return rz @ ry @ rx


class PatchSampler:
    """Random patches with foreground oversampling (class-balanced), rotation/scaling done
    in one grid_sample from the whole volume, and intensity augmentation. No flips: the
    model is meant for LPS-reoriented images and left/right flips would swap the paired
    organs (kidneys, adrenals) and mirror the anatomy."""

    def __init__(self, cases, patch, fg_prob=2 / 3, p_rot=0.3, p_scale=0.3, max_rot_deg=15.0,
                 scale_range=(0.85, 1.15), weights=None):
        self.patch = patch
        # Case probabilities; None = uniform (and the original random stream).
        self.weights = None if weights is None else np.asarray(weights, dtype=np.float64) / np.sum(weights)
        self.fg_prob = fg_prob
        self.p_rot, self.p_scale = p_rot, p_scale
        self.max_rot = math.radians(max_rot_deg)
        self.scale_range = scale_range
        self.cases = []
        for name, ct, seg, sp in cases:
            img = torch.from_numpy(D.preprocess_clip_scale(ct))[None, None]
            lab = torch.from_numpy(seg.astype(np.float32))[None, None]
            cls = {}
            for c in range(1, D.NUM_CLASSES):
                idx = np.argwhere(seg == c)
                if len(idx):
                    cls[c] = idx
            self.cases.append((img, lab, cls, np.array(seg.shape)))
        p = np.array(patch, dtype=np.float64)
        offs = [np.arange(n) - (n - 1) / 2.0 for n in patch]
        g = np.stack(np.meshgrid(*offs, indexing="ij"), axis=-1)  # [D,H,W,3] (z,y,x)
        self.offsets = g.reshape(-1, 3)

    def sample(self, rng):
        k = rng.integers(len(self.cases)) if self.weights is None else rng.choice(len(self.cases), p=self.weights)
        img, lab, cls, shape = self.cases[k]
        p = np.array(self.patch)
        if rng.random() < self.fg_prob and cls:
            c = list(cls.keys())[rng.integers(len(cls))]
            vox = cls[c][rng.integers(len(cls[c]))].astype(np.float64)
            center = vox + rng.uniform(-p / 4, p / 4)
        else:
            lo = np.minimum(p / 2 - 8, shape / 2)
            hi = np.maximum(shape - p / 2 + 8, shape / 2)
            center = rng.uniform(lo, hi)
        A = np.eye(3)
        if rng.random() < self.p_rot:
            A = rot_matrix(rng.uniform(-self.max_rot, self.max_rot, 3)) @ A
        if rng.random() < self.p_scale:
            A = A * rng.uniform(*self.scale_range)
        pts = self.offsets @ A.T + center  # voxel coords (z,y,x)
        norm = 2.0 * pts / (shape - 1) - 1.0
        grid = torch.from_numpy(norm[:, ::-1].copy()).float().reshape(1, *self.patch, 3)  # (x,y,z)
        x = F.grid_sample(img, grid, mode="bilinear", padding_mode="zeros", align_corners=True)[0]
        y = F.grid_sample(lab, grid, mode="nearest", padding_mode="zeros", align_corners=True)[0, 0]
        x = self.intensity(x, rng)
        return x, y.long()

    @staticmethod
    def intensity(x, rng):
        if rng.random() < 0.3:  # contrast around the mean
            m = x.mean()
            x = (x - m) * rng.uniform(0.75, 1.25) + m
        if rng.random() < 0.3:  # brightness
            x = x * rng.uniform(0.85, 1.15) + rng.uniform(-0.05, 0.05)
        if rng.random() < 0.25:  # gamma on [0,1]
            x = x.clamp(0, 1) ** rng.uniform(0.7, 1.5)
        if rng.random() < 0.2:  # gaussian noise
            gen = torch.Generator().manual_seed(int(rng.integers(2 ** 31)))
            x = x + torch.randn(x.shape, generator=gen) * rng.uniform(0.0, 0.05)
        if rng.random() < 0.15:  # blur (partial-volume / resampling smoothing)
            s = rng.uniform(0.5, 1.0)
            k = torch.exp(-0.5 * (torch.arange(-2, 3, dtype=torch.float32) / s) ** 2)
            k = k / k.sum()
            c = x[None]
            c = F.conv3d(F.pad(c, (2, 2, 0, 0, 0, 0), mode="replicate"), k.view(1, 1, 1, 1, 5))
            c = F.conv3d(F.pad(c, (0, 0, 2, 2, 0, 0), mode="replicate"), k.view(1, 1, 1, 5, 1))
            c = F.conv3d(F.pad(c, (0, 0, 0, 0, 2, 2), mode="replicate"), k.view(1, 1, 5, 1, 1))
            x = c[0]
        return x


def dice_ce_loss(logits, target, num_classes):
    ce = F.cross_entropy(logits, target)
    prob = torch.softmax(logits, dim=1)
    onehot = F.one_hot(target, num_classes).permute(0, 4, 1, 2, 3).float()
    dims = (0, 2, 3, 4)  # batch dice
    inter = (prob * onehot).sum(dims)
    denom = prob.sum(dims) + onehot.sum(dims)
    dice = (2 * inter + 1e-5) / (denom + 1e-5)
    present = onehot.sum(dims)[1:] > 0
    dl = 1 - dice[1:][present].mean() if present.any() else torch.zeros(())
    return ce + dl, ce.detach(), dl.detach()


def lr_at(it, total, base, warmup):
    if it < warmup:
        return base * (it + 1) / warmup
    return base * (1 - (it - warmup) / max(1, total - warmup)) ** 0.9


def evaluate(model, cases, patch):
    model.eval()
    res = {}
    for name, ct, seg, sp in cases:
        img = D.preprocess_clip_scale(ct)
        t = time.time()
        logits = sliding_window_logits(model, img, patch, D.NUM_CLASSES)
        pred = logits.argmax(0)
        dc = dice_per_class(pred, seg, D.NUM_CLASSES)
        res[name] = {"dice": {D.BTCV_CLASSES[c]["name"]: dc[c] for c in dc},
                     "mean_dice": float(np.nanmean([v for v in dc.values()])),
                     "seconds": time.time() - t}
    return res


def metadata(cfg, args, wall, params, extra=None):
    meta = {
        "format_version": 1,
        "name": cfg["name"],
        "framework": cfg["framework"],
        "architecture": cfg["architecture"],
        "category": cfg["category"],
        "description": cfg["description"],
        "classes": D.BTCV_CLASSES,
        "input_channels": 1,
        "patch_size": cfg["patch"],
        "target_spacing": SPACING,
        "orientation": "LPS",
        "preprocessing": {"type": "clip_scale", "clip": list(D.HU_CLIP), "range": [0, 1]},
        "output": {"type": "logits", "channels": D.NUM_CLASSES},
        "param_count": params,
        "training": {
            "data": "shared/data/abdomen-ct/example_ct.nii.gz (1 volume, 3 mm) with "
                    "example_seg_fast_force_split.nii.gz (TotalSegmentator labels remapped to BTCV)",
            "iterations": args.iters, "batch_size": args.batch,
            "epochs": round(args.iters / 250.0, 2),
            "epoch_definition": "250 iterations (nnU-Net convention); one training volume",
            "patch_size": cfg["patch"],
            "seed": args.seed, "wall_time_s": round(wall, 1),
            "optimizer": f"AdamW lr {cfg['lr']} poly 0.9, warmup {cfg['warmup']}",
            "loss": "cross-entropy + soft Dice",
        },
    }
    if extra:
        meta["training"].update(extra)
    return meta


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=sorted(CONFIGS), required=True)
    ap.add_argument("--iters", type=int, default=1200)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ckpt-every", type=int, default=25)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--run-dir", default=None)
    ap.add_argument("--out", default=None, help="TorchScript output (default models/zoo/<name>.pt)")
    ap.add_argument("--no-export", action="store_true")
    ap.add_argument("--export-only", action="store_true",
                    help="load the finished checkpoint of --iters iterations, evaluate (unless eval.json "
                         "exists) and export")
    ap.add_argument("--export-method", default="trace", choices=["trace", "script"],
                    help="trace (default): every convolution, transposed included, is aten::_convolution")
    ap.add_argument("--smoke", action="store_true", help="a few iterations, no eval/export")
    ap.add_argument("--phantoms", default=None,
                    help="folder of synthetic phantoms (medquanbench-cli phantom: <name>_ct.nii.gz + "
                         "<name>_seg.nii.gz) mixed into training, so the demo's phantom fallback is segmented too")
    ap.add_argument("--phantom-weight", type=float, default=0.4,
                    help="share of the patches drawn from the phantoms (with --phantoms)")
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    cfg = CONFIGS[args.model]
    run_dir = args.run_dir or os.path.join(HERE, "runs", cfg["name"])
    os.makedirs(run_dir, exist_ok=True)
    out = args.out or os.path.join(HERE, "zoo", cfg["name"] + ".pt")
    logf = open(os.path.join(run_dir, "log.txt"), "a")
    log(logf, f"== {cfg['name']} {' '.join(sys.argv)} threads={args.threads}")

    cases = D.training_cases()
    weights = None
    if args.phantoms:
        ph = D.phantom_cases(args.phantoms)
        weights = [(1 - args.phantom_weight) / len(cases)] * len(cases) + [args.phantom_weight / len(ph)] * len(ph)
        cases = cases + ph
        log(logf, f"phantoms: {', '.join(c[0] for c in ph)} ({100 * args.phantom_weight:.0f} % of the patches)")
    for name, ct, seg, sp in cases:
        checks = D.orientation_self_check(seg)
        for c, ok, det in checks:
            if not ok:
                raise SystemExit(f"orientation self-check failed: {c} ({det})")
    log(logf, "orientation self-check passed")
    sampler = PatchSampler(cases, cfg["patch"], weights=weights)

    model = cfg["build"]()
    params = N.count_params(model)
    log(logf, f"parameters: {params}")
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=cfg["wd"])
    start, wall_prev = 0, 0.0
    ck_path = os.path.join(run_dir, "ckpt.pt")
    if (args.resume or args.export_only) and os.path.exists(ck_path):
        ck = torch.load(ck_path, map_location="cpu")
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        start, wall_prev = ck["iter"], ck.get("wall", 0.0)
        log(logf, f"resumed at iteration {start} (wall {wall_prev:.0f} s)")
    if args.export_only:
        if start != args.iters:
            raise SystemExit(f"--export-only: checkpoint is at iteration {start}, not {args.iters}")
        return finish(cfg, args, model.state_dict(), wall_prev, params, cases, run_dir, out, logf)
    model = model.to(memory_format=torch.channels_last_3d)

    t0 = time.time()
    hist = []
    model.train()
    for it in range(start, args.iters):
        rng = np.random.default_rng([args.seed, it])
        xs, ys = zip(*[sampler.sample(rng) for _ in range(args.batch)])
        x = torch.stack(xs).contiguous(memory_format=torch.channels_last_3d)
        y = torch.stack(ys)
        lr = lr_at(it, args.iters, cfg["lr"], cfg["warmup"])
        for g in opt.param_groups:
            g["lr"] = lr
        logits = model(x)
        loss, ce, dl = dice_ce_loss(logits, y, D.NUM_CLASSES)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 12.0)
        opt.step()
        hist.append((loss.item(), ce.item(), dl.item()))
        done = it + 1
        if done % 10 == 0 or done == args.iters:
            el = time.time() - t0
            h = np.mean(hist[-10:], axis=0)
            log(logf, f"it {done}/{args.iters} loss {h[0]:.4f} ce {h[1]:.4f} dice_loss {h[2]:.4f} "
                      f"lr {lr:.2e} {el / (done - start):.2f} s/it wall {wall_prev + el:.0f} s")
        if done % args.ckpt_every == 0 or done == args.iters:
            torch.save({"model": {k: v.contiguous() for k, v in model.state_dict().items()},
                        "opt": opt.state_dict(), "iter": done,
                        "wall": wall_prev + time.time() - t0, "config": args.model}, ck_path + ".tmp")
            os.replace(ck_path + ".tmp", ck_path)
        if args.smoke and done - start >= 3:
            log(logf, "smoke run ok")
            return 0
    wall = wall_prev + time.time() - t0
    log(logf, f"training done: {args.iters} iterations, wall {wall:.0f} s")
    return finish(cfg, args, model.state_dict(), wall, params, cases, run_dir, out, logf)


def finish(cfg, args, state_dict, wall, params, cases, run_dir, out, logf):
    """Evaluate on the training volume (sliding window like the C++ side) and export."""
    net = cfg["build"]()
    net.load_state_dict({k: v.contiguous() for k, v in state_dict.items()})
    net.eval()
    torch.save(net.state_dict(), os.path.join(run_dir, "final_state_dict.pt"))
    eval_path = os.path.join(run_dir, "eval.json")
    if args.export_only and os.path.exists(eval_path):
        with open(eval_path) as f:
            res = json.load(f)
    else:
        res = evaluate(net, cases, cfg["patch"])
        with open(eval_path, "w") as f:
            json.dump(res, f, indent=1)
    for name, r in res.items():
        log(logf, f"eval {name} (TRAINING volume, TotalSegmentator labels): mean Dice {r['mean_dice']:.4f} "
                  f"({r['seconds']:.0f} s)")
        for organ, v in r["dice"].items():
            log(logf, f"  {organ:24s} {v:.4f}")
    if not args.no_export:
        extra = {"train_volume_mean_dice": round(res["example_ct"]["mean_dice"], 4),
                 "train_volume_dice": {k: (None if v != v else round(v, 4))
                                       for k, v in res["example_ct"]["dice"].items()}}
        if args.phantoms:
            extra["phantoms"] = {"cases": [n for n in res if n != "example_ct"],
                                 "share_of_patches": args.phantom_weight,
                                 "generator": "medquanbench-cli phantom --seed <n>"}
        meta = metadata(cfg, args, wall, params, extra)
        export_model(net, cfg["patch"], meta, out, method=args.export_method)
        log(logf, f"exported {out} ({os.path.getsize(out) / 1e6:.2f} MB, {args.export_method})")
    return 0

if __name__ == "__main__":
    sys.exit(main())
