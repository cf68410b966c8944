"""Data loading for the MedQuanBench model zoo.

Volumes are converted to the model-package convention (SPEC section 7): a numpy array
indexed [z][y][x] in LPS orientation with identity direction, i.e.
  axis 0 (D) = z, superior increasing
  axis 1 (H) = y, posterior increasing
  axis 2 (W) = x, patient-left increasing
This equals ITK's buffer order after reorienting the image to identity direction in LPS.
"""
import os

import nibabel as nib
import numpy as np

DATA_DIR = os.environ.get(
    "MQB_DATA_DIR",
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data"),
)
ABDOMEN_DIR = os.path.join(DATA_DIR, "abdomen-ct")

# BTCV id <- TotalSegmentator v2 "total" id (see shared/data/README.md)
BTCV_FROM_TOTALSEG = {
    1: 1,    # spleen
    2: 2,    # right kidney
    3: 3,    # left kidney
    4: 4,    # gallbladder
    5: 15,   # esophagus
    6: 5,    # liver
    7: 6,    # stomach
    8: 52,   # aorta
    9: 63,   # inferior vena cava
    10: 64,  # portal & splenic vein
    11: 7,   # pancreas
    12: 8,   # right adrenal gland
    13: 9,   # left adrenal gland
}

# BTCV classes with ITK-SNAP-like colours (the colours used by the usual BTCV label tables).
BTCV_CLASSES = [
    {"id": 0, "name": "background", "color": [0, 0, 0]},
    {"id": 1, "name": "spleen", "color": [255, 0, 0]},
    {"id": 2, "name": "right kidney", "color": [0, 255, 0]},
    {"id": 3, "name": "left kidney", "color": [0, 0, 255]},
    {"id": 4, "name": "gallbladder", "color": [255, 255, 0]},
    {"id": 5, "name": "esophagus", "color": [0, 255, 255]},
    {"id": 6, "name": "liver", "color": [255, 0, 255]},
    {"id": 7, "name": "stomach", "color": [255, 239, 213]},
    {"id": 8, "name": "aorta", "color": [0, 0, 205]},
    {"id": 9, "name": "inferior vena cava", "color": [205, 133, 63]},
    {"id": 10, "name": "portal & splenic vein", "color": [210, 180, 140]},
    {"id": 11, "name": "pancreas", "color": [102, 205, 170]},
    {"id": 12, "name": "right adrenal gland", "color": [0, 0, 128]},
    {"id": 13, "name": "left adrenal gland", "color": [0, 139, 139]},
]
NUM_CLASSES = len(BTCV_CLASSES)

HU_CLIP = (-175.0, 250.0)


def remap_totalseg_to_btcv(seg):
    """Map a TotalSegmentator 'total' label map to BTCV ids (everything else -> 0)."""
    seg = np.asarray(seg)
    lut = np.zeros(max(256, int(seg.max()) + 1), dtype=np.uint8)
    for btcv, ts in BTCV_FROM_TOTALSEG.items():
        lut[ts] = btcv
    return lut[seg.astype(np.int64)]


def to_lps_zyx(img, dtype=None):
    """Return (array[z][y][x] in LPS, spacing (sz, sy, sx), origin LPS of voxel [0,0,0]).

    Uses the affine's orientation: axes are permuted/flipped so that they increase toward
    L, P, S (the affine is assumed to be a permutation-with-signs up to obliquity, which
    io_orientation rounds to the closest axes), then transposed to [z, y, x].
    """
    data = np.asanyarray(img.dataobj)
    if dtype is not None:
        data = data.astype(dtype)
    ornt_src = nib.orientations.io_orientation(img.affine)
    ornt_dst = nib.orientations.axcodes2ornt(("L", "P", "S"))
    xform = nib.orientations.ornt_transform(ornt_src, ornt_dst)
    data = nib.orientations.apply_orientation(data, xform)  # now [x(L), y(P), z(S)]
    # spacing along the new axes
    aff = img.affine @ nib.orientations.inv_ornt_aff(xform, img.shape)
    zooms = np.sqrt((aff[:3, :3] ** 2).sum(axis=0))  # x, y, z
    origin_ras = aff[:3, 3]
    origin_lps = np.array([-origin_ras[0], -origin_ras[1], origin_ras[2]])
    arr = np.ascontiguousarray(np.transpose(data, (2, 1, 0)))
    return arr, (float(zooms[2]), float(zooms[1]), float(zooms[0])), origin_lps


