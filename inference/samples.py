"""Sample photos shipped in ``assets/samples`` and hand-tuned layouts for them (no Qt).

No parser runs offline, so the sample label maps are painted programmatically: colour and
position rules per photo, cleaned up with morphology. They are plausible, not ground truth; they
exist for the README screenshots, demos and GUI tests.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from inference.imageio import load_image
from inference.labels import class_id

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "assets" / "samples"


def _hsv(photo: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    hsv = cv2.cvtColor(photo, cv2.COLOR_RGB2HSV).astype(np.float32)
    return hsv[..., 0], hsv[..., 1] / 255.0, hsv[..., 2] / 255.0


def _clean(mask: np.ndarray, open_px: int = 3, close_px: int = 7) -> np.ndarray:
    m = mask.astype(np.uint8)
    if open_px:
        m = cv2.morphologyEx(m, cv2.MORPH_OPEN, np.ones((open_px, open_px), np.uint8))
    if close_px:
        m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, np.ones((close_px, close_px), np.uint8))
    return m.astype(bool)


def _components(mask: np.ndarray, min_area: int, min_height: int = 0) -> np.ndarray:
    n, comp, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    keep = np.zeros(n, bool)
    keep[1:] = (stats[1:, cv2.CC_STAT_AREA] >= min_area) \
        & (stats[1:, cv2.CC_STAT_HEIGHT] >= min_height)
    return keep[comp]


def _horizon(v: np.ndarray, lo: float, hi: float) -> int:
    """Row (within ``lo..hi`` of the height) where the brightness falls most sharply."""
    h = v.shape[0]
    rows = v.mean(axis=1)
    a, b = int(lo * h), int(hi * h)
    grad = np.diff(cv2.GaussianBlur(rows.reshape(-1, 1), (1, 9), 0).ravel())
    return a + int(np.argmax(np.abs(grad[a:b])))


def kite_layout(photo: np.ndarray) -> np.ndarray:
    """Sky everywhere; the kite (a flag-like toy: ADE20K has no kite) as ``flag``.

    The kite is its colourful panels' hull less what looks like the sky around it (the hull
    also spans the sky under the kite's concave lower edge), holes filled, 2 px of outline.
    """
    hue, sat, _v = _hsv(photo)
    colourful = (sat > 0.45) & ((hue < 90) | (hue > 128))
    mask = _components(_clean(colourful, 2, 5), 150)
    labels = np.full(photo.shape[:2], class_id("sky"), np.uint8)
    if mask.any():
        pts = cv2.findNonZero(mask.astype(np.uint8))
        hull = cv2.convexHull(pts)
        kite = np.zeros(mask.shape, np.uint8)
        cv2.fillConvexPoly(kite, hull, 1)
        ring = cv2.dilate(kite, np.ones((15, 15), np.uint8)).astype(bool) & ~kite.astype(bool)
        lab = cv2.cvtColor(photo, cv2.COLOR_RGB2LAB).astype(np.float32)
        sky = np.median(lab[ring], axis=0)
        obj = _clean(kite.astype(bool) & (np.linalg.norm(lab - sky, axis=2) > 18), 0, 5)
        n, comp, stats, _ = cv2.connectedComponentsWithStats(obj.astype(np.uint8), 8)
        if n > 1:
            obj = comp == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
            outside = obj.astype(np.uint8)
            cv2.floodFill(outside, np.zeros((obj.shape[0] + 2, obj.shape[1] + 2), np.uint8),
                          (0, 0), 1)
            obj |= outside == 0                   # holes inside the kite are the kite
            kite = cv2.dilate(obj.astype(np.uint8), np.ones((5, 5), np.uint8))
        labels[kite.astype(bool)] = class_id("flag")
    return labels


def lake_layout(photo: np.ndarray) -> np.ndarray:
    """Calm lake at dusk: sky, a thin band of distant land, water, reeds on the right."""
    h, w = photo.shape[:2]
    _hue, _sat, v = _hsv(photo)
    horizon = _horizon(v, 0.5, 0.75)
    labels = np.full((h, w), class_id("sky"), np.uint8)
    labels[horizon:] = class_id("water")
    band = np.zeros((h, w), bool)
    band[max(0, horizon - int(0.06 * h)):horizon + int(0.02 * h)] = True
    dark = band & (v < np.percentile(v[band], 30))
    labels[_components(_clean(dark, 2, 9), 60)] = class_id("land")
    gray = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY).astype(np.float32)
    texture = cv2.blur(np.abs(cv2.Sobel(gray, cv2.CV_32F, 0, 1)), (15, 15))
    reeds = (texture > np.percentile(texture, 93)) & (np.arange(h)[:, None] > horizon)
    reeds &= np.arange(w)[None, :] > int(0.55 * w)
    labels[_components(_clean(reeds, 3, 15), 400)] = class_id("grass")
    return labels


def boats_layout(photo: np.ndarray) -> np.ndarray:
    """Rowing boats on a shore at sunset: sky, mountains, water, boats, gravel."""
    h, w = photo.shape[:2]
    hue, sat, v = _hsv(photo)
    rows = np.arange(h)[:, None]
    labels = np.full((h, w), class_id("sky"), np.uint8)
    mountain = (v < 0.33) & (rows > 0.2 * h) & (rows < 0.5 * h)
    mountain = _components(_clean(mountain, 3, 21), 2000)
    # Everything below the lowest mountain pixel of each column is water first.
    water_top = np.where(mountain.any(axis=0), h - 1 - np.argmax(mountain[::-1], axis=0),
                         int(0.42 * h))
    below = rows > water_top[None, :]
    labels[mountain] = class_id("mountain")
    labels[below] = class_id("water")
    labels[rows[:, 0] > int(0.6 * h)] = class_id("earth")  # the gravel shore
    boats = (sat > 0.3) & ((hue < 28) | (hue > 165)) & (v > 0.12) & (rows > 0.45 * h)
    boats = _components(_clean(boats, 3, 17), 1500, min_height=int(0.06 * h))
    filled = np.zeros((h, w), np.uint8)
    contours, _ = cv2.findContours(boats.astype(np.uint8), cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(filled, contours, -1, 1, thickness=cv2.FILLED)
    labels[filled.astype(bool)] = class_id("boat")
    return labels


def path_layout(photo: np.ndarray) -> np.ndarray:
    """A forest: trees above, a mossy floor (grass) below, the dirt path (its redder pixels)."""
    h, w = photo.shape[:2]
    rgb = photo.astype(np.float32)
    rows = np.arange(h)[:, None]
    labels = np.full((h, w), class_id("tree"), np.uint8)
    labels[rows[:, 0] > int(0.5 * h)] = class_id("grass")
    dirt = (rgb[..., 0] > rgb[..., 1]) & (rgb[..., 0] > 40) & (rows > 0.4 * h)
    dirt = _clean(dirt, 3, 9)
    n, comp, stats, _ = cv2.connectedComponentsWithStats(dirt.astype(np.uint8), connectivity=8)
    if n > 1:
        biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        path = cv2.dilate((comp == biggest).astype(np.uint8), np.ones((5, 5), np.uint8))
        labels[path.astype(bool)] = class_id("path")
    return labels


LAYOUTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "path.jpg": path_layout,
    "kite.jpg": kite_layout,
    "summer_1am.jpg": lake_layout,
    "eveningglow.jpg": boats_layout,
}


def sample_path(name: str) -> Path:
    return SAMPLES_DIR / name


def load_sample(name: str) -> tuple[np.ndarray, np.ndarray]:
    """A sample photo and its painted layout."""
    photo = load_image(sample_path(name))
    return photo, LAYOUTS[name](photo)
