"""From coarse class probabilities to a full-resolution label map, optionally edge-aware.

Scene parsers predict at 1/4 (SegFormer) or 1/8 of their input, and their input is itself a
downscaled photo, so plain bilinear upsampling puts every label boundary somewhere inside a band
several photo pixels wide. The paper cleans parser output with a refinement network; we use the
classical equivalent, a colour guided filter (He et al., "Guided Image Filtering", and its fast
variant) run on each class's probability map with the photo as the guide: inside each window the
output is an affine function of the photo's colour, so a probability ramp that straddles a colour
edge becomes a step at that edge. Coefficients are computed at a guide resolution of at most
``max_guide_side`` and applied at full resolution ("fast guided filter"), so a 12-megapixel photo
costs a handful of full-resolution multiply-adds per candidate class and never a full-resolution
150-channel array.

``ProbStack`` -- ``float32 (C, h, w)`` class probabilities (each pixel sums to ~1).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from inference.errors import BadInputError


@dataclass(frozen=True)
class RefineConfig:
    """Guided-filter settings. The window radius follows the coarseness of the input: it is
    ``radius_scale`` × (guide pixels per probability pixel), at least ``min_radius``."""

    radius_scale: float = 2.0  # tuned with training/parser_eval.py (1.0: worse on soft input)
    min_radius: int = 2
    eps: float = 1e-3  # regularisation on colour variance, guide in [0, 1]; smaller = snappier
    max_guide_side: int = 1024


def resize_stack(stack: np.ndarray, size_hw: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of every channel of a ``(C, h, w)`` float32 stack to ``size_hw``."""
    h, w = size_hw
    out = np.empty((stack.shape[0], h, w), dtype=np.float32)
    for c in range(stack.shape[0]):
        # Per channel: OpenCV takes at most a few channels per call through the numpy bridge.
        out[c] = cv2.resize(stack[c], (w, h), interpolation=cv2.INTER_LINEAR)
    return out


def candidate_classes(probs: np.ndarray) -> np.ndarray:
    """Channels that are first or second choice at some coarse pixel.

    Only these can win after interpolation except in contrived cases (a class never in the top
    two of any of the four neighbours of a point would have to overtake both), so the
    full-resolution work scales with the classes in the photo, not with all 150.
    """
    if probs.shape[0] <= 2:
        return np.arange(probs.shape[0])
    top2 = np.argpartition(-probs.reshape(probs.shape[0], -1), 1, axis=0)[:2]
    return np.unique(top2)


def _resize_covering(p: np.ndarray, size_hw: tuple[int, int],
                     coverage: tuple[float, float]) -> np.ndarray:
    """Bilinear resize of one coarse map whose first ``coverage`` fraction (rows, cols) spans the
    image: the map is scaled so that fraction becomes ``size_hw``, then cropped to it."""
    h, w = size_hw
    th, tw = max(h, round(h / coverage[0])), max(w, round(w / coverage[1]))
    up = cv2.resize(p, (tw, th), interpolation=cv2.INTER_LINEAR)
    return up if (th, tw) == (h, w) else up[:h, :w]


def _check(probs: np.ndarray) -> None:
    if probs.ndim != 3 or probs.shape[0] < 1 or min(probs.shape[1:]) < 1:
        raise BadInputError(f"class probabilities must be C×h×w with C ≥ 1, got {probs.shape}")


