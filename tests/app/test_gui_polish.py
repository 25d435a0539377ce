"""The smaller things a new user tripped over (issue 12, item 6), each checked on the real
widgets: keyboard in the class search, true class colours under the mask overlay, a toolbar that
does not shift, disabled actions that look disabled, the BEFORE tag, the inspector's columns,
visible spin-box arrows."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication, QSpinBox, QToolButton

from app.canvas import ViewMode
from app.canvas.overlays import split_tag_rects
from app.correspondence_map import PixelKeys, SourceKey
from app.document import EditDocument
from app.main_window import MainWindow
from app.session import Tool
from app.settings import EditorSettings
from app.theme import apply_theme
from inference.labels import class_table
from tests.app.windows import editor_window

SKY, TREE, GRASS = 3, 5, 10


@pytest.fixture
def window(qtbot, tmp_path):
    yield from editor_window(
        qtbot, tmp_path, EditorSettings(working_size=64, parser="regions", device="cpu"),
        size=(1200, 760))


@pytest.fixture
def themed(qapp):
    """The editor's theme, as ``main.py`` applies it (tests otherwise run unthemed)."""
    palette, style = qapp.palette(), qapp.style().name()
    apply_theme(qapp)
    yield qapp
    qapp.setStyleSheet("")
    qapp.setPalette(palette)
    qapp.setStyle(style)


def open_document(win: MainWindow) -> EditDocument:
    photo = np.full((60, 80, 3), 128, np.uint8)
    labels = np.full((60, 80), SKY, np.uint8)
    labels[30:] = GRASS
    doc = EditDocument(photo, labels)
    win.session.set_document(doc)
    QApplication.processEvents()
    return doc


def test_search_enter_picks_and_returns_focus_esc_leaves(window, qtbot):
    open_document(window)
    window.activateWindow()
    search = window.palette.search
    search.setFocus()
    qtbot.keyClicks(search, "tre")
    qtbot.keyClick(search, Qt.Key.Key_Return)
    assert window.session.class_id == TREE
    assert QApplication.focusWidget() is window.canvas
    qtbot.keyClick(window.canvas, Qt.Key.Key_G)  # a tool key goes to the tool, not the box
    assert window.session.tool is Tool.FILL and search.text() == "tre"
    search.setFocus()
    search.clear()
    qtbot.keyClicks(search, "gras")
    qtbot.keyClick(search, Qt.Key.Key_Down)  # move through the matches with the arrows
    qtbot.keyClick(search, Qt.Key.Key_Up)
    qtbot.keyClick(search, Qt.Key.Key_Return)
    assert window.session.class_id == GRASS
    search.setFocus()
    qtbot.keyClick(search, Qt.Key.Key_Escape)
    assert QApplication.focusWidget() is window.canvas
    spin = window.main_bar.tolerance  # the fill tolerance box gives the keyboard back too
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin, "40")
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    assert window.session.fill_tolerance == 40 and QApplication.focusWidget() is window.canvas


def test_edited_classes_keep_their_true_colours_under_the_mask(window):
    doc = open_document(window)
    window.canvas.set_option("label_opacity", 1.0)
    doc.paint_stroke([(20, 10), (60, 10)], size=12, class_id=TREE)  # an edit: the mask is on
    canvas = window.canvas
    canvas.fit()
    QApplication.processEvents()
    with_mask = canvas.grab().toImage()
    canvas.set_option("show_mask", False)
    without = canvas.grab().toImage()
    tree = QColor(*class_table()[TREE].color)
    z, o = canvas.zoom, canvas.offset
    same = total = 0
    for x in range(26, 56):
        for y in range(7, 14):
            px, py = round(o.x() + (x + 0.5) * z), round(o.y() + (y + 0.5) * z)
            total += 1
            same += with_mask.pixelColor(px, py) == without.pixelColor(px, py) == tree
    # The hatch covers a minority of the pixels; a tint (the old overlay) changed them all.
    assert same / total > 0.6


