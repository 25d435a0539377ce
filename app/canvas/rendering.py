"""Canvas rendering: the document's layers as ``QImage`` s over numpy buffers, updated by box.

Each layer keeps one contiguous numpy buffer and a ``QImage`` that *shares* its memory, so a
document event for a 40×40 brush dab recolours 40×40 pixels and nothing else; the view then
repaints only the widget rectangle that box covers. Converting a whole 12-megapixel layer happens
once, when a document is opened (or a whole layer is replaced).
"""

from __future__ import annotations

from enum import Enum

import numpy as np
from PySide6.QtGui import QImage

from app.document import BBox, DocumentEvent, EditDocument, Layer
from inference.labels import palette

MASK_RGB = (255, 48, 140)  # the edit mask: a magenta no class uses
REGION_EDGE_RGBA = (255, 255, 255, 200)


class ViewLayer(str, Enum):
    PHOTO = "photo"
    LABELS = "labels"  # the edited layout, or the photo's layout while labelling
    MASK = "mask"  # the edit mask as a stencil (opaque inside); the view hatches it
    MASK_EDGE = "mask_edge"  # the edit mask's outline, 1 image pixel
    REGIONS = "regions"
    RESULT = "result"
    WARPED = "warped"
    PREVIEW = "preview"  # the edit so far while the engine runs (not the document's)


def _qimage(buffer: np.ndarray) -> QImage:
    """A ``QImage`` sharing ``buffer`` (H×W×3 RGB or H×W×4 RGBA, C-contiguous uint8)."""
    h, w = buffer.shape[:2]
    fmt = QImage.Format.Format_RGB888 if buffer.shape[2] == 3 else QImage.Format.Format_RGBA8888
    return QImage(buffer.data, w, h, buffer.strides[0], fmt)


