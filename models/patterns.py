"""Small networks of our own that reproduce the code patterns of the five architectures of
the MedQuanBench paper, for the engine's tests (op discovery, names, einsum, coverage,
parameter count). Not the upstream code: each class rebuilds only the structure that
matters to the engine.

* `UnetrLike`: MONAI-style self-attention written with torch.einsum (SABlock: q.k^T and
  attention.v), transformer blocks in an nn.ModuleList run by `for blk in self.blocks`.
* `SwinLike`: Swin window attention with a relative position bias table and the shifted-
  window mask, stages `layers1`, `layers2` (nn.ModuleList of one BasicLayer each, as in
  MONAI's SwinTransformer), blocks in an nn.ModuleList, the backbone under `swinViT`.
* `MedFormerLike`: MedFormer-style einsum attention between feature tokens and a
  semantic map ('bij,bkj->bik', 'bhid,bhjd->bhij', 'bhij,bhjd->bhid', 'bhji,bhjd->bhid'),
  decoder heads in an nn.ModuleDict.
* `PlainConvUNetLike`: nnU-Net's nesting (encoder.stages = Sequential of Sequential of
  StackedConvBlocks, each with convs = Sequential of ConvDropoutNormReLU) and a decoder
  that keeps a reference to the encoder (the same parameters reachable by two paths).

    /usr/bin/python3 -m models.patterns OUT_DIR

writes <name>-script.pt and <name>-trace.pt (embedded medquanbench.json, patch 16^3,
3 classes) and OUT_DIR/manifest.json with each model's parameter count as PyTorch counts
it (every tensor once).
"""
import json
import os
import sys
from typing import Dict, List

import torch
import torch.nn as nn

PATCH = [16, 16, 16]
CLASSES = 3


def metadata(name, architecture, category):
    return {
        "format_version": 1, "name": name, "framework": "test-pattern", "architecture": architecture,
        "category": category,
        "classes": [{"id": 0, "name": "background", "color": [0, 0, 0]},
                    {"id": 1, "name": "low", "color": [255, 0, 0]},
                    {"id": 2, "name": "high", "color": [0, 255, 0]}],
        "input_channels": 1, "patch_size": PATCH, "target_spacing": [2.0, 2.0, 2.0], "orientation": "LPS",
        "preprocessing": {"type": "clip_scale", "clip": [-175, 250], "range": [0, 1]},
        "output": {"type": "logits", "channels": CLASSES},
    }


# --- MONAI UNETR-style: einsum self-attention -------------------------------------------

