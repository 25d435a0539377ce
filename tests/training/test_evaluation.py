from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from inference.imageio import load_image
from training.data.masks import free_form_mask
from training.evaluation.metrics import all_metrics, detail_ratio, l1, psnr, ssim
from training.evaluation.tasks import make_manipulation_case, make_reconstruction_case
from training.synth import generate_scene, write_dataset

ROOT = Path(__file__).resolve().parents[2]


def test_metrics_on_known_values():
    a = np.zeros((32, 32, 3), np.uint8)
    b = a.copy()
    b[:16] = 255
    assert l1(a, b) == pytest.approx(0.5)
    assert psnr(a, a) == math.inf and psnr(a, b) == pytest.approx(10 * math.log10(2))
    assert ssim(a, a) == pytest.approx(1.0) and ssim(a, b) < 0.9
    mask = np.zeros((32, 32), bool)
    mask[20:] = True
    assert l1(a, b, mask) == 0.0
    rng = np.random.default_rng(0)
    sharp = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    blurred = np.full_like(sharp, 128)
    assert detail_ratio(sharp, sharp, mask) == pytest.approx(1.0)
    assert detail_ratio(blurred, sharp, mask) < 0.01
    assert set(all_metrics(sharp, sharp, mask)) >= {"psnr_mask", "detail"}


def test_free_form_masks_vary_and_cover_a_fraction():
    rng = np.random.default_rng(1)
    masks = [free_form_mask(rng, 128, 96) for _ in range(6)]
    fracs = [m.mean() for m in masks]
    assert all(0.05 <= f <= 0.35 for f in fracs)
    assert len({round(f, 4) for f in fracs}) == 6 and masks[0].shape == (128, 96)


def test_manipulation_case_follows_appendix_d():
    rng = np.random.default_rng(0)
    case = None
    for seed in range(20):
        img, lab = generate_scene(seed, 128)
        case = make_manipulation_case(img, lab, rng)
        if case is not None:
            break
    assert case is not None
    changed = case.labels != case.edited_labels
    assert changed.any()
    # the input's segment is a grown copy: the truth's segment lies inside it
    cls = np.unique(case.labels[changed])
    assert len(cls) == 1
    assert ((case.edited_labels == cls[0]) <= (case.labels == cls[0]) | ~changed).all()
    outside = case.labels != cls[0]  # outside the grown segment nothing was touched
    np.testing.assert_array_equal(case.truth[outside], case.image[outside])


def test_reconstruction_case_hides_the_hole():
    img, lab = generate_scene(2, 96)
    case = make_reconstruction_case(img, lab, np.random.default_rng(0))
    assert case.reconstruction and case.user_mask.any()
    assert (case.image[case.user_mask] == 127).all()
    np.testing.assert_array_equal(case.labels, case.edited_labels)


def test_evaluate_command_writes_reports(tmp_path):
    write_dataset(tmp_path / "data", count=20, size=96, seed=3, val_fraction=0.5)
    out = tmp_path / "report"
    p = subprocess.run(
        [sys.executable, "-m", "training", "evaluate", "--data", str(tmp_path / "data"),
         "--out", str(out), "--count", "2", "--size", "96", "--backends", "hrs-ms",
         "--working-size", "96", "--refine", "synthesis,harmonize", "--sheet"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    rows = json.loads((out / "report.json").read_text())
    methods = {(r["task"], r["method"]) for r in rows}
    assert ("manipulation", "telea") in methods
    assert ("reconstruction", "relayout:hrs-ms (synthesis)") in methods
    assert ("manipulation", "relayout:hrs-ms (harmonize)") in methods
    for task in ("manipulation", "reconstruction"):
        sheet = load_image(out / f"sheet-{task}.png")
        # a header and two case rows; input, layout, truth and five methods side by side
        assert sheet.shape[0] > 2 * 64 and sheet.shape[1] > 7 * 48
        assert sheet.std() > 10
    assert all(r["cases"] == 2 for r in rows)
    assert "| manipulation | unchanged |" in (out / "report.md").read_text()
    bad = subprocess.run([sys.executable, "-m", "training", "evaluate", "--data",
                          str(tmp_path / "data"), "--out", str(out), "--backends", "nope"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "unknown warp backend 'nope'" in bad.stderr
    bad = subprocess.run([sys.executable, "-m", "training", "evaluate", "--data",
                          str(tmp_path / "data"), "--out", str(out), "--refine", "blur"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "unknown refinement 'blur'" in bad.stderr
