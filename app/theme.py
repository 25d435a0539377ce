"""A dark, neutral theme (photo editors keep chrome grey so it does not tint the photo)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from PySide6.QtCore import QPointF, QStandardPaths, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPalette, QPolygonF
from PySide6.QtWidgets import QApplication

STYLE = """
QMainWindow, QDialog { background: #1f2023; }
QMainWindow::separator { background: #16171a; width: 3px; height: 3px; }
QToolBar { background: #26272b; border: none; spacing: 4px; padding: 4px; }
QToolBar#tools { border-right: 1px solid #17181b; }
QToolBar QToolButton { border-radius: 6px; padding: 5px; color: #dfe2e6; }
QToolBar QToolButton:hover { background: #34363b; }
QToolBar QToolButton:checked { background: #2f5f96; }
QToolBar QToolButton:disabled { color: #5b5f67; }
QToolBar QToolButton:checked:disabled { background: #2a2f38; }
QToolButton#generate { background: #2f7be0; color: white; font-weight: 600;
                       padding: 5px 14px; }
QToolButton#generate:hover { background: #4a8ff0; }
QToolButton#generate:disabled { background: #2a3a52; color: #7f8da3; }
QToolButton#labelStep:checked { background: #2a7a50; }
QDockWidget { color: #c9ccd2; font-weight: 600; }
QDockWidget::title { background: #26272b; padding: 6px 8px; border-bottom: 1px solid #17181b; }
QDockWidget > QWidget { background: #232427; }
QLabel#caption { color: #7d828c; font-size: 10px; font-weight: 700; letter-spacing: 1px; }
QLabel#hint { color: #8b8f98; }
QLineEdit, QSpinBox, QDoubleSpinBox, QComboBox {
    background: #18191c; color: #e4e6ea; border: 1px solid #34363b; border-radius: 5px;
    padding: 4px 6px; selection-background-color: #2f7be0; }
QLineEdit:disabled, QSpinBox:disabled, QComboBox:disabled { color: #6b6f78; }
QSpinBox, QDoubleSpinBox { padding-right: 20px; }
QSpinBox::up-button, QSpinBox::down-button,
QDoubleSpinBox::up-button, QDoubleSpinBox::down-button {
    subcontrol-origin: border; width: 18px; background: #2c2e33;
    border-left: 1px solid #3d4046; }
QSpinBox::up-button, QDoubleSpinBox::up-button {
    subcontrol-position: top right; border-top-right-radius: 5px; }
QSpinBox::down-button, QDoubleSpinBox::down-button {
    subcontrol-position: bottom right; border-bottom-right-radius: 5px; }
QSpinBox::up-button:hover, QSpinBox::down-button:hover,
QDoubleSpinBox::up-button:hover, QDoubleSpinBox::down-button:hover { background: #3d4046; }
QSpinBox::up-arrow, QDoubleSpinBox::up-arrow { image: url(ARROW_UP); width: 9px; height: 6px; }
QSpinBox::down-arrow, QDoubleSpinBox::down-arrow {
    image: url(ARROW_DOWN); width: 9px; height: 6px; }
QSpinBox::up-arrow:disabled, QDoubleSpinBox::up-arrow:disabled { image: url(ARROW_UP_OFF); }
QSpinBox::down-arrow:disabled, QDoubleSpinBox::down-arrow:disabled {
    image: url(ARROW_DOWN_OFF); }
QListWidget, QTableWidget, QTreeWidget { background: #1b1c1f; color: #dcdfe4;
    border: 1px solid #2e3035; border-radius: 5px; gridline-color: #2e3035; }
QListWidget::item { padding: 3px; }
QListWidget::item:selected, QTableWidget::item:selected { background: #2f5f96; }
QHeaderView::section { background: #26272b; color: #a7abb3; border: none; padding: 4px; }
QPushButton { background: #34363b; color: #e4e6ea; border: 1px solid #3d4046;
              border-radius: 5px; padding: 5px 12px; }
QPushButton:hover { background: #3d4046; }
QPushButton:disabled { color: #6b6f78; background: #2a2b2f; }
QPushButton#primary { background: #2f7be0; border-color: #2f7be0; color: white; }
QPushButton#primary:disabled { background: #2a3a52; border-color: #2a3a52; color: #7f8da3; }
QStatusBar { background: #26272b; color: #b5b9c0; border-top: 1px solid #17181b; }
QStatusBar QLabel { color: #b5b9c0; padding: 0 6px; }
QProgressBar { background: #18191c; border: 1px solid #34363b; border-radius: 4px;
               color: #dfe2e6; text-align: center; max-height: 14px; }
QProgressBar::chunk { background: #2f7be0; border-radius: 3px; }
QSlider::groove:horizontal { height: 4px; background: #3a3c42; border-radius: 2px; }
QSlider::handle:horizontal { background: #dfe2e6; width: 12px; margin: -5px 0;
                             border-radius: 6px; }
QSlider::sub-page:horizontal { background: #2f7be0; border-radius: 2px; }
QMenuBar { background: #26272b; color: #dfe2e6; }
QMenuBar::item:selected { background: #34363b; }
QMenu { background: #2a2b2f; color: #e4e6ea; border: 1px solid #17181b; }
QMenu::item:selected { background: #2f5f96; }
QMenu::item:disabled { color: #6b6f78; }
QTabBar::tab { background: #26272b; color: #a7abb3; padding: 5px 10px; }
QTabBar::tab:selected { background: #32343a; color: #ffffff; }
QCheckBox { color: #dfe2e6; }
QToolTip { background: #2a2b2f; color: #e4e6ea; border: 1px solid #17181b; }
"""


def _arrow_files() -> dict[str, str]:
    """Spin-box arrows as small PNGs (style sheets take images by path; the default arrows are
    dark-on-dark in this theme and nearly invisible). Drawn once per run into the cache."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.CacheLocation)
    folder = Path(base or tempfile.gettempdir()) / "theme"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        folder = Path(tempfile.mkdtemp(prefix="relayout-theme-"))
    files = {}
    for name, up, colour in (("ARROW_UP", True, "#e4e6ea"), ("ARROW_DOWN", False, "#e4e6ea"),
                             ("ARROW_UP_OFF", True, "#5b5f67"),
                             ("ARROW_DOWN_OFF", False, "#5b5f67")):
        image = QImage(18, 12, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(colour))
        tip, base_y = (1.0, 11.0) if up else (11.0, 1.0)
        painter.drawPolygon(QPolygonF([QPointF(1, base_y), QPointF(17, base_y),
                                       QPointF(9, tip)]))
        painter.end()
        path = folder / f"{name.lower()}.png"
        image.save(str(path))
        files[name] = path.as_posix()
    return files


def style_sheet() -> str:
    sheet = STYLE
    # Longest names first: ARROW_UP is a prefix of ARROW_UP_OFF.
    for name, path in sorted(_arrow_files().items(), key=lambda kv: -len(kv[0])):
        sheet = sheet.replace(f"url({name})", f"url({path})")
    return sheet


def apply_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    pal = QPalette()
    for role, colour in (
        (QPalette.ColorRole.Window, "#1f2023"), (QPalette.ColorRole.WindowText, "#dfe2e6"),
        (QPalette.ColorRole.Base, "#18191c"), (QPalette.ColorRole.AlternateBase, "#222327"),
        (QPalette.ColorRole.Text, "#e4e6ea"), (QPalette.ColorRole.Button, "#2c2e32"),
        (QPalette.ColorRole.ButtonText, "#e4e6ea"), (QPalette.ColorRole.Highlight, "#2f7be0"),
        (QPalette.ColorRole.HighlightedText, "#ffffff"), (QPalette.ColorRole.ToolTipBase,
                                                          "#2a2b2f"),
        (QPalette.ColorRole.ToolTipText, "#e4e6ea"),
    ):
        pal.setColor(role, QColor(colour))
    app.setPalette(pal)
    app.setStyleSheet(style_sheet())
