#!/usr/bin/env python3
"""An independent PyTorch reference of SPEC sections 1-2 (symmetric min-max fake
quantization, per-tensor and per-channel), with forward pre-hooks on an eager copy of a
MeshNet-style network (dilated Conv3d - BatchNorm3d - ReLU layers, a 1x1x1 head), written to
find why per-tensor W8A8 differed between `quantize` and a hook reference while all
per-output-channel configurations agreed (issue 10).

The cause it shows: MedQuanBench quantizes the contractions of the model's FROZEN graph,
and freezing (torch.jit.freeze, as in deployment) folds every BatchNorm that follows a
convolution into that convolution's weight and bias: W'[c] = W[c] * gamma[c] / sqrt(var[c] + eps).
A hook reference on the eager model quantizes W and applies the BatchNorm afterwards.
* per output channel: channel c's grid scales with |gamma[c] / sigma[c]|, so quantizing W'
  equals quantizing W then scaling, up to float rounding: both agree;
* per tensor: ONE scale for all channels, taken from max |W'| (folded) or max |W| (eager):
  a different grid for every channel, different results.
The engine's behaviour is the deployed one (integer kernels run the folded conv); a
reference must fold first (torch.nn.utils.fusion.fuse_conv_bn_eval) to agree with it.

    /usr/bin/python3 bench/per_tensor_reference.py [--patch 32] [--json out.json]

prints, per configuration, the agreement (mean DSC over classes of the argmax) and the
max |difference| of the logits between the eager (unfolded) and the folded reference, and
checks that the frozen graph's conv weights are the folded ones (what the engine sees).
"""
import argparse
import json
import sys

import torch
import torch.nn as nn
from torch.nn.utils.fusion import fuse_conv_bn_eval


class MeshNetLike(nn.Module):
    """Dilated 3x3x3 convolutions with BatchNorm and ReLU, then a 1x1x1 classifier."""

    def __init__(self, channels=8, classes=3, dilations=(1, 2, 4, 8, 1)):
        super().__init__()
        layers = []
        cin = 1
        for d in dilations:
            layers.append(nn.Sequential(nn.Conv3d(cin, channels, 3, padding=d, dilation=d),
                                        nn.BatchNorm3d(channels), nn.ReLU()))
            cin = channels
        self.layers = nn.Sequential(*layers)
        self.head = nn.Conv3d(channels, classes, 1)

    def forward(self, x):
        return self.head(self.layers(x))


def randomize_batchnorm(net, seed):
    """Trained-looking BatchNorm statistics: gamma / sigma differs a lot between channels."""
    g = torch.Generator().manual_seed(seed)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm3d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g) * 0.2)
            m.running_var.copy_(torch.rand(n, generator=g) * 4 + 0.05)
            m.weight.data.copy_(torch.rand(n, generator=g) * 2 + 0.1)
            m.bias.data.copy_(torch.randn(n, generator=g) * 0.1)


def folded_copy(net):
    """The eager model with every Conv3d-BatchNorm3d pair fused, as freezing does."""
    out = MeshNetLike(net.head.in_channels, net.head.out_channels).eval()
    out.load_state_dict(net.state_dict())
    for block in out.layers:
        block[0] = fuse_conv_bn_eval(block[0], block[1])
        block[1] = nn.Identity()
    return out


def fake_quant(x, amax, bits):
    """SPEC 1, symmetric: s = max(amax, 1e-12) / qmax, s * clamp(round(x / s), -qmax, qmax)."""
    qmax = 2 ** (bits - 1) - 1
    s = amax.clamp_min(1e-12) / qmax
    return torch.round(x / s).clamp(-qmax, qmax) * s


def convs(net):
    return [m for m in net.modules() if isinstance(m, nn.Conv3d)]


def quantized_forward(net, x, calib, granularity, wbits, abits):
    """SPEC 2: weights per tensor or per output channel; activations static per tensor or per
    input channel from the calibration maxima (min-max), computed by the caller."""
    saved = [c.weight.data.clone() for c in convs(net)]
    hooks = []
    try:
        for i, c in enumerate(convs(net)):
            w = c.weight.data
            if granularity == "per-tensor":
                c.weight.data = fake_quant(w, w.abs().max(), wbits)
                amax = calib[i].max()
            else:
                c.weight.data = fake_quant(w, w.abs().amax(dim=(1, 2, 3, 4), keepdim=True), wbits)
                amax = calib[i].view(1, -1, 1, 1, 1)
            hooks.append(c.register_forward_pre_hook(lambda m, inp, a=amax: (fake_quant(inp[0], a, abits),)))
        with torch.no_grad():
            return net(x)
    finally:
        for h in hooks:
            h.remove()
        for c, w in zip(convs(net), saved):
            c.weight.data = w


