"""The edit mask (paper 000 section 3.3): the changed layout, dilated, plus the user's mask."""

from __future__ import annotations

import cv2
import numpy as np

from inference.arrays import LabelMap, Mask
from inference.errors import BadInputError
from inference.labels import validate_label_values


def edit_mask(
    original: LabelMap,
    edited: LabelMap,
    user_mask: Mask | None = None,
    dilation: int = 8,
) -> Mask:
    """``Mask`` = dilate(``edited != original``, ``dilation`` px) ∪ ``user_mask``.

    Dilation gives the generator a band of the surrounding texture to repaint, so the boundary of
    the new layout does not show as a seam at the exact label edge.
    """
    validate_label_values(original)
    validate_label_values(edited)
    if original.shape != edited.shape:
        raise BadInputError(
            f"edited label map is {edited.shape[1]}×{edited.shape[0]} but the original is "
            f"{original.shape[1]}×{original.shape[0]}"
        )
    if dilation < 0:
        raise BadInputError(f"mask dilation must be >= 0, got {dilation}")
    changed = (original != edited).astype(np.uint8)
    if dilation > 0 and changed.any():
        size = 2 * dilation + 1
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
        changed = cv2.dilate(changed, kernel)
    mask = changed.astype(bool)
    if user_mask is not None:
        if user_mask.shape != original.shape:
            raise BadInputError(
                f"mask is {user_mask.shape[1]}×{user_mask.shape[0]} but the label map is "
                f"{original.shape[1]}×{original.shape[0]}"
            )
        mask |= user_mask.astype(bool)
    return mask


def grow(mask: Mask, px: int) -> Mask:
    """``mask`` dilated by ``px`` pixels (square neighbourhood)."""
    if px <= 0:
        return mask.copy()
    return cv2.dilate(mask.astype(np.uint8), np.ones((2 * px + 1, 2 * px + 1), np.uint8)) > 0
