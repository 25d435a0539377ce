"""Brush strokes and fills: the pixel-painting operations of the edit document.

Every painting operation writes either the **edited layout** (``LayoutTarget.EDIT``: a change the
engine must synthesise) or the **photo's own layout** (``LayoutTarget.PHOTO``: labelling what the
photo already shows -- naming automatic regions, painting from empty -- which is *not* an edit;
see :func:`~app.document.strokes.photo_layout_values`). Brush drags are ``begin_stroke`` /
``stroke_to`` / ``end_stroke``; fills are one click (``fill``, ``fill_region``) or a drag across
several areas (``begin_fill`` / ``fill_to`` / ``end_stroke``). Either way the labels change as
the pointer moves and the whole gesture becomes one undo step at ``end_stroke``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import cv2
import numpy as np

from app.document.core import DocumentCore
from app.document.events import BBox
from app.document.objects import check_point, connected_region
from app.document.strokes import (
    StrokeRecorder,
    StrokeTool,
    photo_layout_values,
    segment_footprint,
    validate_brush_size,
    validate_point,
)
from inference.errors import BadInputError
from inference.labels import NUM_CLASSES

MAX_FILL_TOLERANCE = 442.0  # the largest RGB distance, sqrt(3) * 255


class LayoutTarget(str, Enum):
    """Which layout a labelling tool writes."""

    PHOTO = "photo"  # the photo's own layout (original labels): labelling, not an edit
    EDIT = "edit"  # the edited layout: a change the engine re-synthesises


def check_class(class_id: int) -> int:
    if isinstance(class_id, bool) or not isinstance(class_id, (int, np.integer)) \
            or not 0 <= class_id <= NUM_CLASSES:
        raise BadInputError(f"class id must be an integer 0..{NUM_CLASSES}, got {class_id!r}")
    return int(class_id)


def check_target(target: LayoutTarget | str) -> LayoutTarget:
    try:
        return LayoutTarget(target)
    except ValueError:
        raise BadInputError(f"layout target must be 'photo' or 'edit', got {target!r}") from None


def check_tolerance(tolerance: float) -> float:
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) \
            or not 0 <= tolerance <= MAX_FILL_TOLERANCE:
        raise BadInputError(
            f"fill tolerance must be 0..{MAX_FILL_TOLERANCE:.0f} (RGB distance), got {tolerance!r}")
    return float(tolerance)


@dataclass
class _FillDrag:
    target: LayoutTarget
    by_region: bool
    tolerance: float


class PaintingDocument(DocumentCore):
    """Strokes and fills on top of :class:`DocumentCore` (see the module doc)."""

    _stroke: StrokeRecorder | None = None
    _fill: _FillDrag | None = None

    # ----------------------------------------------------------------- queries
    def layout(self, target: LayoutTarget | str = LayoutTarget.EDIT) -> np.ndarray:
        """The labels ``target`` names (read-only): original for ``photo``, edited for ``edit``."""
        return self.original_labels if check_target(target) is LayoutTarget.PHOTO \
            else self.labels

    def pick_class(self, x: int, y: int, target: LayoutTarget | str = LayoutTarget.EDIT) -> int:
        """Class at pixel ``(x, y)`` of the edited labels (or of the photo's layout)."""
        x, y = check_point(x, y, self.shape)
        return int(self.layout(target)[y, x])

    # ----------------------------------------------------------------- brush strokes
    @property
    def stroke_active(self) -> bool:
        return self._stroke is not None

    def begin_stroke(self, x: float, y: float, *, size: float,
                     tool: StrokeTool | str = StrokeTool.PAINT,
                     class_id: int | None = None) -> None:
        """Start a drag at ``(x, y)`` and apply the brush there.

        ``tool`` paints ``class_id`` (required for ``paint`` and ``label``), erases back to the
        original labels, unlabels the photo's layout, or adds to / removes from the user mask.
        """
        self._finish_pending()
        try:
            tool = StrokeTool(tool)
        except ValueError:
            choices = ", ".join(t.value for t in StrokeTool)
            raise BadInputError(f"unknown brush tool {tool!r} (choose {choices})") from None
        size = validate_brush_size(size)
        if tool in (StrokeTool.PAINT, StrokeTool.LABEL):
            if class_id is None:
                raise BadInputError(f"a {tool.value} stroke needs a class id")
            class_id = check_class(class_id)
        point = validate_point(x, y, "stroke start")
        self._stroke = StrokeRecorder(tool, size, class_id or 0, point)
        self._stroke_segment(point, point)

    def stroke_to(self, x: float, y: float) -> BBox | None:
        """Extend the drag to ``(x, y)``; returns the box that changed (``None`` if nothing)."""
        if self._stroke is None or self._fill is not None:
            raise BadInputError("stroke_to called without begin_stroke")
        point = validate_point(x, y, "stroke point")
        start, self._stroke.last_point = self._stroke.last_point, point
        return self._stroke_segment(start, point)

    def _stroke_segment(self, p0: tuple[float, float], p1: tuple[float, float]) -> BBox | None:
        stroke = self._stroke
        if stroke is None:
            return None
        footprint = segment_footprint(p0, p1, stroke.size, self.shape)
        if footprint is None:
            return None
        return self._write_area(*footprint)

    def _write_area(self, box: BBox, mask: np.ndarray) -> BBox | None:
        """Apply the pending gesture's tool to ``mask`` (cropped to ``box``); record the old
        values so the whole gesture becomes one undo step."""
        stroke = self._stroke
        if stroke is None:
            return None
        layers = stroke.tool.layers
        targets = [self._array(layer)[box.slices] for layer in layers]
        olds = tuple(t[mask].copy() for t in targets)
        tool = stroke.tool
        if tool is StrokeTool.PAINT:
            news: tuple[np.ndarray, ...] = (np.full(olds[0].shape, stroke.class_id, np.uint8),)
        elif tool is StrokeTool.ERASE:
            news = (self._original[box.slices][mask],)
        elif tool in (StrokeTool.LABEL, StrokeTool.UNLABEL):
            news = photo_layout_values(olds[0], olds[1], stroke.class_id)
        else:
            news = (np.full(olds[0].shape, tool is StrokeTool.MASK_ADD),)
        if all(np.array_equal(o, n) for o, n in zip(olds, news)):
            return None
        stroke.record(box, mask, olds)
        for target, new in zip(targets, news):
            target[mask] = new
        self._revision += 1
        for layer in layers:
            self._emit(layer, box)
        return box

    def end_stroke(self) -> bool:
        """Finish the drag (brush or fill): one undo step. ``False`` when it changed nothing."""
        stroke, self._stroke, self._fill = self._stroke, None, None
        if stroke is None:
            return False
        deltas = stroke.deltas(tuple(self._array(layer) for layer in stroke.tool.layers))
        if not deltas:
            return False
        # The pixels already changed (and events went out) segment by segment.
        return self._commit(stroke.step_name, applied=deltas)

    def cancel_stroke(self) -> None:
        """Abandon the drag and restore what it painted over (no undo step)."""
        stroke, self._stroke, self._fill = self._stroke, None, None
        if stroke is None:
            return
        box = stroke.restore(tuple(self._array(layer) for layer in stroke.tool.layers))
        if box is not None:
            self._revision += 1
            for layer in stroke.tool.layers:
                self._emit(layer, box)

    def _finish_pending(self) -> None:
        if self._stroke is not None:
            self.end_stroke()

    def paint_stroke(self, points, *, size: float, tool: StrokeTool | str = StrokeTool.PAINT,
                     class_id: int | None = None) -> bool:
        """A whole drag through ``points`` (``(x, y)`` pairs) in one call (scripts, tests)."""
        pts = list(points)
        if not pts:
            raise BadInputError("a stroke needs at least one point")
        self.begin_stroke(*pts[0], size=size, tool=tool, class_id=class_id)
        for p in pts[1:]:
            self.stroke_to(*p)
        return self.end_stroke()

    # ----------------------------------------------------------------- fills
    def begin_fill(self, x: int, y: int, class_id: int, *,
                   target: LayoutTarget | str = LayoutTarget.EDIT, by_region: bool = False,
                   tolerance: float = 0.0) -> None:
        """Fill the area under ``(x, y)`` with ``class_id``; :meth:`fill_to` adds more areas.

        The area is the 4-connected region of equal labels of ``target``'s layout, or with
        ``by_region`` the automatic region (see :meth:`set_regions`). A ``tolerance`` above 0
        keeps only the part of it whose photo colour lies within that RGB distance of the
        clicked pixel's (connected to it): a region can be split where the photo changes.
        """
        class_id = check_class(class_id)
        target = check_target(target)
        tolerance = check_tolerance(tolerance)
        x, y = check_point(x, y, self.shape)
        if by_region and self._regions is None:
            raise BadInputError("the document has no automatic regions; compute them first")
        self._finish_pending()
        tool = StrokeTool.LABEL if target is LayoutTarget.PHOTO else StrokeTool.PAINT
        what = "region" if by_region else "area"
        name = f"Label {what}" if target is LayoutTarget.PHOTO else \
            ("Fill region" if by_region else "Fill")
        self._stroke = StrokeRecorder(tool, 1.0, class_id, (float(x), float(y)), name=name)
        self._fill = _FillDrag(target, by_region, tolerance)
        self._fill_at(x, y)

    def fill_to(self, x: float, y: float) -> BBox | None:
        """Extend a fill drag to the area under ``(x, y)`` (outside the image: nothing)."""
        if self._stroke is None or self._fill is None:
            raise BadInputError("fill_to called without begin_fill")
        ix, iy = round(validate_point(x, y, "fill point")[0]), round(y)
        h, w = self.shape
        if not (0 <= ix < w and 0 <= iy < h):
            return None
        return self._fill_at(ix, iy)

    def _fill_at(self, x: int, y: int) -> BBox | None:
        stroke, fill = self._stroke, self._fill
        if stroke is None or fill is None:
            return None
        if fill.by_region and self._regions is not None:
            region_id = int(self._regions[y, x])
            if fill.tolerance == 0 and region_id in stroke.visited:
                return None
            stroke.visited.add(region_id)
            full = self._regions == region_id
            box = BBox.of_mask(full) or BBox(x, y, x + 1, y + 1)
            mask = full[box.slices]
        else:
            shown = self.layout(fill.target)
            if fill.tolerance == 0 and int(shown[y, x]) == stroke.class_id:
                return None  # already this class: a drag passing over its own fill
            box, mask = connected_region(shown, x, y)
        if fill.tolerance > 0:
            box, mask = _similar_part(self._photo, box, mask, x, y, fill.tolerance)
        return self._write_area(box, mask)

    def fill(self, x: int, y: int, class_id: int, *,
             target: LayoutTarget | str = LayoutTarget.EDIT, tolerance: float = 0.0) -> bool:
        """Set the 4-connected region of equal labels under ``(x, y)`` to ``class_id``."""
        self.begin_fill(x, y, class_id, target=target, tolerance=tolerance)
        return self.end_stroke()

    def fill_region(self, x: int, y: int, class_id: int, *,
                    target: LayoutTarget | str = LayoutTarget.EDIT,
                    tolerance: float = 0.0) -> bool:
        """Set the automatic region under ``(x, y)`` to ``class_id``."""
        self.begin_fill(x, y, class_id, target=target, by_region=True, tolerance=tolerance)
        return self.end_stroke()


def _similar_part(photo: np.ndarray, box: BBox, mask: np.ndarray, x: int, y: int,
                  tolerance: float) -> tuple[BBox, np.ndarray]:
    """The part of ``mask`` (cropped to ``box``) whose colour is within ``tolerance`` of photo
    pixel ``(x, y)`` and 4-connected to it."""
    crop = photo[box.slices].astype(np.int32)
    diff = crop - photo[y, x].astype(np.int32)
    close = mask & ((diff * diff).sum(axis=2) <= tolerance * tolerance)
    _n, comp = cv2.connectedComponents(close.astype(np.uint8), connectivity=4)
    part = comp == comp[y - box.y0, x - box.x0]
    tight = BBox.of_mask(part) or BBox(x - box.x0, y - box.y0, x - box.x0 + 1, y - box.y0 + 1)
    return tight.shift(box.x0, box.y0), part[tight.slices]
