"""Change notification for the edit document: boxes, layer names, and a tiny Qt-free observer.

A view subscribes with :meth:`EventEmitter.connect` and repaints only ``event.bbox`` of
``event.layer``; ``bbox is None`` means "the whole layer" (or a layer that has no pixels, such
as the history or the reference list). The GUI bridges these callbacks to Qt signals itself, so
the document never imports Qt.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

import numpy as np


@dataclass(frozen=True)
class BBox:
    """Axis-aligned pixel box, half-open: columns ``x0 <= x < x1``, rows ``y0 <= y < y1``."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return max(0, self.x1 - self.x0)

    @property
    def height(self) -> int:
        return max(0, self.y1 - self.y0)

    @property
    def area(self) -> int:
        return self.width * self.height

    @property
    def is_empty(self) -> bool:
        return self.width == 0 or self.height == 0

    @property
    def slices(self) -> tuple[slice, slice]:
        """``(rows, cols)`` slices, so ``array[bbox.slices]`` is the box's crop."""
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    def union(self, other: BBox | None) -> BBox:
        if other is None or other.is_empty:
            return self
        if self.is_empty:
            return other
        return BBox(min(self.x0, other.x0), min(self.y0, other.y0),
                    max(self.x1, other.x1), max(self.y1, other.y1))

    def intersect(self, other: BBox) -> BBox:
        box = BBox(max(self.x0, other.x0), max(self.y0, other.y0),
                   min(self.x1, other.x1), min(self.y1, other.y1))
        return box if not box.is_empty else BBox(0, 0, 0, 0)

    def expand(self, margin: int) -> BBox:
        return BBox(self.x0 - margin, self.y0 - margin, self.x1 + margin, self.y1 + margin)

    def shift(self, dx: int, dy: int) -> BBox:
        return BBox(self.x0 + dx, self.y0 + dy, self.x1 + dx, self.y1 + dy)

    def clip(self, shape: tuple[int, ...]) -> BBox:
        """This box clipped to an ``(H, W, ...)`` array shape."""
        return self.intersect(BBox.full(shape))

    @staticmethod
    def full(shape: tuple[int, ...]) -> BBox:
        return BBox(0, 0, int(shape[1]), int(shape[0]))

    @staticmethod
    def of_mask(mask: np.ndarray, offset: tuple[int, int] = (0, 0)) -> BBox | None:
        """Tight box of the True pixels of a 2-D mask (``offset`` = ``(x, y)`` of its origin)."""
        rows = np.flatnonzero(mask.any(axis=1))
        if rows.size == 0:
            return None
        cols = np.flatnonzero(mask.any(axis=0))
        ox, oy = offset
        return BBox(ox + int(cols[0]), oy + int(rows[0]), ox + int(cols[-1]) + 1,
                    oy + int(rows[-1]) + 1)


class Layer(str, Enum):
    """What changed. A ``str`` enum, so ``event.layer == "labels"`` also works."""

    PHOTO = "photo"
    ORIGINAL_LABELS = "original_labels"
    LABELS = "labels"  # the edited labels
    USER_MASK = "user_mask"
    REGIONS = "regions"
    REFERENCES = "references"
    PASTES = "pastes"
    SELECTION = "selection"
    MOVES = "moves"  # which photo pixels the move tools carried where (no pixels change)
    RESULT = "result"
    HISTORY = "history"  # can_undo / can_redo / step names may have changed


@dataclass(frozen=True)
class DocumentEvent:
    """One change: ``layer``, the box that changed (``None`` = all of it), the new revision."""

    layer: Layer
    bbox: BBox | None
    revision: int


Listener = Callable[[DocumentEvent], None]


class EventEmitter:
    """Calls every connected listener, in connection order, with each event."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def connect(self, listener: Listener) -> None:
        if listener not in self._listeners:
            self._listeners.append(listener)

    def disconnect(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def emit(self, event: DocumentEvent) -> None:
        # A copy, so a listener may disconnect itself while being called.
        for listener in list(self._listeners):
            listener(event)
