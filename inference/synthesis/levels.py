"""What the synthesis works on at one pyramid level: the target crop and every source, resampled.

Sizes follow one rule: a map of ``(H, W)`` full-resolution pixels at scale ``s`` is
``(⌊H·s + ½⌋, ⌊W·s + ½⌋)`` (at least 1×1). The target crop is not resampled on its own: it is a
window of the photo source's level grid, so at every level a photo pixel and the target pixel
over it have the same coordinates and a copy of the photo into itself is an integer shift
(measured: a periodic texture is completed exactly on a shared grid, and with half-pixel
mismatches between separately resampled grids not at all).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from inference.networks.normalize import channel_normalize_

if TYPE_CHECKING:
    from inference.cache import SourceCache

RGBImage = np.ndarray     # (H, W, 3) uint8
LabelMap = np.ndarray     # (H, W) uint8 / int


def level_size(h: int, w: int, scale: float) -> tuple[int, int]:
    return max(1, half_up(h * scale)), max(1, half_up(w * scale))


def half_up(x: float) -> int:
    """Round half up (Python's ``round`` goes to even: 15.5 -> 16 but 16.5 -> 16)."""
    return int(np.floor(x + 0.5))


def resize_image(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``(H, W, C)`` float/uint8 to ``size = (h, w)``: area filter down, bicubic up."""
    h, w = size
    if image.shape[:2] == (h, w):
        return image
    down = h * w <= image.shape[0] * image.shape[1]
    return cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA if down else cv2.INTER_CUBIC)


def resize_labels(labels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    h, w = size
    if labels.shape[:2] == (h, w):
        return labels
    return cv2.resize(labels, (w, h), interpolation=cv2.INTER_NEAREST)


def resize_any(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A bool mask at ``size``: a level pixel is set when any part of its cell is set."""
    h, w = size
    if mask.shape == (h, w):
        return mask.copy()
    cover = cv2.resize(mask.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)
    return cover > 1e-6


def resize_features(features: torch.Tensor, size: tuple[int, int],
                    window: tuple[int, int, int, int] | None = None) -> torch.Tensor:
    """``(C, h, w)`` channel-normalised features at ``size``, re-normalised; with ``window =
    (y0, y1, x0, x1)`` only that window of the resized map (bilinear, half-pixel centres: the
    same values as resizing the whole map and cutting the window, at the window's cost)."""
    if window is None:
        if tuple(features.shape[1:]) == tuple(size):
            return features
        out = F.interpolate(features[None], size=size, mode="bilinear", align_corners=False)[0]
        return channel_normalize_(out)
    y0, y1, x0, x1 = window
    hi, wi = features.shape[1:]
    if (hi, wi) == tuple(size):
        return features[:, y0:y1, x0:x1]
    h, w = size
    dev = features.device
    # output pixel centre -> input pixel coordinate -> grid_sample's [-1, 1] (border: clamped
    # like interpolate's edge rows)
    ys = ((torch.arange(y0, y1, device=dev, dtype=torch.float64) + 0.5) * hi / h) / hi * 2 - 1
    xs = ((torch.arange(x0, x1, device=dev, dtype=torch.float64) + 0.5) * wi / w) / wi * 2 - 1
    grid = torch.stack(torch.broadcast_tensors(xs[None, :], ys[:, None]), -1).float()
    out = F.grid_sample(features[None].float(), grid[None], mode="bilinear",
                        padding_mode="border", align_corners=False)[0]
    return channel_normalize_(out)


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """``(3, H, W)`` float RGB in [0, 1] -> CIE Lab scaled by 1/10 (a 10-unit step is 1.0)."""
    img = rgb.permute(1, 2, 0).contiguous().cpu().numpy().astype(np.float32)
    lab = cv2.cvtColor(img, cv2.COLOR_RGB2LAB) / 10.0
    return torch.from_numpy(lab).permute(2, 0, 1).contiguous().to(rgb.device)


@dataclass
class SynthesisSource:
    """A source at full resolution: the photo (crop or whole) or a reference photo.

    ``invalid`` marks pixels never to copy (inside the hole in reconstruction mode; the hole's
    band whose layout did not change, which still shows what was removed). ``features`` are the
    layout features at any resolution (resampled per level). ``scale`` is this source's pixel
    scale relative to the target crop at full resolution (1 for the photo).
    """

    name: str
    image: RGBImage
    labels: LabelMap
    features: torch.Tensor              # (Cf, hf, wf) channel-normalised
    invalid: np.ndarray | None = None   # (H, W) bool
    scale: float = 1.0
    grid: bool = False                  # the photo: the target is a window of its grid
    # what ``image``, ``labels`` and ``features`` were made from (content hashes, settings):
    # with a cache, the source at each level is materialised once per key, not per edit
    key: Hashable | None = None


@dataclass
class LevelSource:
    """One source materialised at a level (tensors on the synthesis device)."""

    rgb: torch.Tensor          # (3, h, w) float [0, 1]
    labels: torch.Tensor       # (h, w) int64; -1 where invalid
    scale: float               # level px per full-res px of this source

    @property
    def size(self) -> tuple[int, int]:
        return int(self.labels.shape[0]), int(self.labels.shape[1])


def materialise(src: SynthesisSource, scale: float, device: torch.device,
                cache: SourceCache | None = None) -> LevelSource:
    """``src`` at ``scale`` (level px per its full-res px). With ``cache`` and a ``src.key``, the
    resampled image and labels are made once per key (they are shared: nobody writes into
    them); the invalid pixels are marked per call (they change with every edit). Its patch
    descriptors and layout features live in the level's key table (``completion._KeySide``)."""
    h, w = src.labels.shape
    size = level_size(h, w, scale)

    def make() -> LevelSource:
        img = np.ascontiguousarray(resize_image(src.image, size))
        if not img.flags.writeable:      # torch wants a writeable array (it only reads it)
            img = img.copy()
        rgb = torch.from_numpy(img).permute(2, 0, 1).float().div_(255.0)
        rgb = rgb.to(device)
        labels = torch.from_numpy(resize_labels(src.labels, size).astype(np.int64)).to(device)
        return LevelSource(rgb=rgb, labels=labels, scale=size[0] / h)

    if cache is None or src.key is None:
        out = make()
    else:
        out = dataclasses.replace(cache.get(("level", src.key, size, str(device)), make))
    if src.invalid is not None and src.invalid.any():
        bad = torch.from_numpy(resize_any(src.invalid, size)).to(device)
        out.labels = out.labels.masked_fill(bad, -1)
    return out
