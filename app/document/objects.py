"""Objects of a label map: selecting a connected component, transforming it, filling the hole.

All functions are pure (they return new arrays) and work on a window around the object, so
moving a small object on a 12-megapixel map touches only that window.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from app.document.events import BBox
from inference.errors import BadInputError

_HALF_PIXEL_NUDGE = 1.0 / 64  # above cv2's 1/1024 fixed-point step, far below a pixel


@dataclass(frozen=True, eq=False)
class ObjectSelection:
    """A selected object: its ``class_id`` and its pixels, ``mask`` bool ``(bbox.height,
    bbox.width)`` cropped to ``bbox``. ``seed`` is the ``(x, y)`` it was picked at."""

    class_id: int
    bbox: BBox
    mask: np.ndarray
    seed: tuple[int, int]

    @property
    def area(self) -> int:
        return int(np.count_nonzero(self.mask))

    def full_mask(self, shape: tuple[int, ...]) -> np.ndarray:
        """The selection as a bool mask of the whole ``(H, W)`` image."""
        full = np.zeros(shape[:2], dtype=bool)
        full[self.bbox.slices] = self.mask
        return full

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ObjectSelection):
            return NotImplemented
        return (self.class_id == other.class_id and self.bbox == other.bbox
                and self.seed == other.seed and np.array_equal(self.mask, other.mask))

    __hash__ = None  # type: ignore[assignment]  # holds an array


def check_point(x: int, y: int, shape: tuple[int, ...], what: str = "point") -> tuple[int, int]:
    """``(x, y)`` as ints, or :class:`BadInputError` naming the point when outside ``shape``."""
    for v in (x, y):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise BadInputError(f"{what} must have integer pixel coordinates, got ({x!r}, {y!r})")
    h, w = shape[:2]
    if not (0 <= x < w and 0 <= y < h):
        raise BadInputError(f"{what} (x={x}, y={y}) is outside the {w}×{h} image")
    return int(x), int(y)


def connected_region(values: np.ndarray, x: int, y: int) -> tuple[BBox, np.ndarray]:
    """The 4-connected region of equal values containing ``(x, y)``: ``(bbox, cropped mask)``."""
    x, y = check_point(x, y, values.shape)
    h, w = values.shape
    work = np.ascontiguousarray(values)
    if work.dtype not in (np.uint8, np.int32, np.float32):
        work = work.astype(np.int32)
    ff_mask = np.zeros((h + 2, w + 2), dtype=np.uint8)
    flags = 4 | cv2.FLOODFILL_MASK_ONLY | (1 << 8)
    _, _, _, (rx, ry, rw, rh) = cv2.floodFill(work.copy(), ff_mask, (x, y), 0, 0, 0, flags)
    box = BBox(rx, ry, rx + rw, ry + rh)
    region = ff_mask[1:-1, 1:-1][box.slices].astype(bool)
    # floodFill only compares with tolerance 0 on the values it reads; be exact for wide ints.
    region &= values[box.slices] == values[y, x]
    return box, region


def select_component(labels: np.ndarray, x: int, y: int) -> ObjectSelection:
    """The connected component of ``labels`` under ``(x, y)`` as a selection."""
    box, mask = connected_region(labels, x, y)
    return ObjectSelection(int(labels[y, x]), box, mask, (int(x), int(y)))


def fill_from_surroundings(labels: np.ndarray, hole: np.ndarray,
                           fallback: np.ndarray) -> np.ndarray:
    """``labels`` with every ``hole`` pixel set to the label of its nearest non-hole pixel.

    Works in a window just around the hole: the nearest pixel outside a box always lies within
    one pixel of the box, so a small margin gives the same answer as the whole map. Where the
    hole covers the whole image, there is nothing around it and ``fallback`` is used.
    """
    box = BBox.of_mask(hole)
    out = labels.copy()
    if box is None:
        return out
    win = box.expand(3).clip(labels.shape)
    hole_w = hole[win.slices]
    known = ~hole_w
    if not known.any():
        out[hole] = fallback[hole]
        return out
    _, nearest = cv2.distanceTransformWithLabels(
        hole_w.astype(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL)
    # Each known pixel carries its own index; map indices to that pixel's label.
    lut = np.zeros(int(nearest.max()) + 1, dtype=labels.dtype)
    lut[nearest[known]] = labels[win.slices][known]
    crop = out[win.slices]
    crop[hole_w] = lut[nearest[hole_w]]
    return out


def object_transform(selection: ObjectSelection, *, dx: float = 0.0, dy: float = 0.0,
                     scale: float = 1.0, angle: float = 0.0, flip_horizontal: bool = False,
                     flip_vertical: bool = False) -> np.ndarray:
    """``2×3`` affine matrix: flip, scale and rotate about the object's centre, then move.

    ``angle`` is in degrees, counter-clockwise as seen on screen; ``scale`` multiplies both axes.
    """
    for name, v in (("dx", dx), ("dy", dy), ("scale", scale), ("angle", angle)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) \
                or not np.isfinite(v):
            raise BadInputError(f"{name} must be a finite number, got {v!r}")
    if not 0.01 <= scale <= 100.0:
        raise BadInputError(f"scale must be 0.01..100, got {scale}")
    b = selection.bbox
    cx, cy = (b.x0 + b.x1 - 1) / 2.0, (b.y0 + b.y1 - 1) / 2.0
    to_origin = np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1]], dtype=np.float64)
    flip = np.diag([-1.0 if flip_horizontal else 1.0, -1.0 if flip_vertical else 1.0, 1.0])
    theta = np.deg2rad(angle)
    c, s = np.cos(theta) * scale, np.sin(theta) * scale
    # Image rows grow downwards, so a counter-clockwise turn on screen has +s above the diagonal.
    rot = np.array([[c, s, 0], [-s, c, 0], [0, 0, 1]], dtype=np.float64)
    back = np.array([[1, 0, cx + dx], [0, 1, cy + dy], [0, 0, 1]], dtype=np.float64)
    matrix = back @ rot @ flip @ to_origin
    # Snap near-integers so 90° turns and flips stay exact under nearest-neighbour sampling.
    snapped = np.round(matrix)
    matrix = np.where(np.abs(matrix - snapped) < 1e-9, snapped, matrix)
    return matrix[:2]


def transform_mask(selection: ObjectSelection, matrix: np.ndarray,
                   shape: tuple[int, ...]) -> tuple[BBox, np.ndarray] | None:
    """The selection's mask under ``matrix`` (nearest neighbour), clipped to the image.

    Returns ``(bbox, cropped mask)``, or ``None`` when the object lands entirely outside.
    """
    b = selection.bbox
    corners = np.array([[b.x0 - 0.5, b.y0 - 0.5, 1], [b.x1 - 0.5, b.y0 - 0.5, 1],
                        [b.x0 - 0.5, b.y1 - 0.5, 1], [b.x1 - 0.5, b.y1 - 0.5, 1]])
    moved = corners @ matrix.T
    lo, hi = np.floor(moved.min(axis=0)), np.ceil(moved.max(axis=0))
    win = BBox(int(lo[0]) - 1, int(lo[1]) - 1, int(hi[0]) + 2, int(hi[1]) + 2).clip(shape)
    if win.is_empty:
        return None
    full = np.vstack([matrix, [0, 0, 1]])
    # Map crop coordinates of the source to window coordinates of the destination.
    local = (np.array([[1, 0, -win.x0], [0, 1, -win.y0], [0, 0, 1]]) @ full
             @ np.array([[1, 0, b.x0], [0, 1, b.y0], [0, 0, 1]]))[:2]
    # Sample through the inverse map ourselves, nudged by a fraction of a pixel: a destination
    # pixel whose source falls exactly on a half-pixel then rounds the same way on both sides
    # of the object, so scaling a 5-pixel bar by 2 gives 10 pixels, not 11.
    inverse = np.linalg.inv(np.vstack([local, [0, 0, 1]]))[:2]
    inverse[:, 2] += _HALF_PIXEL_NUDGE
    warped = cv2.warpAffine(selection.mask.astype(np.uint8), inverse, (win.width, win.height),
                            flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    tight = BBox.of_mask(warped > 0)
    if tight is None:
        return None
    return tight.shift(win.x0, win.y0), warped[tight.slices] > 0


def relocate_object(labels: np.ndarray, selection: ObjectSelection, matrix: np.ndarray | None,
                    fallback: np.ndarray) -> tuple[np.ndarray, ObjectSelection | None]:
    """New labels with the object vacated (filled from its surroundings) and, unless
    ``matrix`` is ``None`` (delete), stamped at its transformed place; plus the new selection."""
    hole = selection.full_mask(labels.shape)
    out = fill_from_surroundings(labels, hole, fallback)
    if matrix is None:
        return out, None
    placed = transform_mask(selection, matrix, labels.shape)
    if placed is None:
        return out, None
    box, mask = placed
    out[box.slices][mask] = selection.class_id
    seed_y, seed_x = (int(v[0]) for v in np.nonzero(mask))
    return out, ObjectSelection(selection.class_id, box, mask, (box.x0 + seed_x, box.y0 + seed_y))


@dataclass(frozen=True, eq=False)
class MovedObject:
    """Photo pixels of one object and where the move tools put them: ``source`` (bool, cropped
    to ``bbox``, photo coordinates) under the ``2×3`` ``matrix`` (photo -> edited layout).

    The engine resamples exactly these pixels into place (an object keeps its own pixels);
    successive moves of one object compose into one matrix.
    """

    class_id: int
    bbox: BBox
    source: np.ndarray
    matrix: np.ndarray

    def as_selection(self) -> ObjectSelection:
        return ObjectSelection(self.class_id, self.bbox, self.source, (self.bbox.x0,
                                                                      self.bbox.y0))

    def placed(self, shape: tuple[int, ...]) -> tuple[BBox, np.ndarray] | None:
        """Where the object lies in the edited layout now (``transform_mask``)."""
        return transform_mask(self.as_selection(), self.matrix, shape)

    def full_source(self, shape: tuple[int, ...]) -> np.ndarray:
        return self.as_selection().full_mask(shape)


def _affine3(m: np.ndarray) -> np.ndarray:
    return np.vstack([m, [0.0, 0.0, 1.0]])


def record_move(moves: tuple[MovedObject, ...], selection: ObjectSelection,
                matrix: np.ndarray | None, original: np.ndarray
                ) -> tuple[MovedObject, ...]:
    """``moves`` after ``selection`` (in the edited layout) was moved by ``matrix`` (``None``:
    deleted). A selection that is a moved object's current place composes with its move;
    otherwise its pixels that are the photo's own (the original layout has its class there)
    start a new record."""
    shape = original.shape
    sel_full = selection.full_mask(shape)
    area = max(1, selection.area)
    kept, found = [], None
    for mv in moves:
        placed = mv.placed(shape)
        if found is None and placed is not None:
            box, mask = placed
            overlap = np.count_nonzero(mask & sel_full[box.slices])
            if overlap >= 0.5 * area and mv.class_id == selection.class_id:
                found = mv
                continue
        kept.append(mv)
    if matrix is None:
        return tuple(kept)
    if found is not None:
        composed = (_affine3(matrix) @ _affine3(found.matrix))[:2]
        kept.append(MovedObject(found.class_id, found.bbox, found.source, composed))
        return tuple(kept)
    own = selection.mask & (original[selection.bbox.slices] == selection.class_id)
    if not own.any():
        return tuple(kept)          # painted, not the photo's: nothing of the photo to carry
    kept.append(MovedObject(selection.class_id, selection.bbox, own, np.asarray(matrix)))
    return tuple(kept)
