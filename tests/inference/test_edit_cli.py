from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from inference.imageio import load_image, save_image, save_label_map
from training.synth import generate_scene

ROOT = Path(__file__).resolve().parents[2]


def _run(*args):
    return subprocess.run([sys.executable, "main.py", "edit", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("edit")
    img, lab = generate_scene(5, (64, 96))
    edited = lab.copy()
    edited[5:25, 20:60] = lab[0, 0]
    save_image(d / "in.png", img)
    save_label_map(d / "l.png", lab)
    save_label_map(d / "e.png", edited, color=True)  # colour label maps are accepted too
    ref, ref_lab = generate_scene(9, (48, 48))
    save_image(d / "ref.png", ref)
    save_label_map(d / "ref_l.png", ref_lab)
    return d


def test_edit_writes_output_and_warped(files):
    p = _run("--image", files / "in.png", "--labels", files / "l.png", "--edited-labels",
             files / "e.png", "--out", files / "out.png", "--save-warped", files / "w.png",
             "--warp", "hrs-ms", "--working-size", "64", "--iterations", "3",
             "--reference", files / "ref.png", "--reference-labels", files / "ref_l.png")
    assert p.returncode == 0, p.stderr
    assert "synthesis route" in p.stdout
    out, src = load_image(files / "out.png"), load_image(files / "in.png")
    assert out.shape == src.shape and (out != src).any()
    assert load_image(files / "w.png").shape == src.shape


def test_empty_edit_copies_input_with_note(files):
    p = _run("--image", files / "in.png", "--labels", files / "l.png", "--edited-labels",
             files / "l.png", "--out", files / "same.png")
    assert p.returncode == 0 and "nothing to do" in p.stdout
    np.testing.assert_array_equal(load_image(files / "same.png"), load_image(files / "in.png"))


@pytest.mark.parametrize(
    ("extra", "message"),
    [(["--image", "missing.png"], "not found"),
     (["--labels", "ref_l.png"], "is 48×48 but the photo is 96×64"),
     (["--reference-labels", "l.png"], "must follow the --reference"),
     (["--working-size", "8"], "outside 32..4096"),
     (["--checkpoint", "no_such_ckpt"], "checkpoint folder not found")],
)
def test_bad_input_exits_2_with_one_line(files, extra, message):
    args = {"--image": "in.png", "--labels": "l.png", "--edited-labels": "e.png",
            "--out": "o.png"}
    flags = []
    for i in range(0, len(extra), 2):
        if extra[i] in args:
            args[extra[i]] = extra[i + 1]
        else:
            flags += [extra[i], extra[i + 1] if extra[i + 1].isdigit() or "ckpt" in extra[i + 1]
                      else files / extra[i + 1]]
    argv = [x for k, v in args.items() for x in (k, files / v)] + flags
    p = _run(*argv)
    assert p.returncode == 2
    assert message in p.stderr and "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


@pytest.fixture(scope="module")
def moved(tmp_path_factory):
    """A textured box (class 21) on grass, moved 30 px right in the edited layout."""
    d = tmp_path_factory.mktemp("move")
    rng = np.random.default_rng(4)
    img = np.clip(rng.normal((60, 140, 50), 10, (64, 96, 3)), 0, 255).astype(np.uint8)
    img[20:40, 10:30] = rng.integers(0, 256, (20, 20, 3))
    lab = np.full((64, 96), 10, np.uint8)
    lab[20:40, 10:30] = 21
    edited = np.full_like(lab, 10)
    edited[20:40, 40:60] = 21
    save_image(d / "in.png", img)
    save_label_map(d / "l.png", lab)
    save_label_map(d / "e.png", edited)
    return d, img


def test_object_transform_keeps_the_objects_pixels(moved):
    d, img = moved
    p = _run("--image", d / "in.png", "--labels", d / "l.png", "--edited-labels", d / "e.png",
             "--out", d / "out.png", "--working-size", "64", "--object-transform", "15,25:30,0")
    assert p.returncode == 0, p.stderr
    out = load_image(d / "out.png")
    np.testing.assert_array_equal(out[21:39, 41:59], img[21:39, 11:29])   # exact, inner box
    grass = out[22:38, 12:28].reshape(-1, 3).mean(0)
    assert np.abs(grass - (60, 140, 50)).max() < 25       # the old place is grass again


@pytest.mark.parametrize(("spec", "message"), [
    ("15,25", "X,Y:DX,DY"), ("15,25:a,0", "must be numbers"), ("15,25:30,0,0", "SCALE must be"),
    ("500,25:30,0", "outside the 96×64 label map"), ("15,25:30,0,1,0,twist", "flip")])
def test_bad_object_transform_exits_2_with_one_line(moved, spec, message):
    d, _ = moved
    p = _run("--image", d / "in.png", "--labels", d / "l.png", "--edited-labels", d / "e.png",
             "--out", d / "bad.png", "--object-transform", spec)
    assert p.returncode == 2, p.stderr
    assert message in p.stderr and "Traceback" not in p.stderr, p.stderr
    assert not (d / "bad.png").exists()


def test_refine_harmonize_is_selectable(files):
    p = _run("--image", files / "in.png", "--labels", files / "l.png", "--edited-labels",
             files / "e.png", "--out", files / "harm.png", "--working-size", "64",
             "--refine", "harmonize")
    assert p.returncode == 0, p.stderr
    assert "harmonize route" in p.stdout
