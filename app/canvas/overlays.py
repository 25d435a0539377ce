"""Previews drawn over the canvas: selection, object drag, reference paste, brush, inspector.

Everything here is transient view state derived from the document and the gesture in progress;
masks are turned into small ``QImage`` s once per selection and cached by identity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen

from app.canvas.rendering import ViewLayer, selection_overlay
from app.document import BBox, EditDocument, ObjectSelection
from app.session import Tool
from inference.labels import palette

if TYPE_CHECKING:
    from app.canvas.view import CanvasView

ACCENT = QColor(64, 160, 255)
KEY_COLOURS = [QColor(255, 210, 60), QColor(90, 230, 140), QColor(255, 120, 90),
               QColor(120, 180, 255)]


@dataclass
class Inspection:
    """A query pixel and its keys in the photo (keys in references are listed in the inspector
    panel only), in photo coordinates: ``(x, y, weight, source index)``."""

    query: tuple[int, int]
    keys: list[tuple[float, float, float, int]] = field(default_factory=list)


class OverlayPainter:
    def __init__(self, view: CanvasView) -> None:
        self.view = view
        self.inspection: Inspection | None = None
        self._cache: dict[int, tuple[object, QImage]] = {}

    def clear(self) -> None:
        self.inspection = None
        self._cache.clear()

    def set_inspection(self, inspection: Inspection | None) -> None:
        self.inspection = inspection
        self.view.update()

    # ---------------------------------------------------------------- caching
    def _mask_image(self, owner: object, mask: np.ndarray, rgb: tuple[int, int, int],
                    alpha: int = 170) -> QImage:
        key = id(owner)
        hit = self._cache.get(key)
        if hit is not None and hit[0] is owner:
            return hit[1]
        image = selection_overlay(mask, rgb, alpha)
        if len(self._cache) > 16:
            self._cache.clear()
        self._cache[key] = (owner, image)
        return image

    def _labels_image(self, owner: object, labels: np.ndarray, mask: np.ndarray) -> QImage:
        key = id(owner)
        hit = self._cache.get(key)
        if hit is not None and hit[0] is owner:
            return hit[1]
        rgba = np.zeros((*mask.shape, 4), np.uint8)
        rgba[..., :3] = palette()[labels]
        rgba[..., 3] = np.where(mask, 200, 0)
        h, w = mask.shape
        image = QImage(rgba.data, w, h, rgba.strides[0], QImage.Format.Format_RGBA8888).copy()
        self._cache[key] = (owner, image)
        return image

    # ---------------------------------------------------------------- painting
    def paint(self, painter: QPainter, doc: EditDocument) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        view = self.view
        editing = view.mode.value == "edit"
        sel = doc.selection
        if sel is not None and editing:
            self._paint_selection(painter, sel)
        if view.session.tool is Tool.PASTE and editing:
            self._paint_paste(painter)
        if self.inspection is not None:
            self._paint_inspection(painter)
        if view.mode.value == "compare" and view.renderer.has(view.renderer.result_layer()):
            self._paint_split(painter)
        if editing:
            self._paint_brush(painter)
        self._paint_badge(painter, doc)

    def badge_text(self, doc: EditDocument) -> str | None:
        """The banner over the canvas: which layout the tools write, or a stale result."""
        view = self.view
        if view.mode.value == "edit":
            if view.session.labelling:
                return "LABELLING THE PHOTO  ·  its own layout, not an edit  ·  F3: edit the layout"
            return None
        if view.renderer.has(ViewLayer.PREVIEW):
            return "PREVIEW  ·  refining…  ·  Ctrl+. cancels"
        if doc.last_result is not None and not doc.result_is_current:
            return "STALE RESULT  ·  the layout changed after it was generated  ·  Ctrl+G"
        return None

    def _paint_badge(self, painter: QPainter, doc: EditDocument) -> None:
        text = self.badge_text(doc)
        if text is None:
            return
        stale = text.startswith("STALE")
        font = QFont(painter.font())
        font.setBold(True)
        painter.setFont(font)
        w = painter.fontMetrics().horizontalAdvance(text) + 20
        width = self.view.width()
        rect = QRectF(max(8.0, (width - w) / 2), 46 if self._split_shown() else 12,
                      min(w, width - 16.0), 26)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(190, 110, 20, 225) if stale else QColor(32, 110, 70, 225))
        painter.drawRoundedRect(rect, 5, 5)
        painter.setPen(QColor(255, 255, 255))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)

    def _split_shown(self) -> bool:
        return self.view.mode.value == "compare" and self.view.renderer.has(
            self.view.renderer.result_layer())

    def _paint_selection(self, painter: QPainter, sel: ObjectSelection) -> None:
        view = self.view
        drag = view.interaction.drag
        dx, dy = (drag.dx, drag.dy) if drag is not None else (0, 0)
        colour = tuple(int(v) for v in palette()[sel.class_id])
        tint = self._mask_image(sel, sel.mask, (255, 255, 255) if not (dx or dy) else colour,
                                90 if not (dx or dy) else 200)
        box = sel.bbox.shift(dx, dy)
        rect = view.image_rect_to_widget(box)
        painter.drawImage(rect, tint)
        pen = QPen(QColor(255, 255, 255), 1.2, Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(rect)
        pen = QPen(ACCENT, 1.2, Qt.PenStyle.DashLine)
        pen.setDashOffset(4)
        painter.setPen(pen)
        painter.drawRect(rect)
        painter.setBrush(QColor(255, 255, 255))
        painter.setPen(QPen(ACCENT, 1.2))
        for corner in (rect.topLeft(), rect.topRight(), rect.bottomLeft(), rect.bottomRight()):
            painter.drawRect(QRectF(corner.x() - 3.5, corner.y() - 3.5, 7, 7))

    def _paint_paste(self, painter: QPainter) -> None:
        view = self.view
        pending = view.session.pending_paste
        hover = view.interaction.hover
        doc = view.session.document
        if pending is None or hover is None or doc is None:
            return
        region = pending.region
        ref = next((r for r in doc.references if r.id == pending.reference_id), None)
        if ref is None:  # removed (or its adding undone) while the paste tool waited
            return
        labels = np.asarray(ref.labels)[region.bbox.slices]
        image = self._labels_image(region, labels, region.mask)
        b = region.bbox
        x0 = round(hover[0] - b.width / 2)
        y0 = round(hover[1] - b.height / 2)
        rect = view.image_rect_to_widget(BBox(x0, y0, x0 + b.width, y0 + b.height))
        painter.drawImage(rect, image)
        painter.setPen(QPen(ACCENT, 1.5, Qt.PenStyle.DashLine))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(rect)

    def _paint_brush(self, painter: QPainter) -> None:
        view = self.view
        hover = view.interaction.hover
        if hover is None or view.session.tool not in (Tool.BRUSH, Tool.ERASER, Tool.MASK):
            return
        z = view.zoom
        c = QPointF(view.offset.x() + (hover[0] + 0.5) * z, view.offset.y() + (hover[1] + 0.5) * z)
        r = max(1.5, view.session.brush_size * z / 2)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(QColor(0, 0, 0, 160), 2.5))
        painter.drawEllipse(c, r, r)
        painter.setPen(QPen(QColor(255, 255, 255, 230), 1.0))
        painter.drawEllipse(c, r, r)

    def brush_rect(self, hover: tuple[float, float] | None) -> QRectF | None:
        """Widget rectangle the brush outline at ``hover`` covers (for partial repaints)."""
        view = self.view
        if hover is None or view.session.tool not in (Tool.BRUSH, Tool.ERASER, Tool.MASK):
            return None
        c = self._image_point(*hover)
        r = max(1.5, view.session.brush_size * view.zoom / 2) + 3
        return QRectF(c.x() - r, c.y() - r, 2 * r, 2 * r)

    def _image_point(self, x: float, y: float) -> QPointF:
        z, o = self.view.zoom, self.view.offset
        return QPointF(o.x() + (x + 0.5) * z, o.y() + (y + 0.5) * z)

    def _paint_inspection(self, painter: QPainter) -> None:
        ins = self.inspection
        if ins is None:
            return
        q = self._image_point(*ins.query)
        top = max((k[2] for k in ins.keys), default=1.0) or 1.0
        for x, y, weight, source in ins.keys:
            colour = QColor(KEY_COLOURS[source % len(KEY_COLOURS)])
            colour.setAlphaF(0.25 + 0.75 * weight / top)
            p = self._image_point(x, y)
            painter.setPen(QPen(colour, 1.0 + 2.0 * weight / top))
            painter.drawLine(q, p)
            painter.setBrush(colour)
            r = 2.5 + 6.0 * weight / top
            painter.drawEllipse(p, r, r)
        painter.setBrush(QColor(255, 255, 255))
        painter.setPen(QPen(QColor(0, 0, 0), 1.5))
        painter.drawEllipse(q, 5.5, 5.5)

    def _paint_split(self, painter: QPainter) -> None:
        view = self.view
        x = view.split_x()
        painter.setPen(QPen(QColor(255, 255, 255, 230), 2))
        painter.drawLine(QPointF(x, 0), QPointF(x, view.height()))
        font = QFont(painter.font())
        font.setBold(True)
        painter.setFont(font)
        widths = [painter.fontMetrics().horizontalAdvance(t) + 16 for t in ("BEFORE", "AFTER")]
        for text, rect in zip(("BEFORE", "AFTER"), split_tag_rects(x, view.width(), *widths)):
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(0, 0, 0, 150))
            painter.drawRoundedRect(rect, 4, 4)
            painter.setPen(QColor(255, 255, 255))
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)


def split_tag_rects(x: float, width: float, before_w: float, after_w: float,
                    gap: float = 10.0, margin: float = 8.0) -> tuple[QRectF, QRectF]:
    """Where the BEFORE and AFTER tags go for a split line at widget ``x``: beside the line,
    but always whole inside the widget and never on top of each other (near an edge the pair
    slides inwards together)."""
    left = x - gap - before_w
    right = x + gap
    left = min(max(left, margin), width - margin - after_w - gap - before_w)
    right = max(min(right, width - margin - after_w), left + before_w + gap)
    return QRectF(left, 12, before_w, 24), QRectF(right, 12, after_w, 24)
