"""Noise fields for the synthetic scenes.

All noise is value noise made by upsampling small random grids with ``cv2.resize`` (cubic) and
summing octaves -- a few resizes per field instead of per-pixel Python work, which is what keeps
the generator at hundreds of scenes per minute on one core. Fields are ``float32`` with zero mean
and unit standard deviation so that callers choose amplitudes in one place.
"""

from __future__ import annotations

import cv2
import numpy as np

# Ground textures are sampled from this periodic tile through the ground-plane projection; 256
# is large enough that the repetition is hidden by the perspective and the haze.
TILE = 256


def _standardise(field: np.ndarray) -> np.ndarray:
    field -= field.mean()
    std = float(field.std())
    if std > 1e-8:
        field *= 1.0 / std
    return field


def fbm(rng: np.random.Generator, shape: tuple[int, int], cell: float, octaves: int = 4,
        gain: float = 0.5, aspect: float = 1.0) -> np.ndarray:
    """Fractal value noise, ``float32 (H, W)``, zero mean, unit std.

    ``cell`` is the coarsest octave's grid spacing in pixels (each octave halves it, down to one
    pixel); ``aspect`` > 1 stretches features horizontally, < 1 vertically.
    """
    h, w = shape
    out = np.zeros((h, w), np.float32)
    amp = 1.0
    for _ in range(octaves):
        cy = max(cell, 1.0)
        cx = max(cell * aspect, 1.0)
        gh = int(np.ceil(h / cy)) + 3
        gw = int(np.ceil(w / cx)) + 3
        grid = rng.standard_normal((gh, gw), dtype=np.float32)
        up = cv2.resize(grid, (max(int(gw * cx), w), max(int(gh * cy), h)),
                        interpolation=cv2.INTER_CUBIC)
        # A random offset hides the grid alignment that would otherwise repeat between octaves.
        oy = int(rng.integers(0, up.shape[0] - h + 1))
        ox = int(rng.integers(0, up.shape[1] - w + 1))
        out += amp * up[oy:oy + h, ox:ox + w]
        amp *= gain
        cell *= 0.5
    return _standardise(out)


def fbm1d(rng: np.random.Generator, length: int, cell: float, octaves: int = 4,
          gain: float = 0.5) -> np.ndarray:
    """1-D fractal noise, ``float32 (length,)``, zero mean, unit std (ridge lines, skylines)."""
    out = np.zeros(length, np.float32)
    amp = 1.0
    for _ in range(octaves):
        c = max(cell, 1.0)
        n = int(np.ceil(length / c)) + 3
        grid = rng.standard_normal((1, n), dtype=np.float32)
        up = cv2.resize(grid, (max(int(n * c), length), 1), interpolation=cv2.INTER_CUBIC)[0]
        ox = int(rng.integers(0, up.shape[0] - length + 1))
        out += amp * up[ox:ox + length]
        amp *= gain
        cell *= 0.5
    return _standardise(out)


def tileable_fbm(rng: np.random.Generator, size: int = TILE, base_cells: int = 4,
                 octaves: int = 6, gain: float = 0.55, aspect: float = 1.0) -> np.ndarray:
    """Periodic fractal noise tile, ``float32 (size, size)``, zero mean, unit std.

    Each octave pads its grid by wrapping before the resize, so the crop repeats seamlessly --
    ground textures are sampled far outside the tile near the horizon. ``aspect`` > 1 gives
    horizontally elongated features (ripples).
    """
    out = np.zeros((size, size), np.float32)
    amp = 1.0
    ny = base_cells
    for _ in range(octaves):
        ny = min(ny, size)
        nx = min(max(round(ny / aspect), 1), size)
        cy, cx = size / ny, size / nx
        pad = 2
        grid = rng.standard_normal((ny, nx), dtype=np.float32)
        grid = np.pad(grid, pad, mode="wrap")
        up = cv2.resize(grid, (round((nx + 2 * pad) * cx), round((ny + 2 * pad) * cy)),
                        interpolation=cv2.INTER_CUBIC)
        oy, ox = round(pad * cy), round(pad * cx)
        out += amp * up[oy:oy + size, ox:ox + size]
        amp *= gain
        ny *= 2
    return _standardise(out)


def ground_coords(shape: tuple[int, int], horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Ground-plane coordinates ``(u, v)`` of every pixel, ``float32 (H, W)`` each.

    A flat ground seen by a level camera: a pixel ``dy`` rows below the horizon is at depth
    ``∝ 1/dy``. Units are chosen so that one unit is one pixel at the bottom row, so textures
    sampled in (u, v) shrink towards the horizon exactly as they would in a photo. Rows above the
    horizon get the values of the first row below it.
    """
    h, w = shape
    ground = max(h - horizon, 1)
    dy = np.maximum(np.arange(h, dtype=np.float32) - horizon, 0.0) + 1.0
    dy = np.minimum(dy, ground)
    scale = ground / dy  # (H,) pixels -> ground units at that row
    x = np.arange(w, dtype=np.float32) - 0.5 * w
    u = x[None, :] * scale[:, None]
    v = np.broadcast_to((ground * scale)[:, None], (h, w))
    return u.astype(np.float32), np.ascontiguousarray(v, dtype=np.float32)


def sample_tile(tile: np.ndarray, u: np.ndarray, v: np.ndarray, scale: float = 1.0,
                stretch: float = 1.0) -> np.ndarray:
    """Sample a periodic ``tile`` at ground coordinates (``scale`` ground units per texel).

    ``stretch`` > 1 squashes the texture along the depth axis (ripples, furrows seen edge-on).
    """
    size = tile.shape[0]
    padded = np.pad(tile, ((0, 1), (0, 1)), mode="wrap")
    mx = np.mod(u * (1.0 / scale), size).astype(np.float32)
    my = np.mod(v * (stretch / scale), size).astype(np.float32)
    return cv2.remap(padded, mx, my, interpolation=cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


def smoothstep(lo: float, hi: float, x: np.ndarray) -> np.ndarray:
    """Hermite step from 0 at ``lo`` to 1 at ``hi`` (``float32``)."""
    t = np.clip((x - lo) * (1.0 / (hi - lo)), 0.0, 1.0)
    return (t * t * (3.0 - 2.0 * t)).astype(np.float32)
