"""``python main.py parse``: exit status 0 on success, 2 with one line on bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.inference.test_parser_models import build_colour_model, halves

ROOT = Path(__file__).resolve().parents[2]


def run_parse(*args: str, cache: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, HF_HUB_CACHE=str(cache), HF_HUB_OFFLINE="1")
    return subprocess.run([sys.executable, "main.py", "parse", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cli")
    photo = root / "photo.png"
    Image.fromarray(halves(90, 120)).save(photo)
    broken = root / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    cache = root / "hf-cache"
    cache.mkdir()
    return {"root": root, "photo": photo, "broken": broken, "cache": cache,
            "model": build_colour_model(root / "colour.onnx")}


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_parse_with_local_model_writes_index_png(files):
    out = files["root"] / "labels.png"
    proc = run_parse("--image", str(files["photo"]), "--out", str(out),
                     "--parser", str(files["model"]), cache=files["cache"])
    assert proc.returncode == 0, proc.stderr
    assert "CPUExecutionProvider" in proc.stdout and "2 classes" in proc.stdout
    img = Image.open(out)
    labels = np.asarray(img)
    assert img.mode == "L" and labels.shape == (90, 120)
    assert labels[45, 5] == 1 and labels[45, 115] == 3


def test_parse_color_writes_palette_colours(files):
    from inference.labels import palette

    out = files["root"] / "labels_color.png"
    proc = run_parse("--image", str(files["photo"]), "--out", str(out), "--color",
                     "--parser", str(files["model"]), "--no-refine", cache=files["cache"])
    assert proc.returncode == 0, proc.stderr
    rgb = np.asarray(Image.open(out).convert("RGB"))
    assert tuple(rgb[45, 5]) == tuple(palette()[1]) and tuple(rgb[45, 115]) == tuple(palette()[3])


def test_parse_regions_needs_no_model(files):
    out = files["root"] / "regions.png"
    proc = run_parse("--image", str(files["photo"]), "--out", str(out), "--parser", "regions",
                     "--regions", "5", cache=files["cache"])
    assert proc.returncode == 0, proc.stderr
    assert "region ids" in proc.stdout
    ids = np.asarray(Image.open(out))
    assert 1 <= len(np.unique(ids)) <= 5 and ids.min() >= 1
    assert ids[45, 5] != ids[45, 115]  # red and blue halves are different regions


def test_offline_missing_default_model_exits_2_with_instructions(files):
    proc = run_parse("--image", str(files["photo"]), "--out", str(files["root"] / "x.png"),
                     cache=files["cache"])
    assert_one_line_error(proc, "segformer-b0-ade", "HF_HUB_OFFLINE=1", str(files["cache"]),
                          "hf download")


@pytest.mark.parametrize("case", ["missing image", "broken image", "missing model", "not onnx",
                                  "jpg out", "unknown parser", "bad hub spec", "bad regions"])
def test_bad_input_exits_2(files, case):
    photo, out = str(files["photo"]), str(files["root"] / "y.png")
    fake = files["root"] / "fake.onnx"
    fake.write_text("not a model")
    args, needle = {
        "missing image": (["--image", str(files["root"] / "none.png"), "--out", out,
                           "--parser", str(files["model"])], "not found"),
        "broken image": (["--image", str(files["broken"]), "--out", out,
                          "--parser", str(files["model"])], "broken.jpg"),
        "missing model": (["--image", photo, "--out", out, "--parser", "/no/such/model.onnx"],
                          "/no/such/model.onnx"),
        "not onnx": (["--image", photo, "--out", out, "--parser", str(fake)],
                     "not a loadable ONNX model"),
        "jpg out": (["--image", photo, "--out", out[:-4] + ".jpg"], ".png"),
        "unknown parser": (["--image", photo, "--out", out, "--parser", "segformer-b9"],
                           "unknown parser"),
        "bad hub spec": (["--image", photo, "--out", out, "--parser", "hf:org/repo"],
                         "hf:ORG/REPO/FILE.onnx"),
        "bad regions": (["--image", photo, "--out", out, "--parser", "regions",
                         "--regions", "0"], "--regions"),
    }[case]
    assert_one_line_error(run_parse(*args, cache=files["cache"]), needle)


def test_main_help_lists_parse_and_the_command_module_stays_light():
    proc = subprocess.run([sys.executable, "main.py", "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0 and "parse" in proc.stdout
    # main.py imports every command module to build its help: ours must not pull in the heavy
    # libraries (other commands' imports are theirs to check).
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c",
                           "import inference.commands.parse"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines()}
    assert "inference.commands.parse" in imported
    assert not imported & {"onnxruntime", "torch", "cv2", "numpy", "huggingface_hub"}
