"""ADE20KFolder: pairing, validation of the official layout, loading."""

from __future__ import annotations

import numpy as np
import pytest

from inference.errors import BadInputError, LabelMapError
from inference.imageio import save_image, save_label_map
from training.data import ADE20KFolder


def _pair(root, split: str, stem: str, shape=(20, 30), value: int = 3) -> None:
    h, w = shape
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[..., 0] = value * 10
    save_image(root / "images" / split / f"{stem}.jpg", rgb)
    save_label_map(root / "annotations" / split / f"{stem}.png", np.full((h, w), value, np.uint8))


@pytest.fixture
def folder(tmp_path):
    for i in (2, 1, 3):
        _pair(tmp_path, "training", f"ADE_train_{i:08d}", value=i)
    _pair(tmp_path, "validation", "ADE_val_00000001", value=9)
    return tmp_path


def test_lists_pairs_sorted_and_loads(folder) -> None:
    train = ADE20KFolder(folder)
    assert len(train) == 3
    assert [p.stem for p, _ in train.pairs] == [f"ADE_train_{i:08d}" for i in (1, 2, 3)]
    rgb, labels = train[1]
    assert rgb.shape == (20, 30, 3) and labels.shape == (20, 30)
    assert labels.dtype == np.uint8 and np.all(labels == 2)
    assert np.all(ADE20KFolder(folder, "validation")[0][1] == 9)
    assert np.all(train[-1][1] == 3)
    with pytest.raises(IndexError):
        train[3]


def test_orphan_annotation_is_ignored(folder) -> None:
    save_label_map(folder / "annotations" / "training" / "extra.png", np.ones((20, 30), np.uint8))
    assert len(ADE20KFolder(folder)) == 3


def test_missing_root(tmp_path) -> None:
    with pytest.raises(BadInputError, match="not found"):
        ADE20KFolder(tmp_path / "nope")


def test_bad_split(folder) -> None:
    with pytest.raises(BadInputError, match="split"):
        ADE20KFolder(folder, "test")  # type: ignore[arg-type]


@pytest.mark.parametrize("missing", ["images/validation", "annotations/validation"])
def test_missing_folder_is_named(folder, missing) -> None:
    target = folder / missing
    for f in target.iterdir():
        f.unlink()
    target.rmdir()
    with pytest.raises(BadInputError, match=missing):
        ADE20KFolder(folder, "validation")


def test_image_without_annotation(folder) -> None:
    (folder / "annotations" / "training" / "ADE_train_00000002.png").unlink()
    with pytest.raises(BadInputError, match=r"1 of 3 .*ADE_train_00000002\.jpg"):
        ADE20KFolder(folder)


def test_empty_split(tmp_path) -> None:
    (tmp_path / "images" / "training").mkdir(parents=True)
    (tmp_path / "annotations" / "training").mkdir(parents=True)
    with pytest.raises(BadInputError, match="no images"):
        ADE20KFolder(tmp_path)


def test_label_size_must_match_image(folder) -> None:
    save_label_map(folder / "annotations" / "training" / "ADE_train_00000001.png",
                   np.ones((16, 30), np.uint8))
    train = ADE20KFolder(folder)
    with pytest.raises(LabelMapError, match="photo"):
        train[0]
    assert train[1][1].shape == (20, 30)
