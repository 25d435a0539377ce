"""Classical harmonisation of the warped region (the no-checkpoint refinement path).

The warp copies real pixels, possibly from places lit differently from where they land, so the
edited region can show a colour step at the mask boundary. We measure, just outside the mask,
how the photo differs from the warp there, and interpolate that difference smoothly into the mask
-- per class, so the sky's correction never tints the trees. The interpolation is a push-pull
(normalised-convolution pyramid) membrane: O(pixels), a few milliseconds at 512², and the result
is the gradient-domain idea of Poisson blending (keep the warp's detail, match the boundary)
without a linear solve.
"""

from __future__ import annotations

import cv2
import numpy as np

from inference.arrays import FloatImage, LabelMap, Mask

_EPS = 1e-6


def push_pull(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Fill ``values`` (``(H, W, C)``, valid where ``weights > 0``) smoothly everywhere.

    At pixels with weight 1 the output equals the input; elsewhere it is a smooth interpolation of
    the weighted values, coarse levels filling holes the fine levels cannot.
    """
    h, w = weights.shape
    if weights.max() <= 0:
        return np.zeros_like(values)
    levels: list[tuple[np.ndarray, np.ndarray]] = [(values * weights[..., None], weights)]
    while max(levels[-1][1].shape) > 1:
        v, wt = levels[-1]
        size = (max(1, wt.shape[1] // 2), max(1, wt.shape[0] // 2))
        v2 = cv2.resize(v, size, interpolation=cv2.INTER_AREA)
        w2 = cv2.resize(wt, size, interpolation=cv2.INTER_AREA)
        levels.append((v2.reshape(size[1], size[0], -1), w2))
    v, wt = levels[-1]
    estimate = v / np.maximum(wt, _EPS)[..., None]
    for v, wt in reversed(levels[:-1]):
        up = cv2.resize(estimate, (wt.shape[1], wt.shape[0]), interpolation=cv2.INTER_LINEAR)
        up = up.reshape(wt.shape[0], wt.shape[1], -1)
        # Trust this level where it has data (weight 1 = exact), the coarser fill elsewhere.
        alpha = np.clip(wt * 2.0, 0.0, 1.0)[..., None]
        own = v / np.maximum(wt, _EPS)[..., None]
        estimate = alpha * own + (1.0 - alpha) * up
    return estimate.reshape(h, w, -1)


def harmonize(
    warped: FloatImage,
    photo: FloatImage,
    mask: Mask,
    labels: LabelMap,
    original_labels: LabelMap,
    band: int = 3,
) -> FloatImage:
    """``warped`` (float ``(H, W, 3)`` in [0, 1]) with a per-class boundary colour correction.

    ``photo`` is the input in the same frame (float [0, 1]); the correction is measured in a band
    of ``band`` px just outside ``mask`` where the layout did not change, and applied inside it.
    Outside the mask the output equals ``warped``.
    """
    if not mask.any():
        return warped.copy()
    m8 = mask.astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1, 2 * band + 1))
    ring = (cv2.dilate(m8, kernel) > 0) & ~mask & (labels == original_labels)
    diff = (photo - warped).astype(np.float32)
    out = warped.astype(np.float32).copy()
    for cls in np.unique(labels[mask]):
        constraint = ring & (labels == cls)
        if not constraint.any():
            continue  # no boundary of this class to match: keep the warp as it is
        region = mask & (labels == cls)
        correction = push_pull(diff, constraint.astype(np.float32))
        out[region] += correction[region]
    return np.clip(out, 0.0, 1.0)
