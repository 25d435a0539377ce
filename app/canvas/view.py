"""The canvas widget: zoom, pan, view modes, and painting only what changed.

Rendering lives in :mod:`.rendering` (buffers updated by box), gestures in :mod:`.interaction`,
previews in :mod:`.overlays`. This widget maps between widget and image coordinates, routes
pointer events, and turns each document event's box into the smallest widget rectangle to repaint.
"""

from __future__ import annotations

import math
from enum import Enum

from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.canvas.interaction import ToolInteraction
from app.canvas.overlays import OverlayPainter
from app.canvas.rendering import MASK_RGB, LayerRenderer, ViewLayer
from app.document import BBox, DocumentEvent, EditDocument
from app.session import EditorSession, Tool

MIN_ZOOM, MAX_ZOOM = 0.02, 32.0
BACKGROUND = QColor(38, 39, 43)


class ViewMode(str, Enum):
    EDIT = "edit"  # photo with the label and mask overlays
    RESULT = "result"  # the generated photo (or the photo, with "before" on)
    COMPARE = "compare"  # before | after, split at a slider
    WARPED = "warped"  # Eq. 7: warped pixels in the mask, photo elsewhere


class CanvasView(QWidget):
    """Draws the session's document; see the module doc for the split of responsibilities."""

    cursorMoved = Signal(int, int)  # image pixel under the pointer (-1, -1 when outside)
    zoomChanged = Signal(float)
    splitChanged = Signal(float)  # the Compare view's split line was dragged on the canvas

    def __init__(self, session: EditorSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.renderer = LayerRenderer()
        self.interaction = ToolInteraction(session, self)
        self.overlays = OverlayPainter(self)
        self.zoom = 1.0
        self.offset = QPointF(0, 0)  # widget position of the image's top-left corner
        self.mode = ViewMode.EDIT
        self.show_labels = True
        self.show_mask = True
        self.show_regions = True
        self.label_opacity = 0.55
        self.before = False  # RESULT mode shows the original photo while on
        self.split = 0.5  # COMPARE mode: fraction of the width showing "before"
        self._pan_anchor: QPointF | None = None
        self._dragging_split = False
        self._space_down = False
        self.repaint_requests: list[QRect] = []  # the last few repaint rects (tests, profiling)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        session.documentReplaced.connect(self._on_document)
        session.documentChanged.connect(self._on_event)
        session.toolChanged.connect(lambda _t: self._refresh_cursor())
        session.layoutTargetChanged.connect(self._on_target)
        session.brushChanged.connect(lambda _s: self.update())
        self.interaction.overlayChanged.connect(self.update)

    def sizeHint(self) -> QSize:
        return QSize(900, 640)

    # ---------------------------------------------------------------- coordinates
    def to_image(self, p: QPointF) -> tuple[float, float]:
        return ((p.x() - self.offset.x()) / self.zoom - 0.5,
                (p.y() - self.offset.y()) / self.zoom - 0.5)

    def image_rect_to_widget(self, box: BBox) -> QRectF:
        z = self.zoom
        return QRectF(self.offset.x() + box.x0 * z, self.offset.y() + box.y0 * z,
                      box.width * z, box.height * z)

    def widget_rect_to_image(self, rect: QRectF) -> BBox | None:
        doc = self.session.document
        if doc is None:
            return None
        z = self.zoom
        x0 = math.floor((rect.left() - self.offset.x()) / z)
        y0 = math.floor((rect.top() - self.offset.y()) / z)
        x1 = math.ceil((rect.right() - self.offset.x()) / z) + 1
        y1 = math.ceil((rect.bottom() - self.offset.y()) / z) + 1
        box = BBox(x0, y0, x1, y1).clip(doc.shape)
        return None if box.is_empty else box

    # ---------------------------------------------------------------- zoom / pan
    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        zoom = min(max(zoom, MIN_ZOOM), MAX_ZOOM)
        anchor = anchor if anchor is not None else QPointF(self.width() / 2, self.height() / 2)
        ix = (anchor.x() - self.offset.x()) / self.zoom
        iy = (anchor.y() - self.offset.y()) / self.zoom
        self.zoom = zoom
        self.offset = QPointF(anchor.x() - ix * zoom, anchor.y() - iy * zoom)
        self.zoomChanged.emit(zoom)
        self.update()

    def fit(self) -> None:
        doc = self.session.document
        if doc is None:
            return
        h, w = doc.shape
        margin = 24
        zoom = min((self.width() - margin) / w, (self.height() - margin) / h)
        self.zoom = min(max(zoom, MIN_ZOOM), MAX_ZOOM)
        self.offset = QPointF((self.width() - w * self.zoom) / 2,
                              (self.height() - h * self.zoom) / 2)
        self.zoomChanged.emit(self.zoom)
        self.update()

    def actual_size(self) -> None:
        self.set_zoom(1.0)

    def zoom_step(self, steps: float, anchor: QPointF | None = None) -> None:
        self.set_zoom(self.zoom * (1.25 ** steps), anchor)

    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta().y() / 120.0
        if delta:
            self.zoom_step(delta, event.position())
        event.accept()

    # ---------------------------------------------------------------- view state
    def set_mode(self, mode: ViewMode) -> None:
        self.mode = ViewMode(mode)
        self._refresh_cursor()
        self.update()

    @property
    def tools_active(self) -> bool:
        """Editing tools work only where the layout is shown: the Layout view. The other
        views hide it, so a drag there must not change it unseen (the inspector still works:
        it reads the result)."""
        return self.mode is ViewMode.EDIT or self.session.tool is Tool.INSPECT

    def _on_target(self, _target: object) -> None:
        self.renderer.show_photo_layout(self.session.labelling)
        self.update()

    def set_option(self, name: str, value: object) -> None:
        """Set a display option (``show_labels``, ``label_opacity``, ``split``...) and repaint."""
        if not hasattr(self, name):
            raise AttributeError(name)
        setattr(self, name, value)
        self.update()

    def _on_document(self, doc: EditDocument | None) -> None:
        self.renderer.set_document(doc)
        self.overlays.clear()
        self.fit()
        self.update()

    def _on_event(self, event: DocumentEvent) -> None:
        _layers, box = self.renderer.apply(event)
        if box is None:
            self._request(self.rect())
        elif not box.is_empty:
            rect = self.image_rect_to_widget(box).adjusted(-2, -2, 2, 2).toAlignedRect()
            self._request(rect.intersected(self.rect()))

    def _request(self, rect: QRect) -> None:
        if rect.isEmpty():
            return
        self.repaint_requests.append(rect)
        del self.repaint_requests[:-64]
        self.update(rect)

    # ---------------------------------------------------------------- painting
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        area = QRectF(event.rect())
        painter.fillRect(event.rect(), BACKGROUND)
        doc = self.session.document
        box = self.widget_rect_to_image(area) if doc is not None else None
        if doc is not None and box is not None:
            self._paint_layers(painter, box)
        if doc is not None:
            self.overlays.paint(painter, doc)
        painter.end()

    def _draw(self, painter: QPainter, layer: ViewLayer, box: BBox, opacity: float = 1.0,
              clip: QRectF | None = None) -> None:
        image = self.renderer.image(layer)
        if image is None:
            return
        painter.save()
        if clip is not None:
            painter.setClipRect(clip)
        painter.setOpacity(opacity)
        smooth = self.zoom < 1.0 and layer in (ViewLayer.PHOTO, ViewLayer.RESULT,
                                               ViewLayer.WARPED, ViewLayer.PREVIEW)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
        painter.drawImage(self.image_rect_to_widget(box), image,
                          QRectF(box.x0, box.y0, box.width, box.height))
        painter.restore()

    def base_layer(self) -> ViewLayer:
        if self.mode is ViewMode.WARPED and self.renderer.has(ViewLayer.WARPED):
            return ViewLayer.WARPED
        shown = self.renderer.result_layer()
        if self.mode is ViewMode.RESULT and not self.before and self.renderer.has(shown):
            return shown
        return ViewLayer.PHOTO

    def _paint_layers(self, painter: QPainter, box: BBox) -> None:
        shown = self.renderer.result_layer()
        if self.mode is ViewMode.COMPARE and self.renderer.has(shown):
            x = self.split_x()
            left = QRectF(0, 0, x, self.height())
            right = QRectF(x, 0, self.width() - x, self.height())
            self._draw(painter, ViewLayer.PHOTO, box, clip=left)
            self._draw(painter, shown, box, clip=right)
            return
        self._draw(painter, self.base_layer(), box)
        if self.mode is not ViewMode.EDIT:
            return
        if self.show_labels:
            self._draw(painter, ViewLayer.LABELS, box, self.label_opacity)
        if self.show_regions:
            self._draw(painter, ViewLayer.REGIONS, box, 0.8)
        if self.show_mask:
            self._draw_hatch(painter, box)
            self._draw(painter, ViewLayer.MASK_EDGE, box)

    def _draw_hatch(self, painter: QPainter, box: BBox) -> None:
        """Hatch the edit mask in widget space: thin lines leave the true class colours of the
        edited layout visible between them, at any zoom (a tint would change every colour)."""
        stencil = self.renderer.image(ViewLayer.MASK)
        target = self.image_rect_to_widget(box)
        rect = target.toAlignedRect().intersected(self.rect())
        if stencil is None or rect.isEmpty():
            return
        tmp = QImage(rect.size(), QImage.Format.Format_ARGB32_Premultiplied)
        tmp.fill(Qt.GlobalColor.transparent)
        p = QPainter(tmp)
        p.translate(-rect.x(), -rect.y())
        p.setBrushOrigin(0, 0)
        p.fillRect(target, QBrush(QColor(*MASK_RGB, 235), Qt.BrushStyle.BDiagPattern))
        p.setCompositionMode(QPainter.CompositionMode.CompositionMode_DestinationIn)
        p.drawImage(target, stencil, QRectF(box.x0, box.y0, box.width, box.height))
        p.end()
        painter.drawImage(rect.topLeft(), tmp)

    def split_x(self) -> float:
        doc = self.session.document
        if doc is None:
            return self.width() / 2
        w = doc.shape[1] * self.zoom
        return self.offset.x() + w * self.split

    # ---------------------------------------------------------------- pointer
    def _refresh_cursor(self) -> None:
        if self._space_down or self._pan_anchor is not None:
            shape = Qt.CursorShape.ClosedHandCursor if self._pan_anchor else \
                Qt.CursorShape.OpenHandCursor
        elif self.mode is ViewMode.COMPARE and self.session.tool is not Tool.INSPECT:
            shape = Qt.CursorShape.SplitHCursor  # dragging moves the split line
        elif not self.tools_active:
            shape = Qt.CursorShape.ForbiddenCursor
        elif self.session.tool in (Tool.MOVE, Tool.PASTE):
            shape = Qt.CursorShape.SizeAllCursor
        elif self.session.tool is Tool.PICKER:
            shape = Qt.CursorShape.PointingHandCursor
        else:
            shape = Qt.CursorShape.CrossCursor
        self.setCursor(shape)
        self.update()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        pan = event.button() == Qt.MouseButton.MiddleButton or (
            event.button() == Qt.MouseButton.LeftButton and self._space_down)
        left = event.button() == Qt.MouseButton.LeftButton
        if pan:
            self._pan_anchor = event.position()
            self._refresh_cursor()
        elif left and self.mode is ViewMode.COMPARE and self.session.tool is not Tool.INSPECT:
            self._dragging_split = True
            self._split_to(event.position().x())
        elif left and not self.tools_active:
            names = {ViewMode.RESULT: "Result", ViewMode.WARPED: "Warped"}
            self.interaction.message.emit(
                f"The {names.get(self.mode, self.mode.value)} view hides the layout, so the "
                f"tools are off here: press 1 (Layout view) to edit.")
        elif left:
            self.interaction.press(*self.to_image(event.position()), event.modifiers())
        elif event.button() == Qt.MouseButton.RightButton:
            self.interaction.cancel()
        event.accept()

    def _split_to(self, widget_x: float) -> None:
        doc = self.session.document
        if doc is None:
            return
        w = doc.shape[1] * self.zoom
        self.split = min(max((widget_x - self.offset.x()) / max(w, 1e-6), 0.0), 1.0)
        self.splitChanged.emit(self.split)
        self.update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        if self._pan_anchor is not None:
            self.offset += pos - self._pan_anchor
            self._pan_anchor = pos
            self.update()
        elif self._dragging_split:
            self._split_to(pos.x())
        elif self.tools_active:
            old = self.overlays.brush_rect(self.interaction.hover)
            self.interaction.move(*self.to_image(pos))
            new = self.overlays.brush_rect(self.interaction.hover)
            for rect in (old, new):
                if rect is not None:
                    self.update(rect.toAlignedRect())
        x, y = self.to_image(pos)
        doc = self.session.document
        inside = doc is not None and 0 <= round(x) < doc.shape[1] and 0 <= round(y) < doc.shape[0]
        self.cursorMoved.emit(*(round(x), round(y)) if inside else (-1, -1))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_anchor is not None and event.button() in (Qt.MouseButton.MiddleButton,
                                                               Qt.MouseButton.LeftButton):
            self._pan_anchor = None
            self._refresh_cursor()
        elif self._dragging_split and event.button() == Qt.MouseButton.LeftButton:
            self._dragging_split = False
        elif event.button() == Qt.MouseButton.LeftButton:
            self.interaction.release(*self.to_image(event.position()))
        event.accept()

    def leaveEvent(self, event) -> None:
        self.interaction.leave()
        self.cursorMoved.emit(-1, -1)
        super().leaveEvent(event)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_down = True
            self._refresh_cursor()
        elif event.key() == Qt.Key.Key_Escape:
            self.interaction.cancel()
        else:
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_down = False
            self._refresh_cursor()
        else:
            super().keyReleaseEvent(event)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if event.oldSize().width() <= 0:
            self.fit()
