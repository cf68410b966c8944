"""Export a segmentation network as a MedQuanBench model package (SPEC section 7).

The package is a TorchScript file whose metadata travel inside it as the extra file
`medquanbench.json`. Library use:

    from models.export import export_model
    export_model(net, [64, 64, 64], metadata, "zoo/my_model.pt", method="script")

Command line (any importable constructor, a checkpoint and a metadata JSON):

    python3 -m models.export --module mypkg.net:build --checkpoint ck.pt \
        --metadata meta.json --out model.pt [--method trace] [--kwargs '{"num_classes": 14}']
"""
import argparse
import importlib
import json
import math
import os
import sys

import torch

EXTRA_FILE = "medquanbench.json"

REQUIRED_KEYS = ["name", "category", "classes", "input_channels", "patch_size",
                 "target_spacing", "preprocessing", "output"]
CATEGORIES = ("CNN", "Hybrid", "Transformer")


class ExportError(RuntimeError):
    pass


AXIS_ORDERS = ("zyx", "xyz")
# The tensor axis order each framework's data pipeline feeds its networks: SimpleITK arrays
# ([z, y, x]: nnU-Net, STU-Net, CBIM's MedFormer) or nibabel / MONAI LoadImage ([x, y, z]).
FRAMEWORK_AXIS_ORDER = {"nnunet": "zyx", "nnu-net": "zyx", "stu-net": "zyx", "stunet": "zyx",
                        "cbim": "zyx", "medformer": "zyx", "monai": "xyz", "nibabel": "xyz", "brainchop": "xyz"}


def default_axis_order(framework):
    """axis_order for a framework name ("MONAI" -> "xyz", "nnUNet" -> "zyx"); "zyx" if unknown."""
    return FRAMEWORK_AXIS_ORDER.get(str(framework or "").strip().lower(), "zyx")


def validate_metadata(meta, patch_size=None):
    """Check the medquanbench.json fields the C++ side relies on; fill format_version and
    orientation defaults. Returns the (copied) metadata dict."""
    meta = dict(meta)
    missing = [k for k in REQUIRED_KEYS if k not in meta]
    if missing:
        raise ExportError(f"metadata is missing {missing}")
    meta.setdefault("format_version", 1)
    meta.setdefault("orientation", "LPS")
    meta.setdefault("axis_order", default_axis_order(meta.get("framework")))
    if meta["axis_order"] not in AXIS_ORDERS:
        raise ExportError(f"axis_order must be one of {AXIS_ORDERS}, got {meta['axis_order']!r}")
    if meta["category"] not in CATEGORIES:
        raise ExportError(f"category must be one of {CATEGORIES}, got {meta['category']!r}")
    classes = meta["classes"]
    if not isinstance(classes, list) or len(classes) < 2:
        raise ExportError("classes must be a list of at least 2 entries")
    for i, c in enumerate(classes):
        if c.get("id") != i:
            raise ExportError(f"class ids must be 0..C-1 in order; entry {i} has id {c.get('id')}")
        if not isinstance(c.get("name"), str):
            raise ExportError(f"class {i} has no name")
        col = c.get("color")
        if not (isinstance(col, list) and len(col) == 3 and all(isinstance(v, int) and 0 <= v <= 255 for v in col)):
            raise ExportError(f"class {i} color must be [r,g,b] integers 0..255")
    out = meta["output"]
    if out.get("type") != "logits" or out.get("channels") != len(classes):
        raise ExportError("output must be {'type': 'logits', 'channels': len(classes)}")
    ps = meta["patch_size"]
    if not (isinstance(ps, list) and len(ps) == 3 and all(isinstance(v, int) and v > 0 for v in ps)):
        raise ExportError("patch_size must be 3 positive integers (in axis_order)")
    if patch_size is not None and list(patch_size) != ps:
        raise ExportError(f"patch_size {ps} in metadata differs from the export patch {list(patch_size)}")
    ts = meta["target_spacing"]
    if not (isinstance(ts, list) and len(ts) == 3 and all(isinstance(v, (int, float)) and v > 0 for v in ts)):
        raise ExportError("target_spacing must be 3 positive numbers (mm, in axis_order)")
    if not (isinstance(meta["input_channels"], int) and meta["input_channels"] >= 1):
        raise ExportError("input_channels must be a positive integer")
    pp = meta["preprocessing"]
    if pp.get("type") == "clip_scale":
        if not (len(pp.get("clip", [])) == 2 and len(pp.get("range", [])) == 2):
            raise ExportError("clip_scale preprocessing needs clip [lo,hi] and range [a,b]")
    elif pp.get("type") == "zscore":
        if not ("mean" in pp and "std" in pp and pp["std"] > 0):
            raise ExportError("zscore preprocessing needs mean and std > 0")
        if "clip" in pp and len(pp["clip"]) != 2:
            raise ExportError("zscore 'clip' (optional, applied before normalisation) must be [lo, hi]")
    elif pp.get("type") != "none":
        raise ExportError(f"unknown preprocessing type {pp.get('type')!r}")
    return meta


