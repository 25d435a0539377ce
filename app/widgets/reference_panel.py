"""Reference panel: open reference photos, pick a region, place it in the layout.

A reference is parsed with the configured parser when one is available; otherwise it arrives with
automatic regions. A pick takes the reference's own label; an automatic region that has no class
yet is only highlighted, and "Name it …" gives it the palette's class -- a deliberate step, never
the current class silently ("Picked grass" on a boat). "Place in layout" hands the region to the
canvas' paste tool: the next click on the photo drops it there, and the engine then uses that
reference's pixels as a warp source.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.canvas.rendering import array_to_qimage
from app.document import BBox, DocumentEvent, EditDocument, Layer, ObjectSelection
from app.session import EditorSession, PickedRegion, Tool
from app.widgets.class_palette import class_label
from app.widgets.reference_preview import ReferencePreview
from inference.errors import BadInputError


def _thumbnail(photo: np.ndarray, side: int = 56):
    from PySide6.QtGui import QIcon, QPixmap

    image = array_to_qimage(np.asarray(photo))
    pix = QPixmap.fromImage(image).scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio,
                                          Qt.TransformationMode.SmoothTransformation)
    return QIcon(pix)


class ReferencePanel(QDockWidget):
    def __init__(self, session: EditorSession, open_reference: Callable[[], None],
                 parent: QWidget | None = None) -> None:
        super().__init__("References", parent)
        self.setObjectName("ReferencePanel")
        self.session = session
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(8, 6, 8, 8)
        layout.setSpacing(6)
        buttons = QHBoxLayout()
        self.open_button = QPushButton("Open reference…")
        self.remove_button = QPushButton("Remove")
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.remove_button)
        layout.addLayout(buttons)
        self.list = QListWidget()
        self.list.setViewMode(QListWidget.ViewMode.IconMode)
        self.list.setIconSize(QSize(56, 56))
        self.list.setFixedHeight(84)
        self.list.setFlow(QListWidget.Flow.LeftToRight)
        self.list.setWrapping(False)
        layout.addWidget(self.list)
        self.preview = ReferencePreview()
        layout.addWidget(self.preview, 1)
        self.info = QLabel("Click a region of the reference to pick it.")
        self.info.setWordWrap(True)
        self.info.setObjectName("hint")
        layout.addWidget(self.info)
        self.name_button = QPushButton("Name it")
        self.name_button.setVisible(False)
        layout.addWidget(self.name_button)
        self.place_button = QPushButton("Place in layout")
        self.place_button.setObjectName("primary")
        self.place_button.setEnabled(False)
        layout.addWidget(self.place_button)
        self.setWidget(body)

        self.open_button.clicked.connect(open_reference)
        self.remove_button.clicked.connect(self._remove)
        self.list.currentItemChanged.connect(lambda *_: self._show_current())
        self.preview.clicked.connect(self.pick)
        self.place_button.clicked.connect(self.place)
        self.name_button.clicked.connect(self.name_unnamed)
        session.classChanged.connect(lambda _c: self._show_name_button())
        self._unnamed: tuple[int, int, int] | None = None  # reference id, x, y of the pick
        session.documentReplaced.connect(lambda _d: self.refresh())
        session.documentChanged.connect(self._on_event)
        self.refresh()

    # ---------------------------------------------------------------- state
    @property
    def doc(self) -> EditDocument | None:
        return self.session.document

    def current_id(self) -> int | None:
        item = self.list.currentItem()
        return None if item is None else int(item.data(Qt.ItemDataRole.UserRole))

    def _on_event(self, event: DocumentEvent) -> None:
        if Layer(event.layer) is Layer.REFERENCES:
            self.refresh()

    def refresh(self) -> None:
        keep = self.current_id()
        self.list.blockSignals(True)
        self.list.clear()
        doc = self.doc
        refs = doc.references if doc is not None else ()
        for ref in refs:
            item = QListWidgetItem(_thumbnail(ref.photo), ref.name or f"#{ref.id}")
            item.setData(Qt.ItemDataRole.UserRole, ref.id)
            item.setToolTip(f"{ref.name} ({ref.shape[1]}×{ref.shape[0]})")
            self.list.addItem(item)
            if ref.id == keep:
                self.list.setCurrentItem(item)
        if self.list.currentItem() is None and self.list.count():
            self.list.setCurrentRow(self.list.count() - 1)
        self.list.blockSignals(False)
        self.remove_button.setEnabled(bool(refs))
        self.open_button.setEnabled(doc is not None)
        self._show_current()

    def _show_current(self) -> None:
        doc, ref_id = self.doc, self.current_id()
        if doc is None or ref_id is None:
            self.preview.show_reference(None, None)
            self.place_button.setEnabled(False)
            return
        ref = doc.reference(ref_id)
        regions = self.session.reference_regions.get(ref_id)
        self.preview.show_reference(ref.photo, ref.labels, regions)
        picked = self.session.reference_selection
        sel = picked.region if picked is not None and picked.reference_id == ref_id else None
        self.preview.show_selection(sel)
        self.place_button.setEnabled(sel is not None)

    # ---------------------------------------------------------------- actions
    def pick(self, x: int, y: int) -> ObjectSelection | None:
        """Pick the region under reference pixel ``(x, y)`` with the reference's own label.

        An automatic region without a class is highlighted and waits for :meth:`name_unnamed`.
        """
        doc, ref_id = self.doc, self.current_id()
        if doc is None or ref_id is None:
            return None
        ref = doc.reference(ref_id)
        regions = self.session.reference_regions.get(ref_id)
        self._unnamed = None
        try:
            if int(ref.labels[y, x]) == 0 and regions is not None:
                self._unnamed = (ref_id, x, y)
                self.session.reference_selection = None
                self._show_current()
                region = regions == regions[y, x]
                self.preview.show_selection(ObjectSelection(0, *_cropped(region), (x, y)))
                self.info.setText("This region of the reference has no class yet: choose its "
                                  "class in the palette, then name it.")
                self._show_name_button()
                return None
            sel = doc.select_reference_region(ref_id, x, y)
        except BadInputError as exc:
            self.info.setText(str(exc))
            return None
        return self._picked(ref_id, sel)

    def name_unnamed(self) -> ObjectSelection | None:
        """Give the highlighted unnamed region the palette's class, and pick it."""
        doc = self.doc
        if doc is None or self._unnamed is None:
            return None
        ref_id, x, y = self._unnamed
        regions = self.session.reference_regions.get(ref_id)
        try:
            if regions is not None:
                doc.name_reference_region(ref_id, regions == regions[y, x],
                                          self.session.class_id)
            sel = doc.select_reference_region(ref_id, x, y)
        except BadInputError as exc:
            self.info.setText(str(exc))
            return None
        self._unnamed = None
        return self._picked(ref_id, sel)

    def _picked(self, ref_id: int, sel: ObjectSelection) -> ObjectSelection:
        self.session.reference_selection = PickedRegion(ref_id, sel)
        self.info.setText(f"Picked {class_label(sel.class_id)} "
                          f"({sel.bbox.width}×{sel.bbox.height} px). "
                          f"Place it, then click on the photo to drop it.")
        self._show_name_button()
        self._show_current()
        return sel

    def _show_name_button(self) -> None:
        self.name_button.setVisible(self._unnamed is not None)
        self.name_button.setText(f"Name it “{class_label(self.session.class_id)}”")

    def place(self) -> None:
        picked = self.session.reference_selection
        if picked is None:
            return
        self.session.pending_paste = picked
        self.session.set_tool(Tool.PASTE)
        self.session.pending_paste = picked  # set_tool clears it when leaving PASTE only

    def _remove(self) -> None:
        doc, ref_id = self.doc, self.current_id()
        if doc is None or ref_id is None:
            return
        try:
            doc.remove_reference(ref_id)
        except BadInputError as exc:
            self.info.setText(str(exc))
            return
        self.session.reference_regions.pop(ref_id, None)
        self.session.reference_selection = None


def _cropped(mask: np.ndarray) -> tuple[BBox, np.ndarray]:
    """``(BBox, cropped mask)`` of a non-empty bool mask."""
    box = BBox.of_mask(mask) or BBox(0, 0, 1, 1)
    return box, mask[box.slices]