def load_ct(path):
    img = nib.load(path)
    arr, spacing, origin = to_lps_zyx(img, np.float32)
    return arr, spacing


def load_seg_btcv(path):
    img = nib.load(path)
    arr, spacing, origin = to_lps_zyx(img)
    return remap_totalseg_to_btcv(arr), spacing


def preprocess_clip_scale(ct, clip=HU_CLIP):
    lo, hi = clip
    return ((np.clip(ct, lo, hi) - lo) / (hi - lo)).astype(np.float32)


def training_cases():
    """The training data: (name, ct[z,y,x] HU float32, label[z,y,x] BTCV uint8, spacing)."""
    ct, sp = load_ct(os.path.join(ABDOMEN_DIR, "example_ct.nii.gz"))
    seg, sp2 = load_seg_btcv(os.path.join(ABDOMEN_DIR, "example_seg_fast_force_split.nii.gz"))
    assert ct.shape == seg.shape and np.allclose(sp, sp2)
    return [("example_ct", ct, seg, sp)]


def phantom_cases(directory):
    """Synthetic phantoms written by `medquanbench-cli phantom --out <name>_ct.nii.gz
    --labels <name>_seg.nii.gz` (labels already in BTCV ids), as training cases."""
    cases = []
    for f in sorted(os.listdir(directory)):
        if not f.endswith("_ct.nii.gz"):
            continue
        seg_path = os.path.join(directory, f[: -len("_ct.nii.gz")] + "_seg.nii.gz")
        if not os.path.exists(seg_path):
            raise SystemExit(f"phantom {f} has no label map {seg_path}")
        ct, sp = load_ct(os.path.join(directory, f))
        seg, sp2 = to_lps_zyx(nib.load(seg_path))[:2]
        assert ct.shape == seg.shape and np.allclose(sp, sp2)
        cases.append((f[: -len("_ct.nii.gz")], ct, seg.astype(np.uint8), sp))
    if not cases:
        raise SystemExit(f"no phantoms (*_ct.nii.gz + *_seg.nii.gz) in {directory}")
    return cases


def centroid(mask):
    idx = np.argwhere(mask)
    return idx.mean(axis=0) if len(idx) else None


def orientation_self_check(seg):
    """Check that a BTCV label map [z,y,x] is in LPS: liver at low x (patient right),
    spleen at high x, aorta posterior (higher y) of the liver's anterior edge,
    right kidney at lower x than the left kidney. Returns a list of (check, ok, detail)."""
    res = []
    liver, spleen, aorta = centroid(seg == 6), centroid(seg == 1), centroid(seg == 8)
    rk, lk = centroid(seg == 2), centroid(seg == 3)
    res.append(("liver x < spleen x (liver on patient right)",
                liver[2] < spleen[2], f"liver x={liver[2]:.1f} spleen x={spleen[2]:.1f}"))
    res.append(("liver in the low-x half", liver[2] < seg.shape[2] / 2,
                f"liver x={liver[2]:.1f} of {seg.shape[2]}"))
    res.append(("right kidney x < left kidney x", rk[2] < lk[2],
                f"rk x={rk[2]:.1f} lk x={lk[2]:.1f}"))
    ys = np.argwhere(seg == 6)[:, 1]
    liver_anterior_edge = ys.min()
    res.append(("aorta posterior of liver anterior edge (higher y)",
                aorta[1] > liver_anterior_edge,
                f"aorta y={aorta[1]:.1f} liver anterior edge y={liver_anterior_edge}"))
    # superior: the liver dome is superior to the kidneys' centroids on average
    res.append(("liver centroid superior to right kidney centroid (higher z)",
                liver[0] > rk[0], f"liver z={liver[0]:.1f} rk z={rk[0]:.1f}"))
    return res


if __name__ == "__main__":
    for name, ct, seg, sp in training_cases():
        print(name, ct.shape, sp, ct.min(), ct.max())
        for lab in range(NUM_CLASSES):
            print(f"  {lab:2d} {BTCV_CLASSES[lab]['name']:24s} {(seg == lab).sum():8d}")
        ok_all = True
        for check, ok, detail in orientation_self_check(seg):
            print(("OK  " if ok else "FAIL"), check, "|", detail)
            ok_all &= bool(ok)
        print("orientation self-check:", "PASSED" if ok_all else "FAILED")