class AxisAdapter(torch.nn.Module):
    """Wrap a network trained on another array layout so that the exported model takes the
    MedQuanBench layout [N, C, D=z(S), H=y(P), W=x(L)] (LPS, identity direction).

    forward: x.permute(permute) -> torch.flip(dims=flip) -> net -> flip back -> inverse permute.
    Flips and permutes are not quantized ops; the wrapped layers are named net.<path>.
    Presets (see PRESETS): 'monai-ras' for MONAI models trained after Orientationd("RAS")
    (arrays [C, x(R), y(A), z(S)])."""

    def __init__(self, net, permute=(0, 1, 2, 3, 4), flip=()):
        super().__init__()
        permute = [int(v) for v in permute]
        if sorted(permute) != [0, 1, 2, 3, 4] or permute[0] != 0 or permute[1] != 1:
            raise ExportError(f"permute must reorder the spatial dims 2,3,4 only, got {permute}")
        flip = [int(v) for v in flip]
        if any(v not in (2, 3, 4) for v in flip):
            raise ExportError(f"flip dims must be among 2,3,4, got {flip}")
        self.net = net
        self.permute = permute
        self.inverse = [permute.index(i) for i in range(5)]
        self.flip = flip
        self.do_flip = len(flip) > 0

    def forward(self, x):
        x = x.permute(self.permute)
        if self.do_flip:
            x = torch.flip(x, self.flip)
        y = self.net(x)
        if self.do_flip:
            y = torch.flip(y, self.flip)
        return y.permute(self.inverse).contiguous()


PRESETS = {
    # MedQuanBench [z(S), y(P), x(L)] -> MONAI after Orientationd(axcodes="RAS"): [x(R), y(A), z(S)]
    "monai-ras": dict(permute=(0, 1, 4, 3, 2), flip=(2, 3)),
    # an nnU-Net v2 model trained on images whose ITK direction is diag(-1,-1,1) (the usual
    # RAS-stored NIfTI read by SimpleITK): nnU-Net's array is [z, y(A), x(R)] -> flip y and x
    "nnunet-ras-nifti": dict(permute=(0, 1, 2, 3, 4), flip=(3, 4)),
}


