"""Networks of the MedQuanBench model zoo.

All networks take [N, 1, D, H, W] and return logits [N, C, D, H, W]. They use only plain
Conv3d / ConvTranspose3d / Linear modules and torch.matmul for attention, so the
quantization engine finds every quantizable op (aten::_convolution, aten::linear,
aten::matmul) in the inlined TorchScript graph, named by module path.
"""
import math
from typing import List

import torch
import torch.nn as nn
import torch.nn.functional as F


# ----------------------------------------------------------------------------- CNN (nnU-Net style)

class ConvNormAct(nn.Module):
    """conv3d (3x3x3) -> InstanceNorm3d(affine) -> LeakyReLU(0.01)."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv = nn.Conv3d(cin, cout, 3, stride=stride, padding=1, bias=True)
        self.norm = nn.InstanceNorm3d(cout, eps=1e-5, affine=True)
        self.act = nn.LeakyReLU(0.01, inplace=True)

    def forward(self, x):
        return self.act(self.norm(self.conv(x)))


class Stage(nn.Module):
    """Two ConvNormAct blocks; the first may be strided (nnU-Net encoder stage)."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv1 = ConvNormAct(cin, cout, stride)
        self.conv2 = ConvNormAct(cout, cout, 1)

    def forward(self, x):
        return self.conv2(self.conv1(x))


class UpStage(nn.Module):
    """ConvTranspose3d (k=2, s=2) upsampling, concatenation with the skip, two ConvNormAct."""

    def __init__(self, cin: int, cskip: int, cout: int):
        super().__init__()
        self.up = nn.ConvTranspose3d(cin, cskip, kernel_size=2, stride=2, bias=True)
        self.conv1 = ConvNormAct(2 * cskip, cout)
        self.conv2 = ConvNormAct(cout, cout)

    def forward(self, x, skip):
        x = self.up(x)
        x = torch.cat([x, skip], dim=1)
        return self.conv2(self.conv1(x))


class PlainUNet3D(nn.Module):
    """nnU-Net-style PlainConvUNet: strided-conv encoder, transposed-conv decoder,
    skip connections by concatenation, 1x1x1 segmentation head."""

    def __init__(self, in_channels: int = 1, num_classes: int = 14,
                 features: List[int] = (16, 32, 64, 128, 160)):
        super().__init__()
        features = list(features)
        self.features = features
        enc = []
        cin = in_channels
        for i, f in enumerate(features):
            enc.append(Stage(cin, f, stride=1 if i == 0 else 2))
            cin = f
        self.encoder = nn.ModuleList(enc)
        dec = []
        for i in range(len(features) - 1, 0, -1):
            dec.append(UpStage(features[i], features[i - 1], features[i - 1]))
        self.decoder = nn.ModuleList(dec)
        self.seg_head = nn.Conv3d(features[0], num_classes, kernel_size=1)

    def forward(self, x):
        skips: List[torch.Tensor] = []
        for stage in self.encoder:
            x = stage(x)
            skips.append(x)
        x = skips[-1]
        n = len(skips)
        for i, up in enumerate(self.decoder):
            x = up(x, skips[n - 2 - i])
        return self.seg_head(x)


# ----------------------------------------------------------------------------- Hybrid (UNETR style)

class Attention(nn.Module):
    """Multi-head self-attention with explicit q/k/v Linear layers and torch.matmul."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        assert dim % heads == 0
        self.heads = heads
        self.head_dim = dim // heads
        self.scale = 1.0 / math.sqrt(self.head_dim)
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, t, c = x.shape
        q = self.q(x).reshape(b, t, self.heads, self.head_dim).permute(0, 2, 1, 3)
        k = self.k(x).reshape(b, t, self.heads, self.head_dim).permute(0, 2, 1, 3)
        v = self.v(x).reshape(b, t, self.heads, self.head_dim).permute(0, 2, 1, 3)
        attn = torch.matmul(q * self.scale, k.transpose(-2, -1))  # [b, h, t, t]
        attn = torch.softmax(attn, dim=-1)
        out = torch.matmul(attn, v)  # [b, h, t, hd]
        out = out.permute(0, 2, 1, 3).reshape(b, t, c)
        return self.proj(out)


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class TransformerBlock(nn.Module):
    """Pre-norm ViT block: x + MHSA(LN(x)); x + MLP(LN(x))."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        x = x + self.mlp(self.norm2(x))
        return x


