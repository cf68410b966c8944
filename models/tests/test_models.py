"""Tests for the model zoo tooling. Run from the repository root:

    /usr/bin/python3 -m unittest discover -s models/tests -t .
"""
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

import nibabel as nib
import numpy as np
import torch
import torch.nn as nn

from models import data as D
from models import networks as N
from models.export import ExportError, export_model, load_state_dict, main as export_main, read_metadata
from models.infer import gaussian_importance_map, sliding_window_logits, window_starts

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ZOO = os.path.join(ROOT, "models", "zoo")


def make_meta(patch=(16, 16, 16), classes=14, category="CNN"):
    return {
        "name": "test", "framework": "test", "architecture": "test", "category": category,
        "description": "unit test model", "classes": D.BTCV_CLASSES[:classes],
        "input_channels": 1, "patch_size": list(patch), "target_spacing": [3.0, 3.0, 3.0],
        "orientation": "LPS",
        "preprocessing": {"type": "clip_scale", "clip": [-175, 250], "range": [0, 1]},
        "output": {"type": "logits", "channels": classes},
    }


class TinyNet(nn.Module):
    def __init__(self, num_classes=14):
        super().__init__()
        self.conv1 = nn.Conv3d(1, 4, 3, padding=1)
        self.head = nn.Conv3d(4, num_classes, 1)

    def forward(self, x):
        return self.head(torch.relu(self.conv1(x)))


class ExportTests(unittest.TestCase):
    def setUp(self):
        torch.manual_seed(0)
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def test_script_and_trace_roundtrip(self):
        for method in ("script", "trace"):
            out = os.path.join(self.tmp.name, f"m_{method}.pt")
            meta = export_model(TinyNet(), [16, 16, 16], make_meta(), out, method=method)
            self.assertEqual(meta["format_version"], 1)
            back = read_metadata(out)
            self.assertEqual(back, meta)
            self.assertEqual(back["classes"][6]["name"], "liver")
            m = torch.jit.load(out)
            y = m(torch.rand(1, 1, 16, 16, 16))
            self.assertEqual(list(y.shape), [1, 14, 16, 16, 16])
            # the quantization engine looks for convolutions in the inlined graph
            g = str(m.inlined_graph)
            self.assertTrue("aten::_convolution" in g or "aten::conv3d" in g, g)

    def test_class_count_mismatch_rejected(self):
        out = os.path.join(self.tmp.name, "bad.pt")
        with self.assertRaises(ExportError):
            export_model(TinyNet(num_classes=5), [16, 16, 16], make_meta(), out)
        self.assertFalse(os.path.exists(out))
        self.assertFalse(os.path.exists(out + ".tmp"))

    def test_bad_metadata_rejected(self):
        out = os.path.join(self.tmp.name, "bad.pt")
        for mutate in (lambda m: m.pop("classes"),
                       lambda m: m.update(category="MLP"),
                       lambda m: m.update(patch_size=[16, 16]),
                       lambda m: m.update(output={"type": "logits", "channels": 3}),
                       lambda m: m.update(preprocessing={"type": "zscore", "mean": 0, "std": 0}),
                       lambda m: m["classes"][1].update(color=[300, 0, 0])):
            meta = make_meta()
            meta["classes"] = [dict(c) for c in meta["classes"]]
            mutate(meta)
            with self.assertRaises(ExportError):
                export_model(TinyNet(), [16, 16, 16], meta, out)

    def test_non_finite_output_rejected(self):
        net = TinyNet()
        with torch.no_grad():
            net.head.bias.fill_(float("nan"))
        with self.assertRaises(ExportError):
            export_model(net, [16, 16, 16], make_meta(), os.path.join(self.tmp.name, "nan.pt"))

    def test_cli_with_checkpoint(self):
        pkg = os.path.join(self.tmp.name, "userpkg")
        os.makedirs(pkg)
        with open(os.path.join(pkg, "__init__.py"), "w"):
            pass
        with open(os.path.join(pkg, "net.py"), "w") as f:
            f.write(textwrap.dedent("""
                import torch.nn as nn
                class Net(nn.Module):
                    def __init__(self, num_classes=14, width=4):
                        super().__init__()
                        self.enc = nn.Conv3d(1, width, 3, padding=1)
                        self.act = nn.LeakyReLU(0.01)
                        self.head = nn.Conv3d(width, num_classes, 1)
                    def forward(self, x):
                        return self.head(self.act(self.enc(x)))
                def build(**kw):
                    return Net(**kw)
            """))
        sys.path.insert(0, self.tmp.name)
        try:
            import importlib
            net = importlib.import_module("userpkg.net").build(width=6)
            # nnU-Net v2 style checkpoint dict, DDP 'module.' prefixes
            ck = os.path.join(self.tmp.name, "ck.pth")
            torch.save({"network_weights": {"module." + k: v for k, v in net.state_dict().items()},
                        "epoch": 3}, ck)
            meta_path = os.path.join(self.tmp.name, "meta.json")
            with open(meta_path, "w") as f:
                json.dump(make_meta(), f)
            out = os.path.join(self.tmp.name, "cli.pt")
            rc = export_main(["--module", "userpkg.net:build", "--kwargs", '{"width": 6}',
                              "--checkpoint", ck, "--metadata", meta_path, "--out", out])
            self.assertEqual(rc, 0)
            m = torch.jit.load(out)
            x = torch.rand(1, 1, 16, 16, 16)
            torch.testing.assert_close(m(x), net(x))
            meta = read_metadata(out)
            self.assertEqual(meta["param_count"], sum(p.numel() for p in net.parameters()))
        finally:
            sys.path.remove(self.tmp.name)
            for k in [k for k in sys.modules if k.startswith("userpkg")]:
                del sys.modules[k]

    def test_cli_subprocess(self):
        meta_path = os.path.join(self.tmp.name, "meta.json")
        with open(meta_path, "w") as f:
            json.dump(make_meta(patch=(16, 16, 16), category="Hybrid"), f)
        out = os.path.join(self.tmp.name, "sub.pt")
        kw = json.dumps({"img_size": [16, 16, 16], "patch": 8, "dim": 16, "depth": 3, "heads": 2, "feat": 4})
        r = subprocess.run([sys.executable, "-m", "models.export", "--module", "models.networks:UNETRLite",
                            "--kwargs", kw, "--metadata", meta_path, "--out", out],
                           cwd=ROOT, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.exists(out))

    def test_axis_adapter_monai_ras(self):
        from models.export import AxisAdapter, PRESETS

        class MarkX(nn.Module):
            """Channel 0 = the input; channel 1 = the input's index along dim 2 (its 'x')."""
            def forward(self, x):
                idx = torch.arange(x.shape[2], dtype=x.dtype).view(1, 1, -1, 1, 1).expand_as(x)
                return torch.cat([x, idx], 1)

        # MedQuanBench input [z, y, x] (LPS); MONAI RAS net sees [x(R), y(A), z(S)]
        ad = AxisAdapter(MarkX(), **PRESETS["monai-ras"])
        x = torch.rand(1, 1, 3, 4, 5)
        y = ad(x)
        self.assertEqual(list(y.shape), [1, 2, 3, 4, 5])
        torch.testing.assert_close(y[:, :1], x)
        # the net's dim-2 index counts toward patient right: MedQuanBench x index 0 (most
        # right) must have the largest R index
        self.assertEqual(float(y[0, 1, 0, 0, 0]), 4.0)
        self.assertEqual(float(y[0, 1, 0, 0, 4]), 0.0)
        out = os.path.join(self.tmp.name, "ad.pt")
        export_model(AxisAdapter(TinyNet(), **PRESETS["monai-ras"]), [16, 16, 16], make_meta(), out,
                     method="trace")
        self.assertEqual(list(torch.jit.load(out)(torch.rand(1, 1, 16, 16, 16)).shape), [1, 14, 16, 16, 16])

    def test_load_state_dict_variants(self):
        sd = TinyNet().state_dict()
        for wrap in (lambda s: s, lambda s: {"state_dict": s}, lambda s: {"model": s},
                     lambda s: {"_orig_mod." + k: v for k, v in s.items()}):
            p = os.path.join(self.tmp.name, "c.pt")
            torch.save(wrap(sd), p)
            back = load_state_dict(p)
            self.assertEqual(sorted(back), sorted(sd))