def _class_table(names):
    """[{"id", "name", "color"}] for names in id order, with distinct colours."""
    palette = [[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [255, 0, 255], [0, 255, 255],
               [255, 128, 0], [128, 0, 255], [0, 128, 255], [128, 255, 0], [255, 0, 128], [0, 255, 128],
               [128, 128, 255], [255, 128, 128], [128, 255, 128]]
    return [{"id": i, "name": n, "color": palette[i % len(palette)]} for i, n in enumerate(names)]


def nnunet_v2_metadata(trained_folder, configuration="3d_fullres", name=None, architecture="nnU-Net",
                       framework="nnUNet"):
    """medquanbench.json for an nnU-Net v2 trained model folder (the one holding plans.json,
    dataset.json and fold_*/checkpoint_final.pth), read from nnU-Net's own files:
    patch_size and spacing of `configuration` (nnU-Net orders them like its arrays,
    [z, y, x] after transpose_forward), classes from dataset.json "labels", and the CT
    normalisation (clip to the foreground 0.5/99.5 percentiles, then z-score with the
    foreground mean/std) from foreground_intensity_properties_per_channel (other schemes:
    write "preprocessing" by hand).

    Returns (metadata, permute): permute is None when transpose_forward is the identity,
    else the AxisAdapter permutation that turns MedQuanBench's [z, y, x] into nnU-Net's
    transposed array (patch_size / target_spacing are then given in [z, y, x])."""
    with open(os.path.join(trained_folder, "plans.json")) as f:
        plans = json.load(f)
    with open(os.path.join(trained_folder, "dataset.json")) as f:
        dataset = json.load(f)
    if configuration not in plans.get("configurations", {}):
        raise ExportError(f"{trained_folder}/plans.json has no configuration {configuration!r} "
                          f"(has {sorted(plans.get('configurations', {}))})")
    conf = plans["configurations"][configuration]
    labels = dataset.get("labels", {})
    if any(isinstance(v, (list, tuple)) for v in labels.values()):
        raise ExportError(f"{trained_folder}/dataset.json uses region-based labels; export per-class logits instead")
    ids = sorted((int(v), k) for k, v in labels.items())
    if [i for i, _ in ids] != list(range(len(ids))):
        raise ExportError(f"{trained_folder}/dataset.json labels must be 0..C-1, got {[i for i, _ in ids]}")
    channels = dataset.get("channel_names", dataset.get("modality", {"0": "CT"}))
    transpose = list(plans.get("transpose_forward", [0, 1, 2]))
    patch, spacing = list(conf["patch_size"]), list(conf["spacing"])
    if len(patch) != 3:
        raise ExportError(f"configuration {configuration!r} is not 3D (patch {patch})")
    zyx_patch, zyx_spacing = [0] * 3, [0.0] * 3
    for i, t in enumerate(transpose):  # nnU-Net array axis i is original axis transpose[i]
        zyx_patch[t], zyx_spacing[t] = int(patch[i]), float(spacing[i])
    scheme = conf.get("normalization_schemes", ["ZScoreNormalization"])[0]
    props = plans.get("foreground_intensity_properties_per_channel", {}).get("0")
    if scheme == "CTNormalization" and props:
        pre = {"type": "zscore", "mean": props["mean"], "std": props["std"],
               "clip": [props["percentile_00_5"], props["percentile_99_5"]]}
    elif scheme == "NoNormalization":
        pre = {"type": "none"}
    else:
        raise ExportError(f"{trained_folder}: normalization {scheme!r} (per-image statistics) has no fixed "
                          "medquanbench.json form; write 'preprocessing' by hand")
    n = len(ids)
    meta = {"name": name or plans.get("dataset_name", "nnU-Net model"), "framework": framework,
            "architecture": architecture, "category": "CNN", "description": f"nnU-Net v2 {configuration}",
            "classes": _class_table([k for _, k in ids]), "input_channels": len(channels),
            "patch_size": zyx_patch, "target_spacing": zyx_spacing, "orientation": "LPS", "axis_order": "zyx",
            "preprocessing": pre, "output": {"type": "logits", "channels": n}}
    permute = None if transpose == [0, 1, 2] else [0, 1] + [2 + t for t in transpose]
    return meta, permute


def read_metadata(path):
    """Read medquanbench.json from a saved package (or None if absent)."""
    files = {EXTRA_FILE: ""}
    torch.jit.load(path, map_location="cpu", _extra_files=files)
    txt = files[EXTRA_FILE]
    if isinstance(txt, bytes):
        txt = txt.decode("utf-8")
    return json.loads(txt) if txt else None


def export_model(module, example_patch_size, metadata, out_path, method="script", seed=0):
    """Script (or trace) `module`, embed `metadata` as medquanbench.json, save to out_path,
    reload the file and check a forward pass on a random patch: output [1, C, D, H, W] with
    C == len(metadata['classes']) and all values finite. Returns the validated metadata."""
    patch = [int(v) for v in example_patch_size]
    meta = validate_metadata(metadata, patch)
    module = module.cpu().float().eval()
    gen = torch.Generator().manual_seed(seed)
    example = torch.rand([1, meta["input_channels"]] + patch, generator=gen)
    with torch.no_grad():
        if method == "script":
            ts = torch.jit.script(module)
        elif method == "trace":
            ts = torch.jit.trace(module, example, check_trace=False)
        else:
            raise ExportError(f"method must be 'script' or 'trace', got {method!r}")
    ts = ts.eval()
    json_text = json.dumps(meta, indent=1)
    d = os.path.dirname(os.path.abspath(out_path))
    os.makedirs(d, exist_ok=True)
    tmp = out_path + ".tmp"
    torch.jit.save(ts, tmp, _extra_files={EXTRA_FILE: json_text})
    try:
        files = {EXTRA_FILE: ""}
        loaded = torch.jit.load(tmp, map_location="cpu", _extra_files=files)
        back = files[EXTRA_FILE]
        if isinstance(back, bytes):
            back = back.decode("utf-8")
        if json.loads(back) != meta:
            raise ExportError("embedded metadata did not round-trip")
        with torch.no_grad():
            y = loaded(example)
            y_ref = module(example)
        c = len(meta["classes"])
        if not isinstance(y, torch.Tensor):
            raise ExportError(f"model output must be a single tensor, got {type(y)}")
        if list(y.shape) != [1, c] + patch:
            raise ExportError(f"output shape {list(y.shape)} != {[1, c] + patch}")
        if not torch.isfinite(y).all():
            raise ExportError("output has non-finite values")
        err = (y - y_ref).abs().max().item()
        if not err <= 1e-3 * max(1.0, y_ref.abs().max().item()):
            raise ExportError(f"reloaded TorchScript output differs from eager output (max abs {err})")
    except Exception:
        os.remove(tmp)
        raise
    os.replace(tmp, out_path)
    return meta


def load_constructor(spec):
    """'package.module:callable' -> callable (cwd is put on sys.path)."""
    if ":" not in spec:
        raise ExportError("--module must look like 'package.module:constructor'")
    mod_name, attr = spec.split(":", 1)
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    mod = importlib.import_module(mod_name)
    obj = mod
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def load_state_dict(path):
    """Load a checkpoint: a plain state_dict, or a dict holding one under 'state_dict',
    'model', 'network_weights' (nnU-Net v2) or 'model_state_dict'. 'module.' prefixes
    (DataParallel/DDP) and '_orig_mod.' (torch.compile) are stripped."""
    ck = torch.load(path, map_location="cpu")
    sd = ck
    if isinstance(ck, dict):
        for key in ("state_dict", "model", "network_weights", "model_state_dict"):
            if key in ck and isinstance(ck[key], dict):
                sd = ck[key]
                break
    if not isinstance(sd, dict):
        raise ExportError(f"{path} does not hold a state_dict")
    out = {}
    for k, v in sd.items():
        for pre in ("module.", "_orig_mod."):
            if k.startswith(pre):
                k = k[len(pre):]
        out[k] = v
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m models.export", description=__doc__.split("\n\n")[0])
    ap.add_argument("--module", required=True, help="importable constructor, e.g. mypkg.net:build")
    ap.add_argument("--kwargs", default="{}", help="JSON dict of constructor keyword arguments")
    ap.add_argument("--checkpoint", help="state_dict checkpoint to load (optional)")
    ap.add_argument("--metadata", required=True, help="medquanbench.json content (file)")
    ap.add_argument("--out", required=True, help="output TorchScript file")
    ap.add_argument("--method", default="script", choices=["script", "trace"])
    ap.add_argument("--patch-size", type=int, nargs=3, help="D H W (default: metadata patch_size)")
    ap.add_argument("--no-strict", action="store_true", help="load the checkpoint with strict=False")
    ap.add_argument("--adapter", choices=sorted(PRESETS),
                    help="wrap the network so it takes MedQuanBench's LPS [z,y,x] input (see AxisAdapter)")
    ap.add_argument("--permute", type=int, nargs=5, help="custom AxisAdapter permutation of [N,C,D,H,W]")
    ap.add_argument("--flip", type=int, nargs="*", help="custom AxisAdapter flip dims (after permute)")
    a = ap.parse_args(argv)
    with open(a.metadata) as f:
        meta = json.load(f)
    build = load_constructor(a.module)
    net = build(**json.loads(a.kwargs))
    if a.checkpoint:
        res = net.load_state_dict(load_state_dict(a.checkpoint), strict=not a.no_strict)
        if a.no_strict and (res.missing_keys or res.unexpected_keys):
            print(f"warning: missing {res.missing_keys} unexpected {res.unexpected_keys}", file=sys.stderr)
    if "param_count" not in meta:
        meta["param_count"] = int(sum(p.numel() for p in net.parameters()))
    if a.adapter or a.permute or a.flip:
        kw = dict(PRESETS[a.adapter]) if a.adapter else {}
        if a.permute:
            kw["permute"] = a.permute
        if a.flip is not None:
            kw["flip"] = a.flip
        net = AxisAdapter(net, **kw)
        meta.setdefault("adapter", {"permute": list(net.permute), "flip": list(net.flip)})
    patch = a.patch_size or meta.get("patch_size")
    meta = export_model(net, patch, meta, a.out, method=a.method)
    print(f"wrote {a.out} ({os.path.getsize(a.out) / 1e6:.2f} MB, {meta['param_count']} parameters, "
          f"{len(meta['classes'])} classes, patch {patch})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
