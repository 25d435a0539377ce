"""The known-correspondence set of ``main.py bench``: synthetic scenes warped onto themselves.

Each case takes a procedural landscape (:func:`training.synth.generate_scene`) as the *target*
(its label map is the layout to warp into; its photo is the right answer) and shows the warp a
*source* that is a transformed copy of the same scene, so the correct warp is known exactly:

* ``flip``      -- the source is the target mirrored left-right: target ``(y, x)`` is source
  ``(y, W-1-x)``; every pixel is scored.
* ``translate`` -- the scene is rendered on a larger canvas; the target is its centre crop, the
  source a crop shifted by ``(dy, dx)``: target ``q`` is source ``q - d``. Pixels whose true source
  falls outside the source frame have no right answer and are not scored.
* ``scale``     -- the source is a centred crop of the target magnified by ``ZOOM`` with
  pixel replication (``source[p] = crop[floor(p / ZOOM)]``), so target pixel ``q`` of the crop
  is *exactly* source pixel ``ceil((q - c0) · ZOOM)``; pixels outside the crop are not scored.

Because every case is built by indexing, warping the source with the true mapping reproduces the
target bit for bit on the scored pixels (``oracle_warp``: infinite PSNR). No target photo is
given to the backend (``target_image=None``): the warp must be found from the layouts and the
source photo alone, as in paper 000's self-supervised setting (Eq. 8: a flipped and translated
copy of the image warped into its own layout).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from inference.correspondence.base import WarpRequest, WarpSource
from training.evaluation.metrics import psnr, psnr_from_mse
from training.synth import generate_scene

TRANSFORMS = ("flip", "translate", "scale")
SHIFT = 0.125   # translate: the canvas margin, as a fraction of the size
ZOOM = 1.25     # scale: magnification of the source


@dataclass
class BenchCase:
    """One known-correspondence warp problem at one output resolution."""

    name: str                   # "flip", "translate", "scale"
    request: WarpRequest
    truth: torch.Tensor         # (3, H, W) float [0, 1]: the target photo = the correct warp
    valid: torch.Tensor         # (H, W) bool: pixels whose true source lies inside the source
    true_source: torch.Tensor   # (2, H, W) int64 (y, x) of the true source pixel (-1: none)


def _chw(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1))).float() / 255.0


def _labels(lab: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(lab)).long()


def make_case(kind: str, seed: int, size: int) -> BenchCase:
    """Case ``kind`` (one of :data:`TRANSFORMS`) from scene ``seed`` at ``size``²."""
    if kind not in TRANSFORMS:
        raise ValueError(f"unknown case {kind!r}; known: {TRANSFORMS}")
    ys, xs = np.mgrid[0:size, 0:size]
    if kind == "translate":
        m = max(1, round(size * SHIFT))
        rgb, lab = generate_scene(seed, size + 2 * m)
        dy, dx = m // 2, -m   # fixed, so resolutions compare the same problem
        tgt_rgb, tgt_lab = rgb[m:m + size, m:m + size], lab[m:m + size, m:m + size]
        src_rgb = rgb[m + dy:m + dy + size, m + dx:m + dx + size]
        src_lab = lab[m + dy:m + dy + size, m + dx:m + dx + size]
        sy, sx = ys - dy, xs - dx
    else:
        tgt_rgb, tgt_lab = generate_scene(seed, size)
        if kind == "flip":
            src_rgb, src_lab = tgt_rgb[:, ::-1], tgt_lab[:, ::-1]
            sy, sx = ys, size - 1 - xs
        else:
            crop = max(1, math.floor(size / ZOOM))
            c0 = (size - crop) // 2
            pick = c0 + np.floor(np.arange(size) / ZOOM).astype(np.int64).clip(0, crop - 1)
            src_rgb, src_lab = tgt_rgb[pick][:, pick], tgt_lab[pick][:, pick]
            # Target q (inside the crop) is the first source pixel p with floor(p / ZOOM) = q - c0.
            sy = np.ceil((ys - c0) * ZOOM).astype(np.int64)
            sx = np.ceil((xs - c0) * ZOOM).astype(np.int64)
            outside = (ys < c0) | (ys >= c0 + crop) | (xs < c0) | (xs >= c0 + crop)
            sy[outside], sx[outside] = -1, -1
    valid = (sy >= 0) & (sy < size) & (sx >= 0) & (sx < size)
    true_source = np.where(valid, np.stack([sy, sx]), -1)
    request = WarpRequest(sources=[WarpSource(image=_chw(src_rgb), labels=_labels(src_lab))],
                          target_labels=_labels(tgt_lab), seed=seed)
    return BenchCase(name=kind, request=request, truth=_chw(tgt_rgb),
                     valid=torch.from_numpy(valid), true_source=torch.from_numpy(true_source))


def make_cases(size: int, seed: int = 0) -> list[BenchCase]:
    """The bench set at one resolution: one case per transform, each from its own scene."""
    return [make_case(kind, seed + i, size) for i, kind in enumerate(TRANSFORMS)]


def oracle_warp(case: BenchCase) -> torch.Tensor:
    """The source warped with the true mapping (3, H, W); unscored pixels are left black."""
    img = case.request.sources[0].image
    sy, sx = case.true_source.clamp_min(0)
    out = img[:, sy, sx]
    return out * case.valid


def warp_psnr(warped: torch.Tensor, case: BenchCase) -> float:
    """PSNR (dB) of a (3, H, W) warp in [0, 1] against the truth on the scored pixels.

    ``inf`` when they are identical there."""
    return psnr(warped.float(), case.truth, case.valid)


def pooled_psnr(sq_errors: list[tuple[float, int]]) -> float:
    """PSNR over several cases from their (sum of squared errors, pixel count) pairs."""
    total = sum(n for _, n in sq_errors)
    return psnr_from_mse(sum(e for e, _ in sq_errors) / total) if total else math.nan


def squared_error(warped: torch.Tensor, case: BenchCase) -> tuple[float, int]:
    """(sum of per-pixel channel-mean squared errors, number of scored pixels)."""
    err = (warped.detach().float().cpu() - case.truth).pow(2).mean(0)[case.valid]
    return float(err.double().sum()), int(err.numel())