def test_undo_button_keeps_its_width(window):
    doc = open_document(window)
    bar = window.main_bar.bar
    button = bar.widgetForAction(window.acts.undo)
    assert isinstance(button, QToolButton)
    width = button.sizeHint().width()
    doc.paint_stroke([(5, 5)], size=3, class_id=TREE)
    doc.fill(40, 50, TREE)  # "Undo Fill" and then a long name
    doc.set_photo_layout(np.array(doc.labels))
    QApplication.processEvents()
    assert "Set the photo's layout" in window.acts.undo.text()  # the menu names the step
    assert "Set the photo's layout" in window.acts.undo.toolTip()
    assert button.text() == "Undo" and button.sizeHint().width() == width


def _brightest(image: QImage) -> int:
    return max(QColor(image.pixel(x, y)).value()
               for x in range(image.width()) for y in range(image.height()))


def test_disabled_actions_look_disabled(themed, window):
    button = window.main_bar.bar.widgetForAction(window.acts.undo)
    assert not window.acts.undo.isEnabled()  # no document yet
    disabled = _brightest(button.grab().toImage())
    open_document(window)
    window.session.document.paint_stroke([(5, 5)], size=3, class_id=TREE)
    QApplication.processEvents()
    assert window.acts.undo.isEnabled()
    enabled = _brightest(button.grab().toImage())
    assert enabled - disabled > 60, (enabled, disabled)
    # push buttons too (the reference panel's, without a document)
    window.session.set_document(None)
    QApplication.processEvents()
    remove = window.references.remove_button
    assert not remove.isEnabled()
    off = _brightest(remove.grab().toImage())
    remove.setEnabled(True)
    assert _brightest(remove.grab().toImage()) - off > 60


@pytest.mark.parametrize("x", [0.0, 5.0, 400.0, 795.0, 800.0])
def test_before_after_tags_stay_inside_and_apart(x):
    left, right = split_tag_rects(x, 800.0, 70.0, 60.0)
    for rect in (left, right):
        assert rect.left() >= 0 and rect.right() <= 800
    assert left.right() <= right.left()


def test_before_tag_is_whole_near_the_left_edge(window):
    doc = open_document(window)
    doc.set_result(np.full_like(np.asarray(doc.photo), 200), doc.revision)
    window.set_view_mode(ViewMode.COMPARE)
    window.canvas.set_option("split", 0.0)
    QApplication.processEvents()
    image = window.canvas.grab().toImage()
    x = round(window.canvas.split_x())
    # The tag's background (black, 60 % opaque) is darker than the canvas around the photo
    # (value 43): it must start inside the widget, not be cut by its left edge.
    dark = [px for px in range(80) if QColor(image.pixel(px, 24)).value() < 30]
    assert x <= 30 and dark and min(dark) >= 6


def test_inspector_columns_fit_the_dock(window):
    inspector = window.inspector
    inspector.raise_()
    keys = PixelKeys((10, 12), (3, 4), True, tuple(
        SourceKey(0, "photo (crop)", 1200.0 + i, 3400.0 - i, 0.25) for i in range(4)))
    inspector.show_pixel(keys, 10, 12)
    QApplication.processEvents()
    table = inspector.table
    header = table.horizontalHeader()
    total = sum(header.sectionSize(c) for c in range(table.columnCount()))
    assert total <= table.viewport().width() + 1
    for col in (1, 2, 3):  # every number is readable
        item = table.item(0, col)
        assert header.sectionSize(col) >= table.fontMetrics().horizontalAdvance(item.text())


def test_spin_box_arrows_are_visible(themed, qtbot):
    spin = QSpinBox()
    spin.setRange(0, 100)
    spin.resize(120, 30)
    qtbot.addWidget(spin)
    spin.show()
    qtbot.waitExposed(spin)
    image = spin.grab().toImage()
    w, h = image.width(), image.height()
    up = [QColor(image.pixel(x, y)).value() for x in range(w - 18, w) for y in range(h // 2)]
    # a light arrow on the dark button: some pixels near white, most of them dark
    assert max(up) > 200 and np.median(up) < 80
