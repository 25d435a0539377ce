"""Reference photos and the regions pasted from them.

A reference is another photo with its label map; it may have any size. Pasting copies the labels
of a region of the reference into the edited layout and records a :class:`ReferencePaste`, so the
engine can use that reference's pixels as an extra warp source (paper 000, section 4.6).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.document.events import BBox
from app.document.objects import ObjectSelection
from inference.errors import BadInputError, ImageError
from inference.labels import validate_label_values


def validate_photo(photo: np.ndarray, what: str = "photo") -> None:
    """Raise :class:`ImageError` unless ``photo`` is a non-empty ``uint8 (H, W, 3)`` array."""
    if not isinstance(photo, np.ndarray):
        raise ImageError(f"{what} must be a numpy array, got {type(photo).__name__}")
    if photo.ndim != 3 or photo.shape[2] != 3:
        raise ImageError(f"{what} must be H×W×3 RGB, got shape {photo.shape}")
    if photo.dtype != np.uint8:
        raise ImageError(f"{what} must be uint8, got {photo.dtype}")
    if photo.shape[0] == 0 or photo.shape[1] == 0:
        raise ImageError(f"{what} is empty: shape {photo.shape}")


def readonly_copy(array: np.ndarray) -> np.ndarray:
    out = np.array(array, copy=True)
    out.flags.writeable = False
    return out


@dataclass(frozen=True, eq=False)
class Reference:
    """A reference photo (``uint8 (h, w, 3)``) and its label map (``uint8 (h, w)``).

    Build with :meth:`create`, which validates and keeps read-only copies.
    """

    id: int
    name: str
    photo: np.ndarray
    labels: np.ndarray

    @staticmethod
    def create(ref_id: int, photo: np.ndarray, labels: np.ndarray, name: str = "") -> Reference:
        validate_photo(photo, f"reference {name or ref_id} photo")
        validate_label_values(labels)
        if labels.shape != photo.shape[:2]:
            raise BadInputError(
                f"reference {name or ref_id}: label map is {labels.shape[1]}×{labels.shape[0]} "
                f"but its photo is {photo.shape[1]}×{photo.shape[0]}")
        if not isinstance(name, str):
            raise BadInputError(f"reference name must be a string, got {name!r}")
        return Reference(ref_id, name, readonly_copy(photo), readonly_copy(labels))

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.labels.shape[0]), int(self.labels.shape[1])


@dataclass(frozen=True, eq=False)
class ReferencePaste:
    """Region ``source_bbox`` of reference ``reference_id`` (pixels ``mask``, bool
    ``(source_bbox.height, source_bbox.width)``) placed with its top-left at ``target``
    ``(x, y)`` of the photo. Parts outside the photo are clipped when pasting."""

    reference_id: int
    source_bbox: BBox
    mask: np.ndarray
    target: tuple[int, int]

    @property
    def target_bbox(self) -> BBox:
        """Where the source box lands in the photo (before clipping)."""
        x, y = self.target
        return BBox(x, y, x + self.source_bbox.width, y + self.source_bbox.height)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ReferencePaste):
            return NotImplemented
        return (self.reference_id == other.reference_id and self.source_bbox == other.source_bbox
                and self.target == other.target and np.array_equal(self.mask, other.mask))

    __hash__ = None  # type: ignore[assignment]  # holds an array


def make_paste(reference: Reference, region: ObjectSelection, target: tuple[int, int],
               photo_shape: tuple[int, ...]) -> ReferencePaste:
    """Validate a paste of ``region`` (in ``reference`` coordinates) to ``target``."""
    ref_box = BBox.full(reference.shape)
    box = region.bbox
    if box.is_empty or box.intersect(ref_box) != box:
        raise BadInputError(
            f"region box {box} is not inside reference {reference.id} "
            f"({ref_box.width}×{ref_box.height})")
    if region.mask.shape != (box.height, box.width) or region.mask.dtype != np.bool_:
        raise BadInputError(
            f"region mask must be bool {box.height}×{box.width}, got {region.mask.dtype} "
            f"{region.mask.shape}")
    if not region.mask.any():
        raise BadInputError("region to paste is empty")
    tx, ty = target
    for v in (tx, ty):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise BadInputError(f"paste target must be integer pixels, got {target!r}")
    paste = ReferencePaste(reference.id, box, readonly_copy(region.mask), (int(tx), int(ty)))
    if paste.target_bbox.clip(photo_shape).is_empty:
        h, w = photo_shape[:2]
        raise BadInputError(
            f"paste target (x={tx}, y={ty}) puts the {box.width}×{box.height} region entirely "
            f"outside the {w}×{h} photo")
    return paste


def pasted_labels(reference: Reference, paste: ReferencePaste,
                  photo_shape: tuple[int, ...]) -> tuple[BBox, np.ndarray, np.ndarray]:
    """``(target box clipped to the photo, mask, reference labels)`` for writing a paste."""
    target = paste.target_bbox
    clipped = target.clip(photo_shape)
    local = clipped.shift(-target.x0, -target.y0)
    src = paste.source_bbox
    labels = reference.labels[src.slices][local.slices]
    return clipped, paste.mask[local.slices], labels
