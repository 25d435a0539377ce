"""Geometric augmentations on numpy ``(RGBImage uint8 (H, W, 3), LabelMap uint8 (H, W))`` pairs.

* :func:`resize_short_side` / :func:`crop` -- bring a photo to the training size (area filter for
  the photo, nearest for labels, which must never blend two classes).
* :func:`random_affine` -- random translation, horizontal flip and scale about the centre, the
  augmentation of paper 000 Eq. 8 (``x̃1``) and of paper 003's pseudo exemplar pairs. Borders are
  filled by reflection, so every pixel of the result is a real pixel of the photo (the sparse warp
  may copy from anywhere) and the labels stay consistent with the photo.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class AffineConfig:
    translate: float = 0.25                  # max shift, fraction of the side (each axis)
    flip: float = 0.5                        # probability of a horizontal flip
    scale: tuple[float, float] = (1.0, 1.0)  # zoom range about the centre (log-uniform)


def resize_short_side(rgb: np.ndarray, labels: np.ndarray, short: int
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Scale so that ``min(H, W) == short``."""
    h, w = labels.shape
    s = short / min(h, w)
    if s == 1.0:
        return rgb, labels
    nh, nw = max(short, round(h * s)), max(short, round(w * s))
    img = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    return img, cv2.resize(labels, (nw, nh), interpolation=cv2.INTER_NEAREST)


def crop(rgb: np.ndarray, labels: np.ndarray, size: int, rng: np.random.Generator | None
         ) -> tuple[np.ndarray, np.ndarray]:
    """A ``size × size`` crop: random with ``rng``, else the centre one."""
    h, w = labels.shape
    if rng is None:
        y, x = (h - size) // 2, (w - size) // 2
    else:
        y, x = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
    return rgb[y:y + size, x:x + size], labels[y:y + size, x:x + size]


def scaled_crop(rgb: np.ndarray, labels: np.ndarray, size: int,
                scale: tuple[float, float], rng: np.random.Generator | None
                ) -> tuple[np.ndarray, np.ndarray]:
    """Resize the short side to ``size · s`` (``s`` in ``scale``; 1 without rng), then crop."""
    s = 1.0 if rng is None else float(rng.uniform(*scale))
    img, lab = resize_short_side(rgb, labels, max(size, round(size * s)))
    return crop(img, lab, size, rng)


def random_affine(rgb: np.ndarray, labels: np.ndarray, rng: np.random.Generator,
                  config: AffineConfig = AffineConfig()) -> tuple[np.ndarray, np.ndarray]:
    """Translate, flip and zoom ``(rgb, labels)`` at random; output has the input's size."""
    h, w = labels.shape
    lo, hi = config.scale
    zoom = math.exp(rng.uniform(math.log(lo), math.log(hi))) if hi > lo else lo
    flip = rng.random() < config.flip
    ty = float(rng.uniform(-config.translate, config.translate)) * h
    tx = float(rng.uniform(-config.translate, config.translate)) * w
    sx = -zoom if flip else zoom
    # x' = sx (x - cx) + cx + tx, y' = zoom (y - cy) + cy + ty  (pixel-centre convention)
    cx, cy = (w - 1) / 2, (h - 1) / 2
    mat = np.array([[sx, 0.0, cx - sx * cx + tx], [0.0, zoom, cy - zoom * cy + ty]], np.float64)
    img = cv2.warpAffine(rgb, mat, (w, h), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REFLECT_101)
    lab = cv2.warpAffine(labels, mat, (w, h), flags=cv2.INTER_NEAREST,
                         borderMode=cv2.BORDER_REFLECT_101)
    return img, lab
