"""A dark, neutral theme (photo editors keep chrome grey so it does not tint the photo)."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

STYLE = """
QMainWindow, QDialog { background: #1f2023; }
QMainWindow::separator { background: #16171a; width: 3px; height: 3px; }
QToolBar { background: #26272b; border: none; spacing: 4px; padding: 4px; }
QToolBar#tools { border-right: 1px solid #17181b; }
QToolBar QToolButton { border-radius: 6px; padding: 5px; color: #dfe2e6; }
QToolBar QToolButton:hover { background: #34363b; }
QToolBar QToolButton:checked { background: #2f5f96; }
QToolButton#generate { background: #2f7be0; color: white; font-weight: 600;
                       padding: 5px 14px; }
QToolButton#generate:hover { background: #4a8ff0; }
QDockWidget { color: #c9ccd2; font-weight: 600; }
QDockWidget::title { background: #26272b; padding: 6px 8px; border-bottom: 1px solid #17181b; }
QDockWidget > QWidget { background: #232427; }
QLabel#caption { color: #7d828c; font-size: 10px; font-weight: 700; letter-spacing: 1px; }
QLabel#hint { color: #8b8f98; }
QLineEdit, QSpinBox, QDoubleSpinBox, QComboBox {
    background: #18191c; color: #e4e6ea; border: 1px solid #34363b; border-radius: 5px;
    padding: 4px 6px; selection-background-color: #2f7be0; }
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
QTabBar::tab { background: #26272b; color: #a7abb3; padding: 5px 10px; }
QTabBar::tab:selected { background: #32343a; color: #ffffff; }
QCheckBox { color: #dfe2e6; }
QToolTip { background: #2a2b2f; color: #e4e6ea; border: 1px solid #17181b; }
"""


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
    app.setStyleSheet(STYLE)