def upsample_argmax(probs: np.ndarray, size_hw: tuple[int, int],
                    coverage: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """``(H, W) int64`` channel index of the bilinearly upsampled ``probs`` (no refinement).

    ``coverage``: the fraction of ``probs`` (rows, cols) that covers the image, when the model ran
    on a padded input."""
    _check(probs)
    h, w = size_hw
    best = np.full((h, w), -np.inf, dtype=np.float32)
    arg = np.zeros((h, w), dtype=np.int64)
    for c in candidate_classes(probs):
        up = _resize_covering(probs[c], (h, w), coverage)
        win = up > best
        best[win] = up[win]
        arg[win] = c
    return arg


def _box(x: np.ndarray, r: int) -> np.ndarray:
    return cv2.boxFilter(x, -1, (2 * r + 1, 2 * r + 1), normalize=True,
                         borderType=cv2.BORDER_REFLECT)


def _guide_size(full_hw: tuple[int, int], max_side: int) -> tuple[int, int]:
    h, w = full_hw
    scale = min(1.0, max_side / max(h, w))
    return max(1, round(h * scale)), max(1, round(w * scale))


def guided_argmax(image: np.ndarray, probs: np.ndarray, config: RefineConfig | None = None,
                  coverage: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """``(H, W) int64`` channel index of ``probs`` refined to the edges of ``image`` (H×W×3);
    ``coverage`` as in :func:`upsample_argmax`."""
    config = config or RefineConfig()
    _check(probs)
    if image.ndim != 3 or image.shape[2] != 3:
        raise BadInputError(f"guide image must be H×W×3, got shape {image.shape}")
    full_h, full_w = image.shape[:2]
    gh, gw = _guide_size((full_h, full_w), config.max_guide_side)
    stride = max(gh / (probs.shape[1] * coverage[0]), gw / (probs.shape[2] * coverage[1]))
    r = max(config.min_radius, round(config.radius_scale * stride))

    guide = image if (gh, gw) == (full_h, full_w) else cv2.resize(
        image, (gw, gh), interpolation=cv2.INTER_AREA)
    g = [np.ascontiguousarray(guide[..., k], dtype=np.float32) / 255.0 for k in range(3)]
    mean = [_box(gk, r) for gk in g]
    # Per-pixel 3×3 colour covariance (+eps) and its inverse by cofactors, computed once.
    var = {}
    for i in range(3):
        for j in range(i, 3):
            var[i, j] = _box(g[i] * g[j], r) - mean[i] * mean[j]
    a_, b_, c_ = var[0, 0] + config.eps, var[0, 1], var[0, 2]
    d_, e_, f_ = var[1, 1] + config.eps, var[1, 2], var[2, 2] + config.eps
    co = {(0, 0): d_ * f_ - e_ * e_, (0, 1): c_ * e_ - b_ * f_, (0, 2): b_ * e_ - c_ * d_,
          (1, 1): a_ * f_ - c_ * c_, (1, 2): b_ * c_ - a_ * e_, (2, 2): a_ * d_ - b_ * b_}
    det = a_ * co[0, 0] + b_ * co[0, 1] + c_ * co[0, 2]
    inv = {k: v / det for k, v in co.items()}
    for i, j in [(0, 1), (0, 2), (1, 2)]:
        inv[j, i] = inv[i, j]

    full_scale = (gh, gw) != (full_h, full_w)
    full = ([np.ascontiguousarray(image[..., k], dtype=np.float32) / 255.0 for k in range(3)]
            if full_scale else g)
    best = np.full((full_h, full_w), -np.inf, dtype=np.float32)
    arg = np.zeros((full_h, full_w), dtype=np.int64)
    for c in candidate_classes(probs):
        p = _resize_covering(probs[c], (gh, gw), coverage)
        mp = _box(p, r)
        cov = [_box(g[k] * p, r) - mean[k] * mp for k in range(3)]
        a = [inv[k, 0] * cov[0] + inv[k, 1] * cov[1] + inv[k, 2] * cov[2] for k in range(3)]
        b = mp - a[0] * mean[0] - a[1] * mean[1] - a[2] * mean[2]
        coeffs = [_box(ak, r) for ak in a] + [_box(b, r)]
        if full_scale:
            coeffs = [cv2.resize(x, (full_w, full_h), interpolation=cv2.INTER_LINEAR)
                      for x in coeffs]
        q = coeffs[0] * full[0] + coeffs[1] * full[1] + coeffs[2] * full[2] + coeffs[3]
        win = q > best
        best[win] = q[win]
        arg[win] = c
    return arg
