"""A reference photo with its labels tinted and the picked region outlined; clicks pick regions."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.canvas.rendering import array_to_qimage, region_edges, selection_overlay
from app.document import ObjectSelection
from inference.labels import palette


class ReferencePreview(QWidget):
    """Shows one reference; emits ``clicked(x, y)`` in the reference's pixel coordinates."""

    clicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._photo: QImage | None = None
        self._labels: QImage | None = None
        self._edges: QImage | None = None
        self._selection: tuple[ObjectSelection, QImage] | None = None
        self._size = (0, 0)
        self.setMinimumHeight(150)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def sizeHint(self) -> QSize:
        return QSize(300, 200)

    def show_reference(self, photo: np.ndarray | None, labels: np.ndarray | None,
                       regions: np.ndarray | None = None) -> None:
        if photo is None or labels is None:
            self._photo = self._labels = self._edges = None
            self._size = (0, 0)
        else:
            self._photo = array_to_qimage(np.asarray(photo))
            self._labels = array_to_qimage(palette()[np.asarray(labels)])
            edges = region_edges(regions) if regions is not None else None
            self._edges = None if edges is None else QImage(
                edges.data, edges.shape[1], edges.shape[0], edges.strides[0],
                QImage.Format.Format_RGBA8888).copy()
            self._size = (photo.shape[1], photo.shape[0])
        self._selection = None
        self.update()

    def show_selection(self, selection: ObjectSelection | None) -> None:
        self._selection = None if selection is None else (
            selection, selection_overlay(selection.mask, (255, 255, 255), 120))
        self.update()

    def _target(self) -> QRectF:
        w, h = self._size
        if not w or not h:
            return QRectF()
        scale = min(self.width() / w, self.height() / h)
        tw, th = w * scale, h * scale
        return QRectF((self.width() - tw) / 2, (self.height() - th) / 2, tw, th)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(30, 31, 34))
        target = self._target()
        if self._photo is None or target.isEmpty():
            painter.setPen(QColor(140, 144, 152))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             "Open a reference photo to bring\nobjects in from another picture")
            painter.end()
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(target, self._photo)
        painter.setOpacity(0.45)
        painter.drawImage(target, self._labels)
        painter.setOpacity(1.0)
        if self._edges is not None:
            painter.drawImage(target, self._edges)
        if self._selection is not None:
            sel, overlay = self._selection
            w, _h = self._size
            scale = target.width() / w
            b = sel.bbox
            rect = QRectF(target.x() + b.x0 * scale, target.y() + b.y0 * scale,
                          b.width * scale, b.height * scale)
            painter.drawImage(rect, overlay)
            painter.setPen(QPen(QColor(64, 160, 255), 1.5, Qt.PenStyle.DashLine))
            painter.drawRect(rect)
        painter.end()

    def to_reference(self, p: QPointF) -> tuple[int, int] | None:
        target = self._target()
        if target.isEmpty() or not target.contains(p):
            return None
        w, h = self._size
        scale = target.width() / w
        x = int((p.x() - target.x()) / scale)
        y = int((p.y() - target.y()) / scale)
        return min(max(x, 0), w - 1), min(max(y, 0), h - 1)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            pt = self.to_reference(event.position())
            if pt is not None:
                self.clicked.emit(*pt)
        event.accept()
