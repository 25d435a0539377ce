"""Status bar: cursor position, the class under the cursor, zoom, tool, and job progress."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QStatusBar, QWidget

from app.session import EditorSession, Tool
from app.widgets.class_palette import class_label
from inference.labels import class_table


class EditorStatusBar(QStatusBar):
    cancelRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.position = QLabel("—")
        self.position.setMinimumWidth(110)
        self.swatch = QLabel()
        self.swatch.setFixedSize(12, 12)
        self.under = QLabel("")
        self.under.setMinimumWidth(150)
        self.tool = QLabel("")
        self.zoom = QLabel("100%")
        self.zoom.setMinimumWidth(52)
        self.progress = QProgressBar()
        self.progress.setFixedWidth(160)
        self.progress.setVisible(False)
        self.cancel = QPushButton("Cancel")
        self.cancel.setVisible(False)
        self.cancel.clicked.connect(self.cancelRequested)
        for widget in (self.position, self.swatch, self.under, self.tool):
            self.addWidget(widget)
        for widget in (self.progress, self.cancel, self.zoom):
            self.addPermanentWidget(widget)

    def show_cursor(self, x: int, y: int, class_id: int | None) -> None:
        if x < 0 or class_id is None:
            self.position.setText("—")
            self.under.setText("")
            self.swatch.setStyleSheet("")
            return
        self.position.setText(f"x {x}  y {y}")
        colour = class_table()[class_id].color
        self.swatch.setStyleSheet(f"background: rgb{tuple(colour)}; border-radius: 2px;")
        self.under.setText(f"{class_label(class_id)} ({class_id})")

    def show_zoom(self, zoom: float) -> None:
        self.zoom.setText(f"{zoom * 100:.0f}%")

    def show_tool(self, text: str) -> None:
        self.tool.setText(text)

    def show_progress(self, done: int, total: int, label: str = "") -> None:
        self.progress.setVisible(True)
        self.cancel.setVisible(True)
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{label} %p%" if label else "%p%")

    def busy(self, label: str) -> None:
        self.show_progress(0, 0, label)
        self.progress.setRange(0, 0)

    def idle(self) -> None:
        self.progress.setVisible(False)
        self.cancel.setVisible(False)


def tool_status_text(session: EditorSession) -> str:
    """The tool, its size and class, and which layout it writes: labelling the photo's own
    layout is not an edit, painting the edited layout is."""
    tool = session.tool
    text = tool.title
    if tool in (Tool.BRUSH, Tool.ERASER, Tool.MASK):
        text += f" · {session.brush_size:.0f} px"
    if tool in (Tool.BRUSH, Tool.FILL):
        text += f" · {class_label(session.class_id)}"
    if tool is Tool.FILL and session.fill_tolerance > 0:
        text += f" · tolerance {session.fill_tolerance:.0f}"
    if tool.writes_layout:
        text += (" → the photo's layout (labelling, not an edit)" if session.labelling
                 else " → edits the layout")
    elif tool in (Tool.MOVE, Tool.PASTE):
        text += " → edits the layout"
    elif tool is Tool.MASK:
        text += " → extra pixels to re-synthesise"
    return text
