"""The evaluation tasks of paper 000: the appendix D manipulation set and appendix E reconstruction.

Manipulation (appendix D): from a labelled photo ``(x, c)`` -- the ground truth *after* editing --
make the input *before* editing: of the connected segments under 10 random points, take the
largest that is object-sized (0.5–25 % of the image) and nearly convex, scale it by
s ∈ [1.2, 1.5] and rotate it by r ∈ [−15°, 15°] about its centre of gravity, and keep the case
only if the transformed segment covers the original. Pasting the transformed pixels and labels
gives ``(x', c')``; the editor gets ``x', c'`` and the edited layout ``c`` and must produce ``x``.

Reconstruction (appendix E): a free-form mask ``m`` over ``(x, c)``; the editor gets
``x ⊙ (1 − m)``, ``c`` for both layouts and ``m`` as the user mask, in reconstruction mode (no
pixel inside the mask may be copied), and must produce ``x``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from training.data.masks import free_form_mask


@dataclass
class EvalCase:
    """One evaluation case: what the editor gets and the truth it should produce."""

    name: str
    image: np.ndarray            # input photo x'
    labels: np.ndarray           # its layout c'
    edited_labels: np.ndarray    # target layout c
    truth: np.ndarray            # ground-truth photo x
    user_mask: np.ndarray | None = None
    reconstruction: bool = False


@dataclass(frozen=True)
class ManipulationConfig:
    points: int = 10
    attempts: int = 20
    scale: tuple[float, float] = (1.2, 1.5)
    rotation: float = 15.0           # degrees, ±
    max_hull_excess: float = 0.2     # (hull area − area) / area above this: skip (non-convex)
    min_area: float = 0.005          # fraction of the image
    max_area: float = 0.25           # larger segments (a whole sky) make no object edit


def make_manipulation_case(
    image: np.ndarray, labels: np.ndarray, rng: np.random.Generator,
    config: ManipulationConfig = ManipulationConfig(), name: str = "",
) -> EvalCase | None:
    """An appendix-D case from ``(image, labels)``, or ``None`` when no attempt succeeds."""
    h, w = labels.shape
    for _ in range(config.attempts):
        ys = rng.integers(0, h, config.points)
        xs = rng.integers(0, w, config.points)
        # The largest of the sampled segments that is object-sized (a sky covering half the frame
        # is no object to scale) and nearly convex. The paper takes the largest and then skips
        # it if non-convex; on scenes with ragged outlines (foliage) that rejects almost every
        # image, so we test the candidates in order of size instead.
        candidates = {}
        for y, x in zip(ys, xs):
            comp = _component(labels, int(y), int(x))
            a = int(comp.sum())
            if config.min_area * h * w <= a <= config.max_area * h * w:
                candidates[a] = comp
        best = None
        for area in sorted(candidates, reverse=True):
            comp = candidates[area]
            hull = cv2.convexHull(cv2.findNonZero(comp.astype(np.uint8)))
            if (cv2.contourArea(hull) - area) / area <= config.max_hull_excess:
                best = comp
                break
        if best is None:
            continue
        s = rng.uniform(*config.scale)
        r = rng.uniform(-config.rotation, config.rotation)
        cy, cx = np.argwhere(best).mean(0)
        mat = cv2.getRotationMatrix2D((float(cx), float(cy)), r, s)
        moved = cv2.warpAffine(best.astype(np.uint8), mat, (w, h), flags=cv2.INTER_NEAREST) > 0
        if not moved[best].all():
            continue
        warped_img = cv2.warpAffine(image, mat, (w, h), flags=cv2.INTER_LINEAR,
                                    borderMode=cv2.BORDER_REFLECT)
        cls = labels[best][0]
        before_img = np.where(moved[..., None], warped_img, image)
        before_lab = np.where(moved, cls, labels).astype(np.uint8)
        return EvalCase(name, before_img, before_lab, labels.copy(), image.copy())
    return None


def make_reconstruction_case(
    image: np.ndarray, labels: np.ndarray, rng: np.random.Generator, name: str = "",
) -> EvalCase:
    """An appendix-E case: the truth with a free-form hole (filled grey in the input)."""
    mask = free_form_mask(rng, *labels.shape)
    holed = image.copy()
    holed[mask] = 127
    return EvalCase(name, holed, labels.copy(), labels.copy(), image.copy(), user_mask=mask,
                    reconstruction=True)


def _component(labels: np.ndarray, y: int, x: int) -> np.ndarray:
    same = (labels == labels[y, x]).astype(np.uint8)
    _, comp = cv2.connectedComponents(same, connectivity=4)
    return comp == comp[y, x]