class NetworkTests(unittest.TestCase):
    def test_cnn_small(self):
        net = N.PlainUNet3D(1, 14, [4, 8, 16]).eval()
        y = torch.jit.script(net)(torch.rand(1, 1, 16, 16, 16))
        self.assertEqual(list(y.shape), [1, 14, 16, 16, 16])
        g = str(torch.jit.script(net).inlined_graph)
        self.assertIn("aten::conv3d", g)
        self.assertIn("aten::conv_transpose3d", g)
        self.assertIn("aten::instance_norm", g)

    def test_hybrid_small_uses_linear_and_matmul(self):
        net = N.UNETRLite(1, 14, [16, 16, 16], patch=8, dim=16, depth=3, heads=2, feat=4).eval()
        s = torch.jit.script(net)
        y = s(torch.rand(1, 1, 16, 16, 16))
        self.assertEqual(list(y.shape), [1, 14, 16, 16, 16])
        g = str(s.inlined_graph)
        self.assertIn("aten::linear", g)
        self.assertGreaterEqual(g.count("aten::matmul"), 2 * 3)
        self.assertIn("aten::conv_transpose3d", g)

    def test_transunet_small_is_a_hybrid_with_cnn_skips(self):
        net = N.TransUNetLite(1, 14, [16, 16, 16], feats=[4, 8, 8], dim=16, depth=2, heads=2).eval()
        s = torch.jit.script(net)
        y = s(torch.rand(1, 1, 16, 16, 16))
        self.assertEqual(list(y.shape), [1, 14, 16, 16, 16])
        g = str(s.inlined_graph)
        self.assertGreaterEqual(g.count("aten::linear"), 6 * 2)  # q, k, v, proj, fc1, fc2 per block
        self.assertGreaterEqual(g.count("aten::matmul"), 2 * 2)
        self.assertGreaterEqual(g.count("aten::conv_transpose3d"), 3)
        self.assertIn("aten::layer_norm", g)

    def test_zoo_builders(self):
        self.assertLess(N.count_params(N.build_cnn()), 3_000_000)
        self.assertLess(N.count_params(N.build_hybrid()), 3_000_000)
        self.assertLess(N.count_params(N.build_transunet()), 3_000_000)


