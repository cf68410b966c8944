"""Sliding-window inference matching the C++ side (SPEC section 7):
patch = model patch size, overlap 0.5, Gaussian importance weighting sigma = patch/8,
argmax. Also linear resampling to the target spacing and nearest-neighbour back."""
import math

import numpy as np
import torch
from scipy import ndimage


def gaussian_importance_map(patch, sigma_scale=1.0 / 8):
    """Separable Gaussian, centred at the patch centre ((p-1)/2), sigma = p*sigma_scale per axis,
    normalised to max 1; exact zeros replaced by the smallest non-zero value (nnU-Net)."""
    axes = []
    for p in patch:
        c = (p - 1) / 2.0
        s = p * sigma_scale
        i = np.arange(p, dtype=np.float64)
        axes.append(np.exp(-0.5 * ((i - c) / s) ** 2))
    g = axes[0][:, None, None] * axes[1][None, :, None] * axes[2][None, None, :]
    g = g / g.max()
    nz = g[g > 0]
    g[g == 0] = nz.min()
    return g.astype(np.float32)


def window_starts(size, patch, overlap=0.5):
    """nnU-Net step computation: n = ceil((size - patch) / (patch * (1 - overlap))) + 1 windows,
    evenly spread, first at 0, last at size - patch (size >= patch is assumed)."""
    if size <= patch:
        return [0]
    step = patch * (1.0 - overlap)
    n = int(math.ceil((size - patch) / step)) + 1
    actual = (size - patch) / (n - 1)
    return [int(round(actual * i)) for i in range(n)]


@torch.no_grad()
def sliding_window_logits(model, image, patch, num_classes, overlap=0.5, pad_value=0.0,
                          progress=False):
    """image: preprocessed float32 numpy [D,H,W]. Returns the Gaussian-weighted average of the
    window logits, float32 [C,D,H,W]. Volumes smaller than the patch along an axis are padded
    (symmetrically, with pad_value in preprocessed units) and cropped back afterwards."""
    D, H, W = image.shape
    pads = []
    for s, p in zip(image.shape, patch):
        tot = max(0, p - s)
        pads.append((tot // 2, tot - tot // 2))
    img = np.pad(image, pads, mode="constant", constant_values=pad_value) if any(sum(p) for p in pads) else image
    g = gaussian_importance_map(patch)
    gt = torch.from_numpy(g)
    acc = torch.zeros((num_classes,) + img.shape, dtype=torch.float32)
    wsum = torch.zeros(img.shape, dtype=torch.float32)
    x = torch.from_numpy(np.ascontiguousarray(img)).float()
    starts = [window_starts(s, p, overlap) for s, p in zip(img.shape, patch)]
    total = len(starts[0]) * len(starts[1]) * len(starts[2])
    k = 0
    for z in starts[0]:
        for y in starts[1]:
            for xx in starts[2]:
                sl = (slice(z, z + patch[0]), slice(y, y + patch[1]), slice(xx, xx + patch[2]))
                out = model(x[sl][None, None])[0]
                acc[(slice(None),) + sl] += out * gt
                wsum[sl] += gt
                k += 1
                if progress:
                    print(f"\r  window {k}/{total}", end="", flush=True)
    if progress:
        print()
    acc /= wsum
    d0, h0, w0 = pads[0][0], pads[1][0], pads[2][0]
    return acc[:, d0:d0 + D, h0:h0 + H, w0:w0 + W].numpy()


def predict(model, image, patch, num_classes, overlap=0.5):
    logits = sliding_window_logits(model, image, patch, num_classes, overlap)
    return np.argmax(logits, axis=0).astype(np.uint8)


def resample_linear(arr, spacing, target_spacing):
    """Resample [D,H,W] from spacing to target_spacing with trilinear interpolation.
    Output voxel i sits at i*target (same origin as voxel 0 of the input), size =
    round(size*spacing/target)."""
    out_shape = [max(1, int(round(s * sp / tsp))) for s, sp, tsp in zip(arr.shape, spacing, target_spacing)]
    coords = np.meshgrid(*[np.arange(n) * tsp / sp for n, sp, tsp in zip(out_shape, spacing, target_spacing)],
                         indexing="ij")
    return ndimage.map_coordinates(arr.astype(np.float32), coords, order=1, mode="nearest").astype(np.float32)


def resample_nearest_to_shape(lab, spacing_lab, spacing_out, out_shape):
    """Nearest-neighbour resampling of a label map on a grid with spacing_lab to out_shape with
    spacing_out (same origin)."""
    idx = []
    for n, so, sl, nl in zip(out_shape, spacing_out, spacing_lab, lab.shape):
        i = np.rint(np.arange(n) * so / sl).astype(np.int64)
        idx.append(np.clip(i, 0, nl - 1))
    return lab[np.ix_(*idx)]


def dice_per_class(pred, gt, num_classes):
    """SPEC section 6 DSC: NaN when both empty, 0 when only one is empty."""
    res = {}
    for c in range(1, num_classes):
        p, g = pred == c, gt == c
        sp, sg = int(p.sum()), int(g.sum())
        if sp == 0 and sg == 0:
            res[c] = float("nan")
        else:
            res[c] = 2.0 * int((p & g).sum()) / (sp + sg)
    return res