def calibrate(net, patches):
    """max |x| per input channel of every conv input, FP32 run."""
    maxima = [None] * len(convs(net))
    hooks = []
    for i, c in enumerate(convs(net)):
        def hook(m, inp, i=i):
            a = inp[0].abs().amax(dim=(0, 2, 3, 4))
            maxima[i] = a if maxima[i] is None else torch.maximum(maxima[i], a)
        hooks.append(c.register_forward_pre_hook(hook))
    with torch.no_grad():
        for p in patches:
            net(p)
    for h in hooks:
        h.remove()
    return maxima


def agreement(a, b, classes):
    la, lb = a.argmax(1), b.argmax(1)
    dsc = []
    for c in range(1, classes):
        pa, pb = la == c, lb == c
        n = pa.sum().item() + pb.sum().item()
        if n:
            dsc.append(2.0 * (pa & pb).sum().item() / n)
    return sum(dsc) / len(dsc) if dsc else float("nan")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--patch", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default="")
    args = ap.parse_args(argv)
    torch.manual_seed(args.seed)
    net = MeshNetLike().eval()
    randomize_batchnorm(net, args.seed)
    g = torch.Generator().manual_seed(args.seed + 1)
    x = torch.rand(1, 1, args.patch, args.patch, args.patch, generator=g)
    calib_patch = torch.rand(1, 1, args.patch, args.patch, args.patch, generator=g)
    with torch.no_grad():  # centre the logits so that every class wins somewhere
        net.head.bias -= net(calib_patch).mean(dim=(0, 2, 3, 4))
    folded = folded_copy(net)

    # What the engine sees: the frozen graph's conv weights are the folded ones.
    frozen = torch.jit.freeze(torch.jit.script(net))
    frozen_weights = [n.output().toIValue() for n in frozen.graph.findAllNodes("prim::Constant")
                      if n.output().type().kind() == "TensorType" and n.output().toIValue().dim() == 5]
    folded_weights = [c.weight.data for c in convs(folded)]
    matches = sum(any(fw.shape == w.shape and torch.allclose(fw, w, atol=1e-6) for fw in frozen_weights)
                  for w in folded_weights)
    print(f"frozen graph: {matches}/{len(folded_weights)} conv weights equal the BatchNorm-folded weights")

    with torch.no_grad():
        assert torch.allclose(net(x), folded(x), atol=1e-4), "folding changed the FP32 function"
    calib = calibrate(net, [calib_patch])
    calib_f = calibrate(folded, [calib_patch])
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(calib, calib_f)), "conv inputs differ"
    classes = net.head.out_channels
    # Op by op: the quantized weight of the folded conv against the eager quantized weight
    # scaled by the BatchNorm factor (what the eager model effectively applies).
    print(f"{'weights':<22} {'layer':>5} {'max rel. difference':>20}")
    for wbits in (8, 4):
        for gran in ("per-tensor", "per-channel"):
            worst = 0.0
            for i, block in enumerate(net.layers):
                conv, bn = block[0], block[1]
                k = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach().view(-1, 1, 1, 1, 1)
                w, wf = conv.weight.data, convs(folded)[i].weight.data
                if gran == "per-tensor":
                    qe, qf = fake_quant(w, w.abs().max(), wbits) * k, fake_quant(wf, wf.abs().max(), wbits)
                else:
                    amax = (1, 2, 3, 4)
                    qe = fake_quant(w, w.abs().amax(dim=amax, keepdim=True), wbits) * k
                    qf = fake_quant(wf, wf.abs().amax(dim=amax, keepdim=True), wbits)
                worst = max(worst, ((qe - qf).abs().max() / qf.abs().max()).item())
            print(f"{'W%d %s' % (wbits, gran):<22} {'all':>5} {worst:>20.3g}")
    rows = []
    print(f"{'config':<22} {'agreement DSC':>14} {'max |dlogit|':>13}   (eager-unfolded vs folded reference)")
    for wbits, abits in ((8, 8), (4, 4)):
        for gran in ("per-tensor", "per-channel"):
            ye = quantized_forward(net, x, calib, gran, wbits, abits)
            yf = quantized_forward(folded, x, calib, gran, wbits, abits)
            row = {"config": f"W{wbits}A{abits} {gran}", "agreement_dsc": agreement(ye, yf, classes),
                   "max_abs_logit_difference": (ye - yf).abs().max().item()}
            rows.append(row)
            print(f"{row['config']:<22} {row['agreement_dsc']:>14.4f} {row['max_abs_logit_difference']:>13.3g}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"frozen_weights_folded": matches, "convs": len(folded_weights), "rows": rows}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
