"""Export helpers for the paper's architectures: axis_order per framework and the metadata
read from nnU-Net v2's own plans. Run from the repository root:

    /usr/bin/python3 -m unittest models.tests.test_export_guides
"""
import json
import os
import tempfile
import unittest

import torch.nn as nn

from models.export import (AxisAdapter, ExportError, default_axis_order, export_model, nnunet_v2_metadata,
                           read_metadata, validate_metadata)


def write_trained_folder(d, transpose=(0, 1, 2), scheme="CTNormalization"):
    plans = {
        "dataset_name": "Dataset017_AbdomenCT", "transpose_forward": list(transpose),
        "configurations": {"3d_fullres": {"patch_size": [32, 48, 40], "spacing": [2.5, 0.8, 0.7],
                                          "normalization_schemes": [scheme]}},
        "foreground_intensity_properties_per_channel": {
            "0": {"mean": 80.5, "std": 120.25, "percentile_00_5": -950.0, "percentile_99_5": 1200.0}},
    }
    dataset = {"channel_names": {"0": "CT"}, "labels": {"background": 0, "spleen": 2, "liver": 1}}
    with open(os.path.join(d, "plans.json"), "w") as f:
        json.dump(plans, f)
    with open(os.path.join(d, "dataset.json"), "w") as f:
        json.dump(dataset, f)


class Conv(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.conv = nn.Conv3d(1, classes, 3, padding=1)

    def forward(self, x):
        return self.conv(x)


class ExportGuides(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def test_axis_order_follows_the_framework(self):
        self.assertEqual(default_axis_order("MONAI"), "xyz")
        self.assertEqual(default_axis_order("nnUNet"), "zyx")
        self.assertEqual(default_axis_order("STU-Net"), "zyx")
        self.assertEqual(default_axis_order("MedFormer"), "zyx")
        self.assertEqual(default_axis_order("something else"), "zyx")
        meta, _ = nnunet_v2_metadata(self._folder())
        meta["framework"] = "MONAI"
        meta.pop("axis_order")
        self.assertEqual(validate_metadata(meta)["axis_order"], "xyz")
        meta["axis_order"] = "yzx"
        with self.assertRaises(ExportError):
            validate_metadata(meta)

    def _folder(self, **kw):
        d = os.path.join(self.tmp.name, "trained")
        os.makedirs(d, exist_ok=True)
        write_trained_folder(d, **kw)
        return d

    def test_nnunet_v2_metadata_from_plans_and_dataset(self):
        meta, permute = nnunet_v2_metadata(self._folder())
        self.assertIsNone(permute)
        self.assertEqual(meta["patch_size"], [32, 48, 40])
        self.assertEqual(meta["target_spacing"], [2.5, 0.8, 0.7])
        self.assertEqual(meta["axis_order"], "zyx")
        self.assertEqual([c["name"] for c in meta["classes"]], ["background", "liver", "spleen"])
        self.assertEqual(meta["preprocessing"], {"type": "zscore", "mean": 80.5, "std": 120.25,
                                                 "clip": [-950.0, 1200.0]})
        out = os.path.join(self.tmp.name, "nnunet.pt")
        export_model(Conv(3), meta["patch_size"], meta, out, method="trace")
        self.assertEqual(read_metadata(out)["name"], "Dataset017_AbdomenCT")

    def test_nnunet_v2_transposed_plans_give_an_adapter_and_zyx_sizes(self):
        meta, permute = nnunet_v2_metadata(self._folder(transpose=(2, 0, 1)))
        # nnU-Net array axis i is original axis transpose[i]: patch [32, 48, 40] of axes (x, z, y)
        self.assertEqual(meta["patch_size"], [48, 40, 32])
        self.assertEqual(meta["target_spacing"], [0.8, 0.7, 2.5])
        self.assertEqual(permute, [0, 1, 4, 2, 3])
        net = AxisAdapter(Conv(3), permute=permute)
        export_model(net, meta["patch_size"], meta, os.path.join(self.tmp.name, "t.pt"), method="trace")

    def test_nnunet_v2_per_image_normalisation_is_refused(self):
        with self.assertRaises(ExportError):
            nnunet_v2_metadata(self._folder(scheme="ZScoreNormalization"))


if __name__ == "__main__":
    unittest.main()
