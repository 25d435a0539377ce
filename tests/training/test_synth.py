"""The procedural landscape generator and ``python -m training synth``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from inference.errors import BadInputError
from inference.labels import NUM_CLASSES, class_id
from training.data import ADE20KFolder
from training.synth import SceneConfig, generate_scene, write_dataset
from training.synth.canvas import SCENE_CLASSES

REPO = Path(__file__).resolve().parents[2]
SEEDS = range(16)


@pytest.fixture(scope="module")
def scenes() -> list[tuple[np.ndarray, np.ndarray]]:
    return [generate_scene(seed, 96) for seed in SEEDS]


def test_same_seed_same_scene() -> None:
    rgb_a, lab_a = generate_scene(7, (48, 64))
    rgb_b, lab_b = generate_scene(7, (48, 64))
    assert np.array_equal(rgb_a, rgb_b)
    assert np.array_equal(lab_a, lab_b)


def test_different_seeds_differ(scenes) -> None:
    labels = {lab.tobytes() for _, lab in scenes}
    images = {rgb.tobytes() for rgb, _ in scenes}
    assert len(labels) == len(scenes)
    assert len(images) == len(scenes)


@pytest.mark.parametrize("size", [16, (16, 40), (37, 17), (20, 120), 64])
def test_shapes_and_types(size) -> None:
    rgb, labels = generate_scene(3, size)
    h, w = (size, size) if isinstance(size, int) else size
    assert rgb.shape == (h, w, 3) and rgb.dtype == np.uint8
    assert labels.shape == (h, w) and labels.dtype == np.uint8


def test_labels_are_outdoor_ade_classes(scenes) -> None:
    seen: set[int] = set()
    for _, labels in scenes:
        values = set(np.unique(labels).tolist())
        assert values <= set(SCENE_CLASSES)
        assert max(values) <= NUM_CLASSES and min(values) >= 1
        assert class_id("sky") in values  # every landscape has a sky above the horizon
        seen |= values
    expected = {class_id(n) for n in ("sky", "tree", "grass", "mountain", "field", "flower")}
    assert expected <= seen
    # Water of some kind, and something built or paved, across the seeds.
    assert seen & {class_id("sea"), class_id("lake"), class_id("water")}
    assert seen & {class_id("road"), class_id("path")}
    assert len(seen) >= 11


def test_sky_is_above_the_ground(scenes) -> None:
    sky = class_id("sky")
    for _, labels in scenes:
        rows = (labels == sky).mean(axis=1)
        assert rows[0] > 0.3  # the top row is mostly sky (trees may poke into it)
        assert rows[-1] == 0.0  # the bottom row is ground or objects


def test_several_tree_instances() -> None:
    tree = class_id("tree")
    counts = []
    for seed in SEEDS:
        _, labels = generate_scene(seed, 128)
        n, _ = cv2.connectedComponents((labels == tree).astype(np.uint8))
        counts.append(n - 1)
    assert max(counts) >= 3
    assert np.mean(counts) >= 2


def test_every_large_region_has_fine_texture(scenes) -> None:
    checked = 0
    for rgb, labels in scenes:
        gray = rgb.astype(np.float32).mean(axis=2)
        high = np.abs(gray - cv2.GaussianBlur(gray, (0, 0), 1.0))
        for value in np.unique(labels):
            inner = cv2.erode((labels == value).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
            if inner.sum() < 300:
                continue
            checked += 1
            # Flat colour gives ~0 here; JPEG-free renders of the classes measure 1.5..13.
            assert high[inner].mean() > 1.0, f"class {value} is flat"
            assert gray[inner].std() > 2.0, f"class {value} has no variation"
    assert checked >= 3 * len(scenes)


def test_config_validates_size() -> None:
    assert SceneConfig.of(32) == SceneConfig(32, 32)
    assert SceneConfig.of((20, 30)) == SceneConfig(20, 30)
    with pytest.raises(BadInputError, match="height"):
        SceneConfig.of(15)
    with pytest.raises(BadInputError, match="size"):
        SceneConfig.of("big")


def test_write_dataset_layout_loads_back(tmp_path) -> None:
    calls: list[tuple[int, int]] = []
    summary = write_dataset(tmp_path, 5, (32, 48), seed=4, val_fraction=0.2,
                            progress=lambda d, t: calls.append((d, t)))
    assert (summary.training, summary.validation) == (4, 1)
    assert calls[-1] == (5, 5) and len(calls) == 5
    assert sorted(p.name for p in (tmp_path / "images" / "training").iterdir()) == [
        f"ADE_train_{i:08d}.jpg" for i in range(1, 5)]
    assert (tmp_path / "annotations" / "validation" / "ADE_val_00000001.png").is_file()
    train = ADE20KFolder(tmp_path, "training")
    rgb, labels = train[0]
    assert len(train) == 4 and rgb.shape == (32, 48, 3) and labels.shape == (32, 48)
    # Labels survive exactly (PNG), and match a fresh render of the same scene seed.
    again = write_dataset(tmp_path / "again", 5, (32, 48), seed=4, val_fraction=0.2)
    assert again.training == 4
    assert np.array_equal(ADE20KFolder(tmp_path / "again", "validation")[0][1],
                          ADE20KFolder(tmp_path, "validation")[0][1])


def _synth(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "training", "synth", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def test_cli_writes_ade20k_folder(tmp_path) -> None:
    out = tmp_path / "synth"
    proc = _synth("--out", str(out), "--count", "3", "--size", "24", "--seed", "2")
    assert proc.returncode == 0, proc.stderr
    assert "scenes/minute" in proc.stdout
    rgb, labels = ADE20KFolder(out, "training")[0]
    assert rgb.shape == (24, 24, 3) and labels.shape == (24, 24)
    assert len(ADE20KFolder(out, "validation")) == 1


@pytest.mark.parametrize(("args", "words"), [
    (("--count", "0", "--size", "32"), "--count"),
    (("--count", "2", "--size", "8"), "--size"),
    (("--count", "2", "--size", "32", "--seed", "-1"), "--seed"),
])
def test_cli_bad_arguments_exit_2(tmp_path, args, words) -> None:
    proc = _synth("--out", str(tmp_path / "o"), *args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and "Traceback" not in proc.stderr
    assert not (tmp_path / "o").exists()


def test_write_dataset_rejects_bad_values(tmp_path) -> None:
    with pytest.raises(BadInputError, match="count"):
        write_dataset(tmp_path, 0, 32)
    with pytest.raises(BadInputError, match="fraction"):
        write_dataset(tmp_path, 2, 32, val_fraction=1.0)
    (tmp_path / "file").write_text("x")
    with pytest.raises(BadInputError, match="not a folder"):
        write_dataset(tmp_path / "file", 2, 32)