class LayerRenderer:
    """Display buffers of one document. ``apply(event)`` returns the image box to repaint."""

    def __init__(self) -> None:
        self.doc: EditDocument | None = None
        self._buffers: dict[ViewLayer, np.ndarray] = {}
        self._images: dict[ViewLayer, QImage] = {}
        self.pixels_converted = 0  # for tests and profiling: pixels recoloured so far
        self.photo_layout = False  # LABELS shows the photo's layout (labelling) not the edits

    def show_photo_layout(self, on: bool) -> None:
        """Colour the label layer from the photo's layout (``True``) or the edited one."""
        if on != self.photo_layout:
            self.photo_layout = on
            self._rebuild(ViewLayer.LABELS)

    # ---------------------------------------------------------------- whole-document
    def set_document(self, doc: EditDocument | None) -> None:
        self.doc = doc
        self._buffers.clear()
        self._images.clear()
        if doc is None:
            return
        self._rebuild(ViewLayer.PHOTO)
        self._rebuild(ViewLayer.LABELS)
        self._rebuild(ViewLayer.MASK)
        self._rebuild(ViewLayer.REGIONS)
        self._rebuild(ViewLayer.RESULT)

    def set_preview(self, image: np.ndarray | None) -> None:
        """Show ``image`` (whole photo, RGB uint8) where the result is shown, or stop."""
        self._store(ViewLayer.PREVIEW, None if image is None else np.ascontiguousarray(image))

    def result_layer(self) -> ViewLayer:
        """What the result views draw: the preview while one is shown, else the result."""
        return ViewLayer.PREVIEW if ViewLayer.PREVIEW in self._images else ViewLayer.RESULT

    def image(self, layer: ViewLayer) -> QImage | None:
        return self._images.get(layer)

    def has(self, layer: ViewLayer) -> bool:
        return layer in self._images

    def _store(self, layer: ViewLayer, buffer: np.ndarray | None) -> None:
        if buffer is None:
            self._buffers.pop(layer, None)
            self._images.pop(layer, None)
            return
        buffer = np.ascontiguousarray(buffer)
        self._buffers[layer] = buffer
        self._images[layer] = _qimage(buffer)

    def _rebuild(self, layer: ViewLayer) -> None:
        doc = self.doc
        if doc is None:
            return
        full = BBox.full(doc.shape)
        if layer is ViewLayer.PHOTO:
            self._store(layer, np.array(doc.photo))
        elif layer is ViewLayer.LABELS:
            self._store(layer, np.empty((*doc.shape, 4), np.uint8))
            self._recolour_labels(full)
        elif layer is ViewLayer.MASK:
            self._store(layer, np.zeros((*doc.shape, 4), np.uint8))
            self._store(ViewLayer.MASK_EDGE, np.zeros((*doc.shape, 4), np.uint8))
            self._recolour_mask(full)
        elif layer is ViewLayer.REGIONS:
            self._store(layer, None if doc.regions is None else region_edges(doc.regions))
        elif layer is ViewLayer.RESULT:  # the result and the warp behind it, one record
            result = doc.last_result
            warped = None if result is None else result.warped
            self._store(layer, None if result is None else np.array(result.image))
            self._store(ViewLayer.WARPED, None if warped is None else np.array(warped))

    # ---------------------------------------------------------------- by box
    def _recolour_labels(self, box: BBox) -> None:
        doc = self.doc
        if doc is None:
            return
        labels = (doc.original_labels if self.photo_layout else doc.labels)[box.slices]
        out = self._buffers[ViewLayer.LABELS][box.slices]
        out[..., :3] = palette()[labels]
        out[..., 3] = np.where(labels == 0, 0, 255)  # "other" stays see-through
        self.pixels_converted += box.area

    def _recolour_mask(self, box: BBox) -> None:
        """Stencil and outline of the edit mask in ``box`` (the outline needs one pixel of
        context on each side, so the box is grown by one)."""
        doc = self.doc
        if doc is None:
            return
        grown = box.expand(1).clip(doc.shape)
        ctx = grown.expand(1).clip(doc.shape)
        s = ctx.slices
        changed = (doc.labels[s] != doc.original_labels[s]) | doc.user_mask[s]
        inner = changed.copy()
        inner[1:] &= changed[:-1]
        inner[:-1] &= changed[1:]
        inner[:, 1:] &= changed[:, :-1]
        inner[:, :-1] &= changed[:, 1:]
        local = grown.shift(-ctx.x0, -ctx.y0).slices
        stencil = self._buffers[ViewLayer.MASK][grown.slices]
        stencil[...] = 0
        stencil[changed[local]] = (*MASK_RGB, 255)
        edge = self._buffers[ViewLayer.MASK_EDGE][grown.slices]
        edge[...] = 0
        edge[(changed & ~inner)[local]] = (*MASK_RGB, 255)
        self.pixels_converted += grown.area

    def apply(self, event: DocumentEvent) -> tuple[set[ViewLayer], BBox | None]:
        """Bring the buffers up to date with ``event``: (layers touched, box or None = all)."""
        doc = self.doc
        if doc is None:
            return set(), None
        box = event.bbox.clip(doc.shape) if event.bbox is not None else BBox.full(doc.shape)
        layer = Layer(event.layer)
        if layer is Layer.LABELS or layer is Layer.ORIGINAL_LABELS:
            shown = Layer.ORIGINAL_LABELS if self.photo_layout else Layer.LABELS
            touched = {ViewLayer.MASK, ViewLayer.MASK_EDGE}
            if layer is shown:
                self._recolour_labels(box)
                touched.add(ViewLayer.LABELS)
            self._recolour_mask(box)
            return touched, event.bbox and box.expand(1).clip(doc.shape)
        if layer is Layer.USER_MASK:
            self._recolour_mask(box)
            return {ViewLayer.MASK, ViewLayer.MASK_EDGE}, event.bbox and box.expand(1).clip(
                doc.shape)
        if layer is Layer.PHOTO:
            self._buffers[ViewLayer.PHOTO][box.slices] = doc.photo[box.slices]
            return {ViewLayer.PHOTO}, event.bbox and box
        if layer is Layer.REGIONS:
            self._rebuild(ViewLayer.REGIONS)
            return {ViewLayer.REGIONS}, None
        if layer is Layer.RESULT:
            self._rebuild(ViewLayer.RESULT)
            return {ViewLayer.RESULT, ViewLayer.WARPED}, None
        if layer is Layer.SELECTION or layer is Layer.PASTES:
            return set(), event.bbox
        return set(), BBox(0, 0, 0, 0)  # history, references: nothing on the canvas


def region_edges(regions: np.ndarray) -> np.ndarray:
    """RGBA image with the borders between automatic regions drawn (1 px)."""
    edge = np.zeros(regions.shape, bool)
    edge[:, 1:] |= regions[:, 1:] != regions[:, :-1]
    edge[1:, :] |= regions[1:, :] != regions[:-1, :]
    out = np.zeros((*regions.shape, 4), np.uint8)
    out[edge] = REGION_EDGE_RGBA
    return out


def selection_overlay(mask: np.ndarray, rgb: tuple[int, int, int], alpha: int = 170) -> QImage:
    """A detached RGBA ``QImage`` of a bool mask filled with a class colour (move preview)."""
    out = np.zeros((*mask.shape, 4), np.uint8)
    out[mask] = (*rgb, alpha)
    return _qimage(out).copy()


def array_to_qimage(rgb: np.ndarray) -> QImage:
    """A detached ``QImage`` copy of an RGB array (thumbnails, dialogs)."""
    return _qimage(np.ascontiguousarray(rgb)).copy()