class InferenceTests(unittest.TestCase):
    def test_window_starts(self):
        self.assertEqual(window_starts(64, 64), [0])
        self.assertEqual(window_starts(30, 64), [0])
        self.assertEqual(window_starts(112, 64), [0, 24, 48])
        s = window_starts(122, 64)
        self.assertEqual((s[0], s[-1]), (0, 58))
        self.assertTrue(all(b - a <= 32 for a, b in zip(s, s[1:])))

    def test_gaussian(self):
        g = gaussian_importance_map([8, 8, 8])
        self.assertAlmostEqual(float(g.max()), 1.0, places=5)
        np.testing.assert_allclose(g, g[::-1, ::-1, ::-1], rtol=1e-6)
        self.assertGreater(float(g.min()), 0)

    def test_sliding_window_constant_model(self):
        class Echo(nn.Module):
            def forward(self, x):
                return torch.cat([x, 1 - x], 1)
        img = np.random.default_rng(0).random((20, 13, 40)).astype(np.float32)
        out = sliding_window_logits(Echo(), img, [16, 16, 16], 2)
        self.assertEqual(out.shape, (2, 20, 13, 40))
        np.testing.assert_allclose(out[0], img, atol=1e-5)


class DataTests(unittest.TestCase):
    def test_remap(self):
        ts = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 52, 63, 64, 18, 200], dtype=np.uint8)
        bt = D.remap_totalseg_to_btcv(ts)
        self.assertEqual(bt.tolist(), [0, 1, 2, 3, 4, 6, 7, 11, 12, 13, 5, 8, 9, 10, 0, 0])

    def test_to_lps_from_ras_and_las(self):
        # a marker voxel at a known world point, in an RAS-stored and a LAS-stored volume
        shape = (6, 5, 4)
        for codes in (("R", "A", "S"), ("L", "A", "S"), ("L", "P", "S")):
            aff = np.diag([2.0, 3.0, 4.0, 1.0])
            for ax, c in enumerate(codes):
                if c in ("L", "P"):  # RAS axis direction reversed
                    aff[ax, ax] *= -1
            aff[:3, 3] = [10, -20, 30]
            vol = np.zeros(shape, np.uint8)
            vol[1, 2, 3] = 1
            arr, sp, origin = D.to_lps_zyx(nib.Nifti1Image(vol, aff))
            self.assertEqual(arr.shape, (4, 5, 6))
            self.assertEqual(sp, (4.0, 3.0, 2.0))
            world_ras = aff @ np.array([1, 2, 3, 1.0])
            world_lps = np.array([-world_ras[0], -world_ras[1], world_ras[2]])
            z, y, x = np.argwhere(arr == 1)[0]
            got = origin + np.array([x * 2.0, y * 3.0, z * 4.0])
            np.testing.assert_allclose(got, world_lps[:3])

    @unittest.skipUnless(os.path.isdir(D.ABDOMEN_DIR), "shared/data/abdomen-ct not found")
    def test_training_volume_orientation(self):
        for name, ct, seg, sp in D.training_cases():
            self.assertEqual(ct.shape, (112, 101, 122))
            for check, ok, detail in D.orientation_self_check(seg):
                self.assertTrue(ok, f"{check}: {detail}")


@unittest.skipUnless(os.path.isdir(ZOO) and any(f.endswith(".pt") for f in os.listdir(ZOO)),
                     "no exported zoo models yet")
class ZooTests(unittest.TestCase):
    def test_zoo_packages(self):
        for f in sorted(os.listdir(ZOO)):
            if not f.endswith(".pt"):
                continue
            with self.subTest(model=f):
                path = os.path.join(ZOO, f)
                self.assertLess(os.path.getsize(path), 20e6)
                meta = read_metadata(path)
                self.assertEqual(meta["format_version"], 1)
                self.assertEqual(meta["orientation"], "LPS")
                self.assertEqual([c["id"] for c in meta["classes"]], list(range(14)))
                self.assertEqual(meta["output"]["channels"], 14)
                m = torch.jit.load(path).eval()
                with torch.no_grad():
                    y = m(torch.rand([1, 1] + meta["patch_size"]))
                self.assertEqual(list(y.shape), [1, 14] + meta["patch_size"])
                self.assertTrue(bool(torch.isfinite(y).all()))


if __name__ == "__main__":
    unittest.main()
