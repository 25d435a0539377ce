"""Result and correspondence inspector dock: how the last result was made, and, for a clicked
pixel, the keys it attended to with their weights (paper 000, Fig. 6)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QDockWidget,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.correspondence_map import PixelKeys

if TYPE_CHECKING:
    from inference.pipeline.editor import EditResult


class InspectorPanel(QDockWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Inspector", parent)
        self.setObjectName("InspectorPanel")
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(8, 6, 8, 8)
        self.summary = QLabel("No result yet. Edit the layout and press Generate (Ctrl+G).")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.summary)
        self.pixel = QLabel("Pick the inspector tool (K) and click a pixel of the edited "
                            "area to see where its keys came from.")
        self.pixel.setWordWrap(True)
        self.pixel.setObjectName("hint")
        layout.addWidget(self.pixel)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["source", "x", "y", "weight"])
        self.table.verticalHeader().setVisible(False)
        # The source name takes what is left; the numbers are only as wide as they need, so
        # all four columns fit the dock's width (no horizontal scrolling).
        header = self.table.horizontalHeader()
        header.setMinimumSectionSize(24)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in (1, 2, 3):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        layout.addWidget(self.table, 1)
        self.setWidget(body)

    def show_result(self, result: EditResult | None) -> None:
        if result is None:
            self.summary.setText("No current result.")
            self.table.setRowCount(0)
            return
        timing = ", ".join(f"{k} {v:.2f}s" for k, v in result.timings.items())
        notes = "<br>".join(result.notes)
        win = result.window
        crop = f"{win.width}×{win.height} → {win.work_w}×{win.work_h}" if win else "—"
        self.summary.setText(
            f"<b>{result.route}</b> route · warp <b>{result.warp_backend}</b><br>"
            f"crop {crop}<br><span style='color:#8b8f98'>{timing}</span>"
            + (f"<br>{notes}" if notes else ""))

    def show_pixel(self, keys: PixelKeys | None, x: int, y: int) -> None:
        if keys is None:
            self.pixel.setText(f"Pixel ({x}, {y}) is outside the edited crop: it is copied "
                               f"from the photo unchanged.")
            self.table.setRowCount(0)
            return
        where = "inside the edit mask" if keys.in_mask else "outside the mask (kept as is)"
        self.pixel.setText(f"Pixel ({x}, {y}) — query ({keys.working[0]}, {keys.working[1]}) at "
                           f"working resolution, {where}; {len(keys.keys)} keys.")
        self.table.setRowCount(len(keys.keys))
        top = max((k.weight for k in keys.keys), default=1.0) or 1.0
        for row, key in enumerate(keys.keys):
            values = [key.name, f"{key.x:.0f}", f"{key.y:.0f}", f"{key.weight:.3f}"]
            for col, text in enumerate(values):
                item = QTableWidgetItem(text)
                if col == 3:
                    shade = int(60 + 140 * key.weight / top)
                    item.setBackground(QColor(40, shade // 2 + 40, shade, 160))
                self.table.setItem(row, col, item)
