#!/usr/bin/env python3
"""The benchmark anchor model: a 3D U-Net of ~1.4 M parameters with random weights.

Four levels (16-32-64-128 channels) of conv3d-InstanceNorm3d-LeakyReLU blocks, strided
conv down, ConvTranspose3d up, skip concatenation, 1x1x1 head to 14 classes. Scripted
with torch.jit.script and saved with the MedQuanBench metadata embedded as the extra
file `medquanbench.json` (SPEC section 7). Weights come from a fixed seed: they are
meaningless for segmentation but fine for timing and memory.

Use Debian's python3-torch (the same LibTorch 1.13 the C++ side links):

    /usr/bin/python3 bench/make_unet.py --out build-bench/bench-unet-96.pt --patch 96
    /usr/bin/python3 bench/make_unet.py --out build-bench/bench-unet-64.pt --patch 64
    /usr/bin/python3 bench/make_unet.py --out - --patch 96 --report-activations   # memory estimate

The class `BenchUNet` is imported by bench/python_fake_quant_hooks.py.
"""
import argparse
import json
import os
import sys

import torch
import torch.nn as nn

EXTRA_FILE = "medquanbench.json"
NUM_CLASSES = 14
CHANNELS = (16, 32, 64, 128)
SEED = 20240601

# BTCV organs (13) + background, with distinct colours.
CLASS_NAMES = ["background", "spleen", "right kidney", "left kidney", "gallbladder", "esophagus",
               "liver", "stomach", "aorta", "inferior vena cava", "portal and splenic vein",
               "pancreas", "right adrenal gland", "left adrenal gland"]
COLORS = [[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [0, 255, 255],
          [255, 0, 255], [255, 239, 213], [0, 0, 205], [205, 133, 63], [210, 180, 140],
          [102, 205, 170], [0, 0, 128], [0, 139, 139]]


class ConvBlock(nn.Module):
    """conv3d (3x3x3) - InstanceNorm3d - LeakyReLU."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv = nn.Conv3d(cin, cout, kernel_size=3, stride=stride, padding=1, bias=True)
        self.norm = nn.InstanceNorm3d(cout, affine=True, eps=1e-5)
        self.act = nn.LeakyReLU(0.01, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.norm(self.conv(x)))


class Stage(nn.Module):
    """Two conv blocks; the first may be strided (downsampling)."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv1 = ConvBlock(cin, cout, stride)
        self.conv2 = ConvBlock(cout, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.conv1(x))


class UpStage(nn.Module):
    """ConvTranspose3d (k2 s2) up, concat with the skip, two conv blocks."""

    def __init__(self, cin: int, cskip: int, cout: int):
        super().__init__()
        self.up = nn.ConvTranspose3d(cin, cskip, kernel_size=2, stride=2, bias=True)
        self.block = Stage(2 * cskip, cout)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.block(torch.cat([self.up(x), skip], dim=1))


class BenchUNet(nn.Module):
    def __init__(self, in_channels: int = 1, num_classes: int = NUM_CLASSES, channels=CHANNELS):
        super().__init__()
        c0, c1, c2, c3 = channels
        self.enc0 = Stage(in_channels, c0)
        self.enc1 = Stage(c0, c1, stride=2)
        self.enc2 = Stage(c1, c2, stride=2)
        self.bottleneck = Stage(c2, c3, stride=2)
        self.dec2 = UpStage(c3, c2, c2)
        self.dec1 = UpStage(c2, c1, c1)
        self.dec0 = UpStage(c1, c0, c0)
        self.head = nn.Conv3d(c0, num_classes, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = self.enc0(x)
        s1 = self.enc1(s0)
        s2 = self.enc2(s1)
        b = self.bottleneck(s2)
        y = self.dec2(b, s2)
        y = self.dec1(y, s1)
        y = self.dec0(y, s0)
        return self.head(y)


def build(seed: int = SEED) -> BenchUNet:
    torch.manual_seed(seed)
    net = BenchUNet()
    # Random affine InstanceNorm parameters too, so nothing is trivially an identity.
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.InstanceNorm3d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.1, 0.1)
    return net.eval()


def metadata(patch: int) -> dict:
    return {
        "format_version": 1,
        "name": "bench-unet",
        "framework": "bench",
        "architecture": "3D U-Net",
        "category": "CNN",
        "classes": [{"id": i, "name": n, "color": c} for i, (n, c) in enumerate(zip(CLASS_NAMES, COLORS))],
        "input_channels": 1,
        "patch_size": [patch, patch, patch],
        "target_spacing": [3, 3, 3],
        "orientation": "LPS",
        "preprocessing": {"type": "clip_scale", "clip": [-175, 250], "range": [0, 1]},
        "output": {"type": "logits", "channels": NUM_CLASSES},
    }


def activation_bytes(net: nn.Module, patch: int) -> dict:
    """Sum of the sizes of every activation a forward on one patch creates (outputs of the
    conv, transposed conv and norm layers and of the skip concatenations; the in-place
    LeakyReLU creates none), the largest one, and the input/output sizes. An upper bound
    for the live activations of one window (nothing freed); temporaries inside ops (e.g.
    the vol2col buffer of the non-oneDNN conv3d path) are not included."""
    sizes = []

    def hook(mod, inp, out):
        sizes.append(out.numel() * out.element_size())

    handles = [m.register_forward_hook(hook) for m in net.modules()
               if isinstance(m, (nn.Conv3d, nn.ConvTranspose3d, nn.InstanceNorm3d))]
    for m in net.modules():  # the concatenations: 2x the transposed conv output
        if isinstance(m, UpStage):
            handles.append(m.up.register_forward_hook(lambda mod, i, o: sizes.append(2 * o.numel() * o.element_size())))
    x = torch.zeros(1, 1, patch, patch, patch)
    with torch.no_grad():
        y = net(x)
    for h in handles:
        h.remove()
    return {"patch": patch, "sum_activation_bytes": sum(sizes), "largest_activation_bytes": max(sizes),
            "activations": len(sizes), "input_bytes": x.numel() * 4, "output_bytes": y.numel() * 4}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="output TorchScript file")
    ap.add_argument("--patch", type=int, default=96, help="patch edge written to the metadata (default 96)")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--report-activations", action="store_true",
                    help="only print the activation sizes of one forward on a patch (JSON) and exit")
    args = ap.parse_args(argv)
    net = build(args.seed)
    if args.report_activations:
        print(json.dumps(activation_bytes(net, args.patch)))
        return 0
    params = sum(p.numel() for p in net.parameters())
    scripted = torch.jit.script(net)
    with torch.no_grad():  # sanity: shape of one small forward
        out = scripted(torch.zeros(1, 1, 32, 32, 32))
    assert tuple(out.shape) == (1, NUM_CLASSES, 32, 32, 32), out.shape
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = args.out + ".tmp"
    torch.jit.save(scripted, tmp, _extra_files={EXTRA_FILE: json.dumps(metadata(args.patch))})
    os.replace(tmp, args.out)
    print(f"{args.out}: BenchUNet, {params} parameters ({params / 1e6:.2f} M), patch {args.patch}^3")
    return 0


if __name__ == "__main__":
    sys.exit(main())
