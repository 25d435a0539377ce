"""Work on the mask's bounding box plus context at the working resolution, then paste back.

A 12-megapixel photo with a small edit costs only the crop: everything outside the crop, and
everything outside the mask, is never touched.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from inference.errors import BadInputError


@dataclass(frozen=True)
class CropWindow:
    """A box ``[y0, y1) × [x0, x1)`` of the full image and the working size it is resized to."""

    y0: int
    y1: int
    x0: int
    x1: int
    work_h: int
    work_w: int

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def scale(self) -> float:
        """Working pixels per full-resolution pixel (<= 1)."""
        return self.work_h / self.height

    def cut(self, array: np.ndarray) -> np.ndarray:
        return array[self.y0:self.y1, self.x0:self.x1]

    def to_work(self, array: np.ndarray, nearest: bool = False) -> np.ndarray:
        """The crop of ``array`` at the working size (area filter; nearest for labels)."""
        crop = self.cut(array)
        if crop.shape[:2] == (self.work_h, self.work_w):
            return np.ascontiguousarray(crop)
        if crop.dtype == np.bool_:
            resized = cv2.resize(crop.astype(np.uint8), (self.work_w, self.work_h),
                                 interpolation=cv2.INTER_NEAREST)
            return resized.astype(bool)
        interp = cv2.INTER_NEAREST if nearest else cv2.INTER_AREA
        return cv2.resize(crop, (self.work_w, self.work_h), interpolation=interp)

    def from_work(self, array: np.ndarray) -> np.ndarray:
        """A working-size array resized back to the crop's full-resolution size (bicubic)."""
        if array.shape[:2] == (self.height, self.width):
            return array
        return cv2.resize(array, (self.width, self.height), interpolation=cv2.INTER_CUBIC)


def crop_window(
    mask: np.ndarray,
    working_size: int = 512,
    context: float = 0.5,
    min_context: int = 32,
    multiple: int = 8,
) -> CropWindow:
    """Box around ``mask`` grown by ``context`` × its size (at least ``min_context`` px a side).

    The working size keeps the crop's aspect ratio with its long side at most ``working_size``
    (never upscaled) and both sides rounded to ``multiple`` so networks with strided layers fit.
    """
    if working_size < 32:
        raise BadInputError(f"working resolution must be at least 32 px, got {working_size}")
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        raise BadInputError("the edit mask is empty: nothing to crop")
    h, w = mask.shape
    by0, by1, bx0, bx1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
    my = max(min_context, round(context * (by1 - by0)))
    mx = max(min_context, round(context * (bx1 - bx0)))
    y0, y1 = max(0, by0 - my), min(h, by1 + my)
    x0, x1 = max(0, bx0 - mx), min(w, bx1 + mx)
    scale = min(1.0, working_size / max(y1 - y0, x1 - x0))
    work_h = max(multiple, round((y1 - y0) * scale / multiple) * multiple)
    work_w = max(multiple, round((x1 - x0) * scale / multiple) * multiple)
    return CropWindow(y0, y1, x0, x1, work_h, work_w)


def paste_back(
    image: np.ndarray, window: CropWindow, result_crop: np.ndarray, mask: np.ndarray
) -> np.ndarray:
    """Eq. 6 at full resolution: ``result`` inside ``mask``, the untouched input outside it.

    ``result_crop`` is the crop's result at full resolution (``window.height × window.width``).
    Pixels outside the mask are copied from ``image`` bit for bit.
    """
    if result_crop.shape[:2] != (window.height, window.width):
        raise BadInputError(
            f"result crop is {result_crop.shape[1]}×{result_crop.shape[0]}, expected "
            f"{window.width}×{window.height}"
        )
    out = image.copy()
    region = out[window.y0:window.y1, window.x0:window.x1]
    inside = window.cut(mask)
    region[inside] = result_crop[inside]
    return out
