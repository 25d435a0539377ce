"""Round-brush geometry and the recorder that turns a whole drag into one undo step.

Coordinates are image pixels with pixel centres on integers: ``(x, y) = (3, 5)`` is the centre
of column 3, row 5; fractional positions (from a zoomed view) are allowed. A brush of ``size``
``d`` covers the pixels whose centre lies within ``d / 2`` of the segment, so ``size=1`` paints a
one-pixel line and a drag paints a continuous band with round ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from app.document.events import BBox, Layer
from app.document.history import ArrayDelta
from inference.errors import BadInputError

MAX_BRUSH_SIZE = 4096


class StrokeTool(str, Enum):
    """What a brush drag (or a fill drag) does."""

    PAINT = "paint"  # edited labels := the brush class
    ERASE = "erase"  # edited labels := original labels under the brush
    MASK_ADD = "mask_add"  # user mask := True
    MASK_REMOVE = "mask_remove"  # user mask := False
    LABEL = "label"  # the photo's layout := the class (see ``photo_layout_values``)
    UNLABEL = "unlabel"  # the photo's layout := 0, "other"

    @property
    def layers(self) -> tuple[Layer, ...]:
        """The layers the tool writes, in the order its values are computed and recorded."""
        if self in (StrokeTool.LABEL, StrokeTool.UNLABEL):
            return (Layer.ORIGINAL_LABELS, Layer.LABELS)
        if self in (StrokeTool.PAINT, StrokeTool.ERASE):
            return (Layer.LABELS,)
        return (Layer.USER_MASK,)

    @property
    def step_name(self) -> str:
        return {"paint": "Paint", "erase": "Erase", "mask_add": "Mask brush",
                "mask_remove": "Mask eraser", "label": "Label the photo",
                "unlabel": "Unlabel the photo"}[self.value]


def photo_layout_values(original: np.ndarray, edited: np.ndarray, value: np.ndarray | int
                        ) -> tuple[np.ndarray, np.ndarray]:
    """New ``(original, edited)`` values when pixels of the *photo's* layout become ``value``.

    Labelling describes the photo as it is, so it is not an edit: the original labels take the
    value, and the edited labels follow wherever they were not edited (equal to the original),
    so the edit mask does not grow. Pixels the user had already edited keep their edit.
    """
    new_original = np.broadcast_to(np.asarray(value, dtype=original.dtype), original.shape)
    new_edited = np.where(edited == original, new_original, edited)
    return new_original.copy(), new_edited.astype(edited.dtype, copy=False)


def validate_brush_size(size: float) -> float:
    if isinstance(size, bool) or not isinstance(size, (int, float)) or not np.isfinite(size):
        raise BadInputError(f"brush size must be a number of pixels, got {size!r}")
    if not 1 <= size <= MAX_BRUSH_SIZE:
        raise BadInputError(f"brush size must be 1..{MAX_BRUSH_SIZE} px, got {size}")
    return float(size)


def validate_point(x: float, y: float, what: str = "point") -> tuple[float, float]:
    for v in (x, y):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) \
                or not np.isfinite(v):
            raise BadInputError(f"{what} coordinates must be finite numbers, got ({x!r}, {y!r})")
    return float(x), float(y)


def segment_footprint(p0: tuple[float, float], p1: tuple[float, float], size: float,
                      shape: tuple[int, ...]) -> tuple[BBox, np.ndarray] | None:
    """Pixels a round brush of ``size`` covers moving from ``p0`` to ``p1``.

    Returns ``(bbox, mask)`` with ``mask`` bool ``(bbox.height, bbox.width)``, clipped to the
    ``(H, W)`` of ``shape``; ``None`` when the segment lies entirely outside the image.
    """
    radius = size / 2.0
    (x0, y0), (x1, y1) = p0, p1
    box = BBox(int(np.floor(min(x0, x1) - radius)), int(np.floor(min(y0, y1) - radius)),
               int(np.ceil(max(x0, x1) + radius)) + 1, int(np.ceil(max(y0, y1) + radius)) + 1)
    box = box.clip(shape)
    if box.is_empty:
        return None
    ys = np.arange(box.y0, box.y1, dtype=np.float64)[:, None]
    xs = np.arange(box.x0, box.x1, dtype=np.float64)[None, :]
    dx, dy = x1 - x0, y1 - y0
    length2 = dx * dx + dy * dy
    if length2 == 0.0:
        dist2 = (xs - x0) ** 2 + (ys - y0) ** 2
    else:
        # Distance to the closest point of the segment (projection clamped to its ends).
        t = np.clip(((xs - x0) * dx + (ys - y0) * dy) / length2, 0.0, 1.0)
        dist2 = (xs - (x0 + t * dx)) ** 2 + (ys - (y0 + t * dy)) ** 2
    mask = dist2 <= radius * radius + 1e-9
    tight = BBox.of_mask(mask)
    if tight is None:
        return None
    return tight.shift(box.x0, box.y0), mask[tight.slices]


@dataclass
class _Segment:
    bbox: BBox
    mask: np.ndarray
    old: tuple[np.ndarray, ...]  # per layer: values under ``mask`` before this segment wrote


@dataclass
class StrokeRecorder:
    """Accumulates the segments of one drag; :meth:`deltas` merges them into one delta per
    layer the tool writes (``tool.layers``), so the drag is one undo step."""

    tool: StrokeTool
    size: float
    class_id: int
    last_point: tuple[float, float]
    name: str = ""  # the undo step's name; the tool's by default
    segments: list[_Segment] = field(default_factory=list)
    visited: set[int] = field(default_factory=set)  # fill drags: areas already filled

    @property
    def step_name(self) -> str:
        return self.name or self.tool.step_name

    def record(self, bbox: BBox, mask: np.ndarray, old: tuple[np.ndarray, ...]) -> None:
        self.segments.append(_Segment(bbox, mask, old))

    @property
    def bbox(self) -> BBox | None:
        box: BBox | None = None
        for seg in self.segments:
            box = seg.bbox if box is None else box.union(seg.bbox)
        return box

    def restore(self, arrays: tuple[np.ndarray, ...]) -> BBox | None:
        """Write back what the stroke overwrote (cancel); returns the box that changed."""
        for seg in reversed(self.segments):
            for array, old in zip(arrays, seg.old):
                array[seg.bbox.slices][seg.mask] = old
        return self.bbox

    def deltas(self, arrays: tuple[np.ndarray, ...]) -> list[ArrayDelta]:
        """Deltas from before the first segment to ``arrays`` now (one per changed layer)."""
        box = self.bbox
        if box is None:
            return []
        out = []
        for k, (layer, array) in enumerate(zip(self.tool.layers, arrays)):
            after = array[box.slices]
            before = after.copy()
            # Reverse order, so where segments overlap the first segment's old value wins.
            for seg in reversed(self.segments):
                local = seg.bbox.shift(-box.x0, -box.y0)
                before[local.slices][seg.mask] = seg.old[k]
            delta = ArrayDelta.between(layer, before, after, (box.x0, box.y0))
            if delta is not None:
                out.append(delta)
        return out
