"""Procedural outdoor scenes with ADE20K labels, and writing them as an ADE20K folder.

A scene is a pure function of its seed: ``generate_scene(seed, size)`` returns the photo-like
``RGBImage`` (uint8 H×W×3) and its ``LabelMap`` (uint8 H×W, ADE20K ids). The layout (terrain
layers, water, roads, objects; see :mod:`training.synth.layout`) is drawn first, then rendered
with per-material noise textures (:mod:`training.synth.render`).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inference.errors import BadInputError
from inference.imageio import save_image, save_label_map
from inference.progress import ProgressFn, no_progress
from training.synth.layout import build_layout
from training.synth.render import render

MIN_SIDE = 16  # matches inference.imageio: smaller images cannot be loaded back
MAX_SIDE = 8192
JPEG_QUALITY = 95


@dataclass(frozen=True)
class SceneConfig:
    """Size of the generated scenes, ``height`` × ``width`` pixels (each 16..8192)."""

    height: int = 256
    width: int = 256

    def __post_init__(self) -> None:
        for name in ("height", "width"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or not MIN_SIDE <= value <= MAX_SIDE:
                raise BadInputError(
                    f"scene {name} must be an integer in {MIN_SIDE}..{MAX_SIDE}, got {value!r}")

    @classmethod
    def of(cls, size: int | tuple[int, int] | SceneConfig) -> SceneConfig:
        """``256`` -> 256×256; ``(h, w)`` -> h×w; a config is returned as is."""
        if isinstance(size, SceneConfig):
            return size
        if isinstance(size, (int, np.integer)):
            return cls(int(size), int(size))
        if isinstance(size, (tuple, list)) and len(size) == 2:
            return cls(*size)
        raise BadInputError(f"scene size must be an int or (height, width), got {size!r}")


def generate_scene(seed: int, size: int | tuple[int, int] | SceneConfig = 256,
                   ) -> tuple[np.ndarray, np.ndarray]:
    """One landscape: ``(rgb uint8 (H, W, 3), labels uint8 (H, W))``, deterministic per seed."""
    config = SceneConfig.of(size)
    if int(seed) < 0:
        raise BadInputError(f"scene seed must be >= 0, got {seed}")
    rng = np.random.default_rng(int(seed))
    canvas = build_layout(rng, config.height, config.width)
    rgb = render(canvas, rng)
    return rgb, canvas.labels


def scene_seed(base_seed: int, index: int) -> int:
    """The seed of scene ``index`` of a dataset: well mixed, so neighbouring datasets differ."""
    state = np.random.SeedSequence([int(base_seed), int(index)]).generate_state(1, np.uint64)
    return int(state[0] >> np.uint64(1))


@dataclass(frozen=True)
class DatasetSummary:
    """What :func:`write_dataset` wrote and how long it took."""

    root: Path
    training: int
    validation: int
    seconds: float

    @property
    def scenes_per_minute(self) -> float:
        return (self.training + self.validation) * 60.0 / max(self.seconds, 1e-9)


def write_dataset(out_dir: str | os.PathLike, count: int,
                  size: int | tuple[int, int] | SceneConfig = 256, seed: int = 0,
                  val_fraction: float = 0.1, progress: ProgressFn | None = None,
                  ) -> DatasetSummary:
    """Write ``count`` scenes in the official ADE20K layout under ``out_dir``.

    ``images/{training,validation}/ADE_{train,val}_NNNNNNNN.jpg`` (JPEG quality 95) and
    ``annotations/{training,validation}/….png`` (single-channel uint8 ids). The last
    ``round(count × val_fraction)`` scenes (at least one when ``count`` >= 2 and the fraction is
    positive) form the validation split. Existing files of the same names are replaced.
    """
    config = SceneConfig.of(size)
    if int(count) < 1:
        raise BadInputError(f"scene count must be at least 1, got {count}")
    if not 0.0 <= val_fraction < 1.0:
        raise BadInputError(f"validation fraction must be in [0, 1), got {val_fraction}")
    if int(seed) < 0:
        raise BadInputError(f"seed must be >= 0, got {seed}")
    root = Path(out_dir)
    if root.exists() and not root.is_dir():
        raise BadInputError(f"output path exists and is not a folder: {root}")
    count = int(count)
    n_val = round(count * val_fraction)
    if val_fraction > 0 and count >= 2:
        n_val = max(n_val, 1)
    n_train = count - n_val
    report = progress or no_progress
    start = time.perf_counter()
    for index in range(count):
        split, prefix, number = (("training", "train", index + 1) if index < n_train
                                 else ("validation", "val", index - n_train + 1))
        rgb, labels = generate_scene(scene_seed(seed, index), config)
        stem = f"ADE_{prefix}_{number:08d}"
        save_image(root / "images" / split / f"{stem}.jpg", rgb, quality=JPEG_QUALITY)
        save_label_map(root / "annotations" / split / f"{stem}.png", labels)
        report(index + 1, count)
    return DatasetSummary(root, n_train, n_val, time.perf_counter() - start)
