"""Class palette dock: the current class, recent classes, and all 150 ADE20K classes with search.

Search matches names and aliases (``inference.labels.search_classes``): typing "lawn" finds grass.
The dock shows the session's class; picking one calls ``session.set_class``.
"""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QKeyEvent, QPainter, QPixmap
from PySide6.QtWidgets import (
    QDockWidget,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.session import MAX_RECENT_CLASSES, EditorSession
from inference.labels import class_table, search_classes


@lru_cache(maxsize=512)
def swatch_icon(class_id: int, size: int = 16) -> QIcon:
    info = class_table()[class_id]
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pix)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QColor(0, 0, 0, 120))
    painter.setBrush(QColor(*info.color))
    painter.drawRoundedRect(0, 0, size - 1, size - 1, 3, 3)
    painter.end()
    return QIcon(pix)


def class_label(class_id: int) -> str:
    info = class_table()[class_id]
    return "other / unlabelled" if class_id == 0 else info.display_name


class ClassPaletteDock(QDockWidget):
    """The class list. In the search box, Up/Down move through the matches, Enter picks the
    highlighted class and Esc leaves; both then emit ``done`` so the window hands the keyboard
    back to the canvas (tool keys such as G must not end up typed into the search)."""

    done = Signal()

    def __init__(self, session: EditorSession, parent: QWidget | None = None) -> None:
        super().__init__("Classes", parent)
        self.setObjectName("ClassPaletteDock")
        self.session = session
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(8, 6, 8, 8)
        layout.setSpacing(6)

        current = QHBoxLayout()
        self.current_swatch = QLabel()
        self.current_swatch.setFixedSize(34, 34)
        self.current_name = QLabel()
        self.current_name.setObjectName("currentClassName")
        current.addWidget(self.current_swatch)
        current.addWidget(self.current_name, 1)
        layout.addLayout(current)

        layout.addWidget(_caption("Recent"))
        self.recent_box = QWidget()
        self.recent_grid = QGridLayout(self.recent_box)
        self.recent_grid.setContentsMargins(0, 0, 0, 0)
        self.recent_grid.setSpacing(4)
        self.recent_grid.setAlignment(Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.recent_box)

        self.search = QLineEdit()
        self.search.setPlaceholderText("Search classes or aliases (e.g. lawn, lake, car)…")
        self.search.setClearButtonEnabled(True)
        layout.addWidget(self.search)
        self.list = QListWidget()
        self.list.setIconSize(QSize(16, 16))
        self.list.setUniformItemSizes(True)
        layout.addWidget(self.list, 1)
        self.setWidget(body)

        self.search.textChanged.connect(self.filter)
        self.search.returnPressed.connect(self.pick_highlighted)
        self.search.installEventFilter(self)
        self.list.itemActivated.connect(self._choose)
        self.list.itemClicked.connect(self._choose)
        session.classChanged.connect(self._show_current)
        self.filter("")
        self._show_current(session.class_id)

    def filter(self, text: str) -> None:
        self.list.clear()
        matches = search_classes(text)
        if not text.strip():
            matches = [class_table()[0], *matches]
        for info in matches:
            label = f"{class_label(info.id)}"
            item = QListWidgetItem(swatch_icon(info.id), label)
            item.setData(Qt.ItemDataRole.UserRole, info.id)
            aliases = ", ".join(a for a in info.aliases if a != info.display_name.lower())
            item.setToolTip(f"#{info.id} {info.display_name}" + (f"\nalso: {aliases}"
                                                                  if aliases else ""))
            self.list.addItem(item)
        if self.list.count() and text.strip():
            self.list.setCurrentRow(0)

    def pick_highlighted(self) -> None:
        item = self.list.currentItem() or (self.list.item(0) if self.list.count() else None)
        if item is not None:
            self._choose(item)
        self.done.emit()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.search and event.type() == QEvent.Type.KeyPress \
                and isinstance(event, QKeyEvent):
            key = event.key()
            if key == Qt.Key.Key_Escape:
                self.done.emit()
                return True
            if key in (Qt.Key.Key_Up, Qt.Key.Key_Down) and self.list.count():
                row = self.list.currentRow() + (1 if key == Qt.Key.Key_Down else -1)
                self.list.setCurrentRow(min(max(row, 0), self.list.count() - 1))
                return True
        return super().eventFilter(watched, event)

    def visible_class_ids(self) -> list[int]:
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())]

    def _choose(self, item: QListWidgetItem) -> None:
        self.session.set_class(int(item.data(Qt.ItemDataRole.UserRole)))

    def _show_current(self, class_id: int) -> None:
        info = class_table()[class_id]
        self.current_swatch.setStyleSheet(
            f"background: rgb{tuple(info.color)}; border-radius: 5px; "
            f"border: 1px solid rgba(255,255,255,60);")
        self.current_name.setText(f"<b>{class_label(class_id)}</b><br>"
                                  f"<span style='color:#8b8f98'>class {class_id}</span>")
        self._rebuild_recent()

    def _rebuild_recent(self) -> None:
        while self.recent_grid.count():
            item = self.recent_grid.takeAt(0)
            if item.widget() is not None:
                item.widget().setParent(None)  # now, not at the next event loop turn
        for i, cid in enumerate(self.session.recent_classes[:MAX_RECENT_CLASSES]):
            button = QToolButton()
            button.setIcon(swatch_icon(cid, 18))
            button.setIconSize(QSize(18, 18))
            button.setToolTip(class_label(cid))
            button.setAutoRaise(True)
            button.clicked.connect(lambda _=False, c=cid: self.session.set_class(c))
            self.recent_grid.addWidget(button, i // 6, i % 6)


def _caption(text: str) -> QLabel:
    label = QLabel(text.upper())
    label.setObjectName("caption")
    return label