class SABlock(nn.Module):
    def __init__(self, hidden: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(hidden, hidden * 3, bias=False)
        self.out_proj = nn.Linear(hidden, hidden)
        self.scale = (hidden // heads) ** -0.5

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        att = (torch.einsum("blxd,blyd->blxy", q, k) * self.scale).softmax(dim=-1)
        x = torch.einsum("bhxy,bhyd->bhxd", att, v)
        return self.out_proj(x.permute(0, 2, 1, 3).reshape(b, n, c))


class MLPBlock(nn.Module):
    def __init__(self, hidden: int, mlp: int):
        super().__init__()
        self.linear1 = nn.Linear(hidden, mlp)
        self.linear2 = nn.Linear(mlp, hidden)

    def forward(self, x):
        return self.linear2(torch.nn.functional.gelu(self.linear1(x)))


class TransformerBlock(nn.Module):
    def __init__(self, hidden: int, heads: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(hidden)
        self.attn = SABlock(hidden, heads)
        self.norm2 = nn.LayerNorm(hidden)
        self.mlp = MLPBlock(hidden, hidden * 2)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class UnetrLike(nn.Module):
    def __init__(self, hidden=16, heads=2, depth=2):
        super().__init__()
        self.patch_embedding = nn.Conv3d(1, hidden, kernel_size=4, stride=4)
        self.blocks = nn.ModuleList([TransformerBlock(hidden, heads) for _ in range(depth)])
        self.up = nn.ConvTranspose3d(hidden, 8, kernel_size=4, stride=4)
        self.out = nn.Conv3d(8, CLASSES, kernel_size=1)

    def forward(self, x):
        h = self.patch_embedding(x)
        b, c, d, hh, w = h.shape
        t = h.flatten(2).transpose(1, 2)
        for blk in self.blocks:
            t = blk(t)
        h = t.transpose(1, 2).reshape(b, c, d, hh, w)
        return self.out(torch.relu(self.up(h)))


# --- Swin: window attention, relative position bias, shifted-window mask ----------------

def window_partition(x, ws: int):
    b, d, h, w, c = x.shape
    x = x.view(b, d // ws, ws, h // ws, ws, w // ws, ws, c)
    return x.permute(0, 1, 3, 5, 2, 4, 6, 7).reshape(-1, ws * ws * ws, c)


def window_reverse(windows, ws: int, b: int, d: int, h: int, w: int):
    x = windows.view(b, d // ws, h // ws, w // ws, ws, ws, ws, -1)
    return x.permute(0, 1, 4, 2, 5, 3, 6, 7).reshape(b, d, h, w, -1)


class WindowAttention(nn.Module):
    def __init__(self, dim: int, heads: int, ws: int):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.relative_position_bias_table = nn.Parameter(torch.randn((2 * ws - 1) ** 3, heads) * 0.02)
        coords = torch.stack(torch.meshgrid(torch.arange(ws), torch.arange(ws), torch.arange(ws), indexing="ij"))
        flat = coords.flatten(1)
        rel = (flat[:, :, None] - flat[:, None, :]).permute(1, 2, 0) + (ws - 1)
        index = rel[:, :, 0] * (2 * ws - 1) ** 2 + rel[:, :, 1] * (2 * ws - 1) + rel[:, :, 2]
        self.register_buffer("relative_position_index", index)
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, mask: torch.Tensor):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]
        attn = q @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[self.relative_position_index.reshape(-1)].reshape(n, n, -1)
        attn = attn + bias.permute(2, 0, 1).unsqueeze(0)
        nw = mask.shape[0]
        attn = attn.view(b // nw, nw, self.heads, n, n) + mask.unsqueeze(1).unsqueeze(0)
        attn = attn.view(-1, self.heads, n, n).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, n, c))


def shifted_window_mask(size: int, ws: int, shift: int):
    """Swin's attention mask for a cyclic shift: -100 between tokens of different regions."""
    img = torch.zeros(1, size, size, size, 1)
    cnt = 0
    for d in (slice(0, -ws), slice(-ws, -shift), slice(-shift, None)):
        for h in (slice(0, -ws), slice(-ws, -shift), slice(-shift, None)):
            for w in (slice(0, -ws), slice(-ws, -shift), slice(-shift, None)):
                img[:, d, h, w, :] = cnt
                cnt += 1
    win = window_partition(img, ws).squeeze(-1)
    mask = win.unsqueeze(1) - win.unsqueeze(2)
    return mask.masked_fill(mask != 0, -100.0).masked_fill(mask == 0, 0.0)


class SwinBlock(nn.Module):
    def __init__(self, dim: int, heads: int, ws: int, shift: int, size: int):
        super().__init__()
        self.ws = ws
        self.shift = shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, heads, ws)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = MLPBlock(dim, dim * 2)
        if shift > 0:
            self.register_buffer("attn_mask", shifted_window_mask(size, ws, shift))
        else:
            self.register_buffer("attn_mask", torch.zeros(((size // ws) ** 3, ws ** 3, ws ** 3)))

    def forward(self, x):  # x [B, D, H, W, C]
        b, d, h, w, c = x.shape
        s = self.norm1(x)
        if self.shift > 0:
            s = torch.roll(s, shifts=(-self.shift, -self.shift, -self.shift), dims=(1, 2, 3))
        win = self.attn(window_partition(s, self.ws), self.attn_mask)
        s = window_reverse(win, self.ws, b, d, h, w)
        if self.shift > 0:
            s = torch.roll(s, shifts=(self.shift, self.shift, self.shift), dims=(1, 2, 3))
        x = x + s
        return x + self.mlp(self.norm2(x))


class PatchMerging(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(8 * dim)
        self.reduction = nn.Linear(8 * dim, 2 * dim, bias=False)

    def forward(self, x):
        parts = [x[:, 0::2, 0::2, 0::2, :], x[:, 1::2, 0::2, 0::2, :], x[:, 0::2, 1::2, 0::2, :],
                 x[:, 0::2, 0::2, 1::2, :], x[:, 1::2, 1::2, 0::2, :], x[:, 1::2, 0::2, 1::2, :],
                 x[:, 0::2, 1::2, 1::2, :], x[:, 1::2, 1::2, 1::2, :]]
        return self.reduction(self.norm(torch.cat(parts, -1)))


class BasicLayer(nn.Module):
    def __init__(self, dim: int, heads: int, ws: int, size: int):
        super().__init__()
        self.blocks = nn.ModuleList([SwinBlock(dim, heads, ws, 0, size), SwinBlock(dim, heads, ws, ws // 2, size)])
        self.downsample = PatchMerging(dim)

    def forward(self, x):
        for blk in self.blocks:
            x = blk(x)
        return self.downsample(x)


class SwinTransformer(nn.Module):
    def __init__(self, dim=8, ws=2):
        super().__init__()
        self.patch_embed = nn.Conv3d(1, dim, kernel_size=2, stride=2)
        self.layers1 = nn.ModuleList([BasicLayer(dim, 2, ws, 8)])
        self.layers2 = nn.ModuleList([BasicLayer(2 * dim, 2, ws, 4)])

    def forward(self, x) -> List[torch.Tensor]:
        x0 = self.patch_embed(x).permute(0, 2, 3, 4, 1)
        x1 = self.layers1[0](x0.contiguous())
        x2 = self.layers2[0](x1.contiguous())
        return [x0.permute(0, 4, 1, 2, 3), x2.permute(0, 4, 1, 2, 3)]


class SwinLike(nn.Module):
    def __init__(self, dim=8):
        super().__init__()
        self.swinViT = SwinTransformer(dim)
        self.up = nn.ConvTranspose3d(4 * dim, dim, kernel_size=4, stride=4)
        self.out = nn.ConvTranspose3d(2 * dim, CLASSES, kernel_size=2, stride=2)

    def forward(self, x):
        feats = self.swinViT(x)
        return self.out(torch.cat([self.up(feats[1]), feats[0]], 1))


# --- MedFormer: einsum attention over semantic maps -------------------------------------

class SemanticMapGeneration(nn.Module):
    def __init__(self, dim: int, map_dim: int, codes: int):
        super().__init__()
        self.codes = codes
        self.base_proj = nn.Conv3d(dim, map_dim, kernel_size=3, padding=1, bias=False)
        self.semantic_proj = nn.Conv3d(dim, codes, kernel_size=3, padding=1, bias=False)

    def forward(self, x):
        b = x.shape[0]
        feat = self.base_proj(x).flatten(2)                       # B, map_dim, N
        weight_map = self.semantic_proj(x).flatten(2).softmax(-1)  # B, codes, N
        return torch.einsum("bij,bkj->bik", feat, weight_map)      # B, map_dim, codes


class BidirectionAttention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.feat_qv = nn.Conv3d(dim, 2 * dim, kernel_size=1, bias=False)
        self.map_qv = nn.Conv3d(dim, 2 * dim, kernel_size=1, bias=False)
        self.out_proj = nn.Conv3d(dim, dim, kernel_size=1, bias=False)
        self.map_out = nn.Conv3d(dim, dim, kernel_size=1, bias=False)

    def forward(self, feat, semantic_map):
        b, c, d, h, w = feat.shape
        ch = c // self.heads
        fq, fv = self.feat_qv(feat).chunk(2, dim=1)
        mq, mv = self.map_qv(semantic_map.unsqueeze(-1).unsqueeze(-1)).chunk(2, dim=1)
        fq = fq.reshape(b, self.heads, ch, d * h * w).transpose(-1, -2)
        fv = fv.reshape(b, self.heads, ch, d * h * w).transpose(-1, -2)
        mq = mq.reshape(b, self.heads, ch, -1).transpose(-1, -2)
        mv = mv.reshape(b, self.heads, ch, -1).transpose(-1, -2)
        attn = torch.einsum("bhid,bhjd->bhij", fq, mq) * ch ** -0.5
        feat_out = torch.einsum("bhij,bhjd->bhid", attn.softmax(dim=-1), mv)
        map_out = torch.einsum("bhji,bhjd->bhid", attn.softmax(dim=-2), fv)
        feat_out = feat_out.transpose(-1, -2).reshape(b, c, d, h, w)
        map_out = map_out.transpose(-1, -2).reshape(b, c, -1, 1, 1)
        return self.out_proj(feat_out) + feat, self.map_out(map_out).flatten(2) + semantic_map


class MedFormerLike(nn.Module):
    def __init__(self, dim=8, codes=4):
        super().__init__()
        self.inc = nn.Conv3d(1, dim, kernel_size=2, stride=2)
        self.map_gen = SemanticMapGeneration(dim, dim, codes)
        self.layers = nn.ModuleList([BidirectionAttention(dim, 2) for _ in range(2)])
        self.heads = nn.ModuleDict({"up": nn.ConvTranspose3d(dim, dim, kernel_size=2, stride=2),
                                    "seg": nn.Conv3d(dim, CLASSES, kernel_size=1)})

    def forward(self, x):
        f = self.inc(x)
        m = self.map_gen(f)
        for layer in self.layers:
            f, m = layer(f, m)
        for name, head in self.heads.items():
            f = head(f)
        return f


# --- nnU-Net PlainConvUNet: nested containers, decoder referencing the encoder ----------

class ConvDropoutNormReLU(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv = nn.Conv3d(cin, cout, kernel_size=3, stride=stride, padding=1)
        self.norm = nn.InstanceNorm3d(cout, affine=True)
        self.nonlin = nn.LeakyReLU(0.01, inplace=True)
        self.all_modules = nn.Sequential(self.conv, self.norm, self.nonlin)

    def forward(self, x):
        return self.all_modules(x)


class StackedConvBlocks(nn.Module):
    def __init__(self, n: int, cin: int, cout: int, stride: int):
        super().__init__()
        self.convs = nn.Sequential(ConvDropoutNormReLU(cin, cout, stride),
                                   *[ConvDropoutNormReLU(cout, cout, 1) for _ in range(n - 1)])

    def forward(self, x):
        return self.convs(x)


class PlainConvEncoder(nn.Module):
    def __init__(self, features=(4, 8, 16)):
        super().__init__()
        stages = []
        cin = 1
        for s, f in enumerate(features):
            stages.append(nn.Sequential(StackedConvBlocks(2, cin, f, 1 if s == 0 else 2)))
            cin = f
        self.stages = nn.Sequential(*stages)
        self.output_channels = list(features)

    def forward(self, x) -> List[torch.Tensor]:
        ret = []
        for s in self.stages:
            x = s(x)
            ret.append(x)
        return ret


class UNetDecoder(nn.Module):
    def __init__(self, encoder: PlainConvEncoder):
        super().__init__()
        self.encoder = encoder  # as nnU-Net: the same modules reachable as decoder.encoder
        f = encoder.output_channels
        self.transpconvs = nn.ModuleList([nn.ConvTranspose3d(f[-1 - s], f[-2 - s], 2, 2) for s in range(len(f) - 1)])
        self.stages = nn.ModuleList([StackedConvBlocks(2, 2 * f[-2 - s], f[-2 - s], 1) for s in range(len(f) - 1)])
        self.seg_layers = nn.ModuleList([nn.Conv3d(f[-2 - s], CLASSES, 1) for s in range(len(f) - 1)])

    def forward(self, skips: List[torch.Tensor]):
        x = skips[-1]
        seg = x
        s = 0
        for tconv, stage, seg_layer in zip(self.transpconvs, self.stages, self.seg_layers):
            x = stage(torch.cat((tconv(x), skips[-(s + 2)]), 1))
            seg = seg_layer(x)
            s += 1
        return seg


class PlainConvUNetLike(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = PlainConvEncoder()
        self.decoder = UNetDecoder(self.encoder)

    def forward(self, x):
        return self.decoder(self.encoder(x))


PATTERNS = {
    "unetr-like": (UnetrLike, "UNETR-like", "Transformer"),
    "swin-like": (SwinLike, "SwinUNETR-like", "Hybrid"),
    "medformer-like": (MedFormerLike, "MedFormer-like", "Hybrid"),
    "plainconvunet-like": (PlainConvUNetLike, "PlainConvUNet-like", "CNN"),
}


def parameter_count(net):
    return sum(p.numel() for p in net.parameters())  # PyTorch lists each tensor once


def write_all(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    manifest = {}
    for name, (cls, arch, category) in PATTERNS.items():
        torch.manual_seed(0)
        net = cls().eval()
        example = torch.rand(1, 1, *PATCH)
        files = {}
        for method in ("script", "trace"):
            with torch.no_grad():
                ts = torch.jit.script(net) if method == "script" else torch.jit.trace(net, example)
            path = os.path.join(out_dir, f"{name}-{method}.pt")
            md = metadata(f"{name}-{method}", arch, category)
            torch.jit.save(ts, path, _extra_files={"medquanbench.json": json.dumps(md)})
            files[method] = path
        manifest[name] = {"parameters": parameter_count(net), "files": files}
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    return manifest


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python3 -m models.patterns OUT_DIR")
    write_all(sys.argv[1])
