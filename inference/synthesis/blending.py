"""Seam blending in the gradient domain: no colour step and no halo where synthesis meets photo.

The synthesis votes colours for a thin ring of known pixels just outside the hole too; there the
photo's value and the synthesis' value should agree. Their difference, measured on the ring, is
spread smoothly over the hole by a membrane (push-pull) interpolation and added: the synthesised
gradients are kept (its detail) and its boundary values become the photo's, which is what Poisson
blending solves for, without a linear solve. Done per class of the edited layout, so the sky's
correction never tints a tree.
"""

from __future__ import annotations

import numpy as np

from inference.pipeline.harmonize import push_pull


def blend_seam(
    synth: np.ndarray,          # (H, W, 3) float: synthesis inside the hole and on the ring
    photo: np.ndarray,          # (H, W, 3) float: the known pixels
    hole: np.ndarray,           # (H, W) bool
    ring: np.ndarray,           # (H, W) bool, outside the hole: where synth and photo both exist
    labels: np.ndarray,         # (H, W) edited layout
) -> np.ndarray:
    """``synth`` inside ``hole`` corrected to meet ``photo`` on ``ring``; ``photo`` elsewhere."""
    out = photo.astype(np.float32).copy()
    if not hole.any():
        return out
    diff = (photo - synth).astype(np.float32)
    body = synth.astype(np.float32)
    for cls in np.unique(labels[hole]):
        region = hole & (labels == cls)
        constraint = ring & (labels == cls)
        if constraint.any():
            corr = push_pull(diff, constraint.astype(np.float32))
            out[region] = body[region] + corr[region]
        else:
            out[region] = body[region]
    return np.clip(out, 0.0, 1.0)


def replace_low_frequencies(
    synth: np.ndarray,          # (H, W, 3) float: synthesis inside the hole (photo outside)
    photo: np.ndarray,          # (H, W, 3) float: the known pixels
    hole: np.ndarray,           # (H, W) bool
    labels: np.ndarray,         # (H, W) edited layout
    sigma: float,
) -> np.ndarray:
    """The hole's colours below scale ``sigma`` from the photo around it, above it from the
    synthesis: ``synth - G_σ(synth) + G_σ(fill)``, where ``fill`` spreads each class's known
    pixels over the hole's pixels of that class (push-pull). A class with no known pixel keeps
    the synthesis as it is."""
    import cv2

    out = synth.astype(np.float32).copy()
    if not hole.any() or sigma <= 0:
        return out
    k = int(2 * round(3 * sigma) + 1)
    low_s = cv2.GaussianBlur(out, (k, k), sigma, borderType=cv2.BORDER_REFLECT)
    fill = out.copy()
    known = ~hole
    for cls in np.unique(labels[hole]):
        constraint = known & (labels == cls)
        if not constraint.any():
            continue
        region = hole & (labels == cls)
        spread = push_pull(photo.astype(np.float32), constraint.astype(np.float32))
        fill[region] = spread[region]
    low_f = cv2.GaussianBlur(fill, (k, k), sigma, borderType=cv2.BORDER_REFLECT)
    out[hole] = (out - low_s + low_f)[hole]
    return np.clip(out, 0.0, 1.0)
