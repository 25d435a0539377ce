"""An ADE20K SceneParsing folder in its official layout, read as numpy arrays.

Layout (``ADEChallengeData2016`` and what ``python -m training synth`` writes)::

    ROOT/images/training/ADE_train_00000001.jpg
    ROOT/annotations/training/ADE_train_00000001.png
    ROOT/images/validation/ADE_val_00000001.jpg
    ROOT/annotations/validation/ADE_val_00000001.png

Images and annotations are paired by file stem. Every image needs its annotation (an error names
the first one missing); annotations without an image are ignored, as the official release has
none. Items are ``(RGBImage uint8 (H, W, 3), LabelMap uint8 (H, W))``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import numpy as np

from inference.errors import BadInputError
from inference.imageio import PHOTO_SUFFIXES, load_image, load_label_map

Split = Literal["training", "validation"]
SPLITS: tuple[str, ...] = ("training", "validation")


class ADE20KFolder:
    """The image/annotation pairs of one split of an ADE20K-layout folder."""

    def __init__(self, root: str | os.PathLike, split: Split = "training") -> None:
        if split not in SPLITS:
            raise BadInputError(f"ADE20K split must be one of {', '.join(SPLITS)}, got {split!r}")
        self.root = Path(root)
        self.split = split
        if not self.root.is_dir():
            raise BadInputError(f"ADE20K folder not found: {self.root}")
        image_dir = self.root / "images" / split
        label_dir = self.root / "annotations" / split
        for folder in (image_dir, label_dir):
            if not folder.is_dir():
                raise BadInputError(
                    f"{self.root} is not an ADE20K folder: {folder.relative_to(self.root)}/ is "
                    "missing (expected images/{training,validation} and "
                    "annotations/{training,validation})")
        images = sorted(p for p in image_dir.iterdir()
                        if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)
        if not images:
            raise BadInputError(f"no images ({', '.join(PHOTO_SUFFIXES)}) in {image_dir}")
        labels = {p.stem: p for p in label_dir.iterdir()
                  if p.is_file() and p.suffix.lower() == ".png"}
        missing = [p for p in images if p.stem not in labels]
        if missing:
            raise BadInputError(
                f"{len(missing)} of {len(images)} images in {image_dir} have no annotation; "
                f"first: {missing[0].name} (expected {label_dir / (missing[0].stem + '.png')})")
        self.pairs: list[tuple[Path, Path]] = [(p, labels[p.stem]) for p in images]

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """``(rgb, labels)`` of pair ``index``; the label map must match the image's size."""
        image_path, label_path = self.pairs[index]  # IndexError for out-of-range, as a sequence
        rgb = load_image(image_path)
        labels = load_label_map(label_path, shape=rgb.shape[:2])
        return rgb, labels

    def __repr__(self) -> str:
        return f"ADE20KFolder({str(self.root)!r}, split={self.split!r}, {len(self)} pairs)"
