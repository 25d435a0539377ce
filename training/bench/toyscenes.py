"""Textured synthetic scenes with a *known* correspondence, for measuring warps.

A scene (labels + a photo whose regions carry multi-scale procedural texture) is drawn on a canvas
larger than the output; the *target* is its central crop and the *source* is the same scene seen
through a known transform, so the ideal warp of the source into the target layout is the target
photo itself:

* ``flip``      -- the source is the target mirrored left-right;
* ``translate`` -- the source is a crop shifted by up to 1/8 of the size (pixels of the target
  that fall outside it have no true match and are left out of the score);
* ``scale``     -- the source is a wider crop (zoom out by 0.75..0.9) resized to the output size.

This module only serves measurement (tests and the bench); the engine never uses it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from inference.correspondence.base import WarpRequest, WarpSource

TRANSFORMS = ("flip", "translate", "scale")
# ADE20K ids: sky, building, tree, grass, mountain, water, road, car, person, rock, flower, fence
_BACKGROUND = (3, 2, 5, 10, 17, 22, 7)
_OBJECTS = (21, 13, 35, 67, 33, 5, 2)


@dataclass
class ToyPair:
    request: WarpRequest
    target_image: torch.Tensor    # (3, H, W) float [0, 1], the ideal warp
    valid: torch.Tensor           # (H, W) bool, target pixels with a true match in the source
    transform: str


def make_scene(seed: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """A square textured scene: ``(image (S, S, 3) float32 [0, 1], labels (S, S) uint8)``."""
    rng = np.random.default_rng(seed)
    s = size
    labels = np.zeros((s, s), np.uint8)
    # Background: a wavy horizon splitting two or three bands.
    bands = rng.choice(_BACKGROUND, size=3, replace=False)
    xs = np.arange(s)
    rows = np.arange(s)[:, None]
    phase = rng.uniform(0, 6)
    h1 = s * rng.uniform(0.25, 0.4) + s * 0.05 * np.sin(xs / s * rng.uniform(2, 6) + phase)
    h2 = s * rng.uniform(0.6, 0.75) + s * 0.04 * np.sin(xs / s * rng.uniform(2, 6))
    labels[:] = bands[2]
    labels[rows < h2[None]] = bands[1]
    labels[rows < h1[None]] = bands[0]
    for _ in range(rng.integers(4, 8)):
        cls = int(rng.choice(_OBJECTS))
        cx, cy = rng.uniform(0.1, 0.9, 2) * s
        r = rng.uniform(0.04, 0.14) * s
        if rng.random() < 0.5:
            axes = (int(r), int(r * rng.uniform(0.5, 1.5)))
            angle = float(rng.uniform(0, 180))
            cv2.ellipse(labels, (int(cx), int(cy)), axes, angle, 0, 360, cls, -1)
        else:
            n = int(rng.integers(3, 7))
            ang = np.sort(rng.uniform(0, 2 * np.pi, n))
            rad = r * rng.uniform(0.6, 1.4, n)
            pts = np.stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)], 1).astype(np.int32)
            cv2.fillPoly(labels, [pts], cls)
    image = np.zeros((s, s, 3), np.float32)
    for cls in np.unique(labels):
        image[labels == cls] = _texture(rng, s)[labels == cls]
    return np.clip(image, 0, 1), labels


def _texture(rng: np.random.Generator, s: int) -> np.ndarray:
    """Multi-octave coloured noise plus an oriented grating: detail at every scale."""
    base = rng.uniform(0.2, 0.8, 3).astype(np.float32)
    tint = rng.uniform(-1, 1, 3).astype(np.float32)
    acc = np.zeros((s, s), np.float32)
    for octave, amp in ((8, 0.5), (32, 0.35), (s // 4, 0.3), (s, 0.25)):
        n = max(2, min(s, octave))
        noise = rng.standard_normal((n, n)).astype(np.float32)
        acc += amp * cv2.resize(noise, (s, s), interpolation=cv2.INTER_CUBIC)
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float32)
    theta, period = rng.uniform(0, np.pi), rng.uniform(4, 12)
    acc += 0.4 * np.sin((xx * np.cos(theta) + yy * np.sin(theta)) * 2 * np.pi / period)
    return base + 0.15 * acc[..., None] * (0.6 + 0.4 * tint)


def make_pair(seed: int, size: int, transform: str | None = None) -> ToyPair:
    """A known-correspondence pair at ``size``²; ``transform`` defaults to one picked by seed."""
    rng = np.random.default_rng(seed + 7919)
    transform = transform or TRANSFORMS[seed % len(TRANSFORMS)]
    if transform not in TRANSFORMS:
        raise ValueError(f"unknown transform {transform!r}; known: {TRANSFORMS}")
    big = int(size * 1.4)
    image, labels = make_scene(seed, big)
    m = (big - size) // 2
    tgt_img, tgt_lab = image[m:m + size, m:m + size], labels[m:m + size, m:m + size]
    valid = np.ones((size, size), bool)
    if transform == "flip":
        src_img, src_lab = tgt_img[:, ::-1], tgt_lab[:, ::-1]
    elif transform == "translate":
        dy, dx = rng.integers(-size // 8, size // 8 + 1, 2)
        src_img = image[m + dy:m + dy + size, m + dx:m + dx + size]
        src_lab = labels[m + dy:m + dy + size, m + dx:m + dx + size]
        # Target pixel (y, x) is source (y - dy, x - dx): valid if that lies inside.
        valid[:, :] = False
        valid[max(0, dy):size + min(0, dy), max(0, dx):size + min(0, dx)] = True
    else:
        z = rng.uniform(0.75, 0.9)
        crop = round(size / z)
        c0 = (big - crop) // 2
        src_img = cv2.resize(image[c0:c0 + crop, c0:c0 + crop], (size, size),
                             interpolation=cv2.INTER_AREA)
        src_lab = cv2.resize(labels[c0:c0 + crop, c0:c0 + crop], (size, size),
                             interpolation=cv2.INTER_NEAREST)
    request = WarpRequest(
        sources=[WarpSource(image=_chw(src_img), labels=torch.from_numpy(
            np.ascontiguousarray(src_lab)).long())],
        target_labels=torch.from_numpy(np.ascontiguousarray(tgt_lab)).long(),
        seed=seed,
    )
    return ToyPair(request, _chw(tgt_img), torch.from_numpy(valid), transform)


def _chw(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))).float()