class UpBlock(nn.Module):
    """UNETR decoder block: ConvTranspose3d x2, concat skip, two ConvNormAct."""

    def __init__(self, cin: int, cskip: int, cout: int):
        super().__init__()
        self.up = nn.ConvTranspose3d(cin, cout, kernel_size=2, stride=2)
        self.conv1 = ConvNormAct(cout + cskip, cout)
        self.conv2 = ConvNormAct(cout, cout)

    def forward(self, x, skip):
        x = self.up(x)
        x = torch.cat([x, skip], dim=1)
        return self.conv2(self.conv1(x))


class ProjUp(nn.Module):
    """Reshaped ViT features -> ConvTranspose3d upsampling (x2 per step) -> ConvNormAct,
    as in UNETR's skip paths from intermediate transformer depths."""

    def __init__(self, cin: int, cout: int, steps: int):
        super().__init__()
        layers = []
        c = cin
        for _ in range(steps):
            layers.append(nn.ConvTranspose3d(c, cout, kernel_size=2, stride=2))
            layers.append(ConvNormAct(cout, cout))
            c = cout
        self.blocks = nn.Sequential(*layers)

    def forward(self, x):
        return self.blocks(x)


class UNETRLite(nn.Module):
    """Small UNETR-style hybrid.

    Encoder: a ViT on the patch. Patch embedding = Conv3d(k=s=8) (+ learned position
    embedding) -> `depth` pre-norm transformer blocks. Hidden states after blocks
    depth/3, 2*depth/3 and depth are reshaped to 3D feature maps at 1/8 resolution.
    Decoder: the deepest ViT feature map is upsampled with ConvTranspose3d blocks and
    fused with skips: the two intermediate ViT feature maps (upsampled to 1/4 and 1/2
    by ConvTranspose3d + conv, UNETR style) and a shallow conv stem at full resolution.
    1x1x1 segmentation head.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 14,
                 img_size: List[int] = (64, 64, 64), patch: int = 8, dim: int = 144,
                 depth: int = 6, heads: int = 4, mlp_ratio: float = 3.0,
                 feat: int = 16):
        super().__init__()
        img_size = list(img_size)
        for s in img_size:
            assert s % patch == 0
        self.grid = [s // patch for s in img_size]
        self.patch = patch
        self.dim = dim
        self.depth = depth
        ntok = self.grid[0] * self.grid[1] * self.grid[2]
        self.patch_embed = nn.Conv3d(in_channels, dim, kernel_size=patch, stride=patch)
        self.pos_embed = nn.Parameter(torch.zeros(1, ntok, dim))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        self.blocks = nn.ModuleList([TransformerBlock(dim, heads, mlp_ratio) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.taps = [depth // 3 - 1, 2 * depth // 3 - 1]
        # conv stem on the image (full-resolution skip)
        self.stem = Stage(in_channels, feat, stride=1)
        # UNETR-style projections of intermediate hidden states
        self.skip2 = ProjUp(dim, 2 * feat, steps=2)   # 1/8 -> 1/2
        self.skip4 = ProjUp(dim, 4 * feat, steps=1)   # 1/8 -> 1/4
        self.bottleneck = ConvNormAct(dim, 8 * feat)  # 1/8
        self.up4 = UpBlock(8 * feat, 4 * feat, 4 * feat)  # -> 1/4
        self.up2 = UpBlock(4 * feat, 2 * feat, 2 * feat)  # -> 1/2
        self.up1 = UpBlock(2 * feat, feat, feat)          # -> 1/1
        self.seg_head = nn.Conv3d(feat, num_classes, kernel_size=1)
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)

    def _to3d(self, t):
        b = t.shape[0]
        return t.transpose(1, 2).reshape(b, self.dim, self.grid[0], self.grid[1], self.grid[2])

    def forward(self, x):
        stem = self.stem(x)
        t = self.patch_embed(x).flatten(2).transpose(1, 2) + self.pos_embed
        hidden: List[torch.Tensor] = []
        for blk in self.blocks:
            t = blk(t)
            hidden.append(t)
        t = self.norm(t)
        s4 = self.skip4(self._to3d(hidden[self.taps[1]]))
        s2 = self.skip2(self._to3d(hidden[self.taps[0]]))
        y = self.bottleneck(self._to3d(t))
        y = self.up4(y, s4)
        y = self.up2(y, s2)
        y = self.up1(y, stem)
        return self.seg_head(y)


class TransUNetLite(nn.Module):
    """Small TransUNet-style hybrid.

    A convolutional encoder (three nnU-Net stages: full, 1/2 and 1/4 resolution) feeds a
    ViT bottleneck: patch embedding Conv3d(k=s=2) of the 1/4 features -> tokens at 1/8
    (+ learned position embedding) -> `depth` pre-norm transformer blocks (explicit q/k/v
    Linear + matmul attention, GELU MLP) -> LayerNorm -> reshaped to 3D. A ConvTranspose3d
    decoder fuses the three CNN skips (TransUNet, Chen et al. 2021). The convolutional
    skips give the spatial detail that a plain UNETR has to learn through its tokens, which
    is what makes this hybrid trainable on a CPU budget.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 14,
                 img_size: List[int] = (48, 48, 48), feats: List[int] = (16, 32, 64),
                 dim: int = 128, depth: int = 4, heads: int = 4, mlp_ratio: float = 4.0):
        super().__init__()
        img_size = list(img_size)
        feats = list(feats)
        for s in img_size:
            assert s % 8 == 0
        self.grid = [s // 8 for s in img_size]
        self.dim = dim
        ntok = self.grid[0] * self.grid[1] * self.grid[2]
        self.encoder = nn.ModuleList([Stage(in_channels, feats[0], 1), Stage(feats[0], feats[1], 2),
                                      Stage(feats[1], feats[2], 2)])
        self.patch_embed = nn.Conv3d(feats[2], dim, kernel_size=2, stride=2)
        self.pos_embed = nn.Parameter(torch.zeros(1, ntok, dim))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        self.blocks = nn.ModuleList([TransformerBlock(dim, heads, mlp_ratio) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.bottleneck = ConvNormAct(dim, 2 * feats[2])
        self.up4 = UpBlock(2 * feats[2], feats[2], feats[2])  # 1/8 -> 1/4
        self.up2 = UpBlock(feats[2], feats[1], feats[1])      # -> 1/2
        self.up1 = UpBlock(feats[1], feats[0], feats[0])      # -> 1/1
        self.seg_head = nn.Conv3d(feats[0], num_classes, kernel_size=1)
        self.apply(UNETRLite._init)

    def forward(self, x):
        s1 = self.encoder[0](x)
        s2 = self.encoder[1](s1)
        s4 = self.encoder[2](s2)
        t = self.patch_embed(s4).flatten(2).transpose(1, 2) + self.pos_embed
        for blk in self.blocks:
            t = blk(t)
        t = self.norm(t)
        b = t.shape[0]
        y = t.transpose(1, 2).reshape(b, self.dim, self.grid[0], self.grid[1], self.grid[2])
        y = self.bottleneck(y)
        y = self.up4(y, s4)
        y = self.up2(y, s2)
        y = self.up1(y, s1)
        return self.seg_head(y)


def count_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def build_cnn(num_classes: int = 14) -> nn.Module:
    return PlainUNet3D(1, num_classes, [16, 32, 64, 96, 128])


def build_hybrid(num_classes: int = 14, img_size: List[int] = (48, 48, 48)) -> nn.Module:
    return UNETRLite(1, num_classes, list(img_size), patch=8, dim=144, depth=6, heads=4,
                     mlp_ratio=3.0, feat=16)


def build_transunet(num_classes: int = 14, img_size: List[int] = (48, 48, 48)) -> nn.Module:
    return TransUNetLite(1, num_classes, list(img_size), feats=[16, 32, 64], dim=128, depth=4,
                         heads=4, mlp_ratio=4.0)
