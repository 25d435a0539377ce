"""GUI editing (pytest-qt, offscreen): opening, painting, undo/redo, objects, palette, references.

Photos are tiny so every test runs in well under a second; dialogs are answered by
``ScriptedPrompts``, so nothing ever blocks.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QKeySequence

from app.canvas.rendering import ViewLayer
from app.document import EditDocument
from app.main_window import MainWindow
from app.session import Tool
from app.settings import EditorSettings
from inference.labels import class_table, search_classes
from tests.app.windows import editor_window

SKY, TREE, GRASS, SIDEWALK, CAR = 3, 5, 10, 12, 21


@pytest.fixture
def window(qtbot, tmp_path):
    yield from editor_window(
        qtbot, tmp_path, EditorSettings(warp="hrs-ms", working_size=64, parser="regions"))


def write_sample(tmp_path, h=48, w=64):
    rng = np.random.default_rng(1)
    photo = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    labels = np.full((h, w), SKY, np.uint8)
    labels[h // 2:] = GRASS
    labels[30:40, 10:20] = CAR
    labels[30:33, 20:24] = CAR  # an L shape, so flips change the layout
    Image.fromarray(photo).save(tmp_path / "photo.png")
    Image.fromarray(labels, "L").save(tmp_path / "labels.png")
    return tmp_path / "photo.png", tmp_path / "labels.png", photo, labels


def widget_point(win: MainWindow, x: float, y: float) -> QPoint:
    c = win.canvas
    z, o = c.zoom, c.offset
    return QPoint(round(o.x() + (x + 0.5) * z), round(o.y() + (y + 0.5) * z))


def drag(qtbot, win: MainWindow, points: list[tuple[float, float]]) -> None:
    canvas = win.canvas
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=widget_point(win, *points[0]))
    for p in points[1:]:
        qtbot.mouseMove(canvas, widget_point(win, *p))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=widget_point(win, *points[-1]))


def test_open_sample_shows_document(window, tmp_path):
    photo_path, labels_path, _photo, labels = write_sample(tmp_path)
    assert window.files.open_photo(str(photo_path), str(labels_path))
    doc = window.session.document
    assert doc is not None and doc.shape == (48, 64)
    np.testing.assert_array_equal(doc.labels, labels)
    assert "photo.png" in window.windowTitle()
    image = window.canvas.renderer.image(ViewLayer.LABELS)
    assert (image.width(), image.height()) == (64, 48)
    assert window.canvas.zoom > 1.0  # a tiny photo is fitted up to the window
    assert len(window.recent_menu.actions()) == 1


def test_paint_stroke_undo_redo_through_the_canvas(window, qtbot, tmp_path):
    photo_path, labels_path, _photo, labels = write_sample(tmp_path)
    window.files.open_photo(str(photo_path), str(labels_path))
    doc = window.session.document
    window.session.set_class(TREE)
    window.session.set_brush_size(3)
    window.acts.tools[Tool.BRUSH].trigger()
    drag(qtbot, window, [(5, 5), (15, 5), (25, 5)])
    assert (doc.labels[5, 5:26] == TREE).all()
    assert doc.history.undo_steps == 1  # the whole drag is one step
    assert window.acts.undo.isEnabled()
    window.acts.undo.trigger()
    np.testing.assert_array_equal(doc.labels, labels)
    assert window.acts.redo.isEnabled()
    window.acts.redo.trigger()
    assert (doc.labels[5, 5:26] == TREE).all()
    # the label overlay followed the edits
    buffer = window.canvas.renderer._buffers[ViewLayer.LABELS]
    assert tuple(buffer[5, 10, :3]) == class_table()[TREE].color


def test_eraser_fill_and_picker(window, qtbot, tmp_path):
    photo_path, labels_path, _photo, _labels = write_sample(tmp_path)
    window.files.open_photo(str(photo_path), str(labels_path))
    doc = window.session.document
    window.session.set_class(TREE)
    window.session.set_tool(Tool.FILL)
    drag(qtbot, window, [(2, 2)])
    assert (doc.labels[: 24] == TREE).all()  # the whole connected sky
    window.session.set_tool(Tool.ERASER)
    window.session.set_brush_size(5)
    drag(qtbot, window, [(10, 10)])
    assert doc.labels[10, 10] == SKY  # erased back to the original class
    window.session.set_tool(Tool.PICKER)
    drag(qtbot, window, [(15, 35)])
    assert window.session.class_id == CAR
    assert window.session.recent_classes[0] == CAR


def test_move_object_with_the_move_tool(window, qtbot, tmp_path):
    photo_path, labels_path, _photo, labels = write_sample(tmp_path)
    window.files.open_photo(str(photo_path), str(labels_path))
    doc = window.session.document
    window.acts.tools[Tool.MOVE].trigger()
    drag(qtbot, window, [(15, 35), (25, 35), (35, 33)])
    assert doc.labels[35, 15] != CAR  # vacated, filled from the surroundings
    assert (doc.labels[28:38, 30:40] == CAR).all()
    assert doc.history.undo_name == "Move object"
    window.acts.flip_horizontal.trigger()
    assert doc.history.undo_name == "Flip object"
    window.acts.delete_object.trigger()
    assert not (doc.labels == CAR).any()
    for _ in range(3):
        window.acts.undo.trigger()
    np.testing.assert_array_equal(doc.labels, labels)


def test_palette_search_by_alias_and_recent(window, qtbot):
    dock = window.palette
    dock.search.setText("pavement")  # an alias of sidewalk
    ids = dock.visible_class_ids()
    assert ids and ids[0] == search_classes("pavement")[0].id == SIDEWALK
    dock._choose(dock.list.item(0))
    assert window.session.class_id == SIDEWALK
    assert window.session.recent_classes[0] == SIDEWALK
    dock.search.setText("")
    assert len(dock.visible_class_ids()) == 151
    assert dock.recent_grid.count() >= 1


def test_shortcuts_are_the_documented_ones_and_unique(window, qtbot, tmp_path):
    expected = {Tool.BRUSH: "B", Tool.ERASER: "E", Tool.FILL: "G", Tool.PICKER: "I",
                Tool.MOVE: "V", Tool.MASK: "M"}
    for tool, key in expected.items():
        assert window.acts.tools[tool].shortcut() == QKeySequence(key)
    assert window.acts.undo.shortcut() == QKeySequence("Ctrl+Z")
    assert window.acts.redo.shortcut() == QKeySequence("Ctrl+Shift+Z")
    assert window.acts.export_result.shortcut() == QKeySequence("Ctrl+E")
    keys = [a.shortcut().toString() for a in window.acts.all() if not a.shortcut().isEmpty()]
    assert len(keys) == len(set(keys)), "two actions share a shortcut"
    photo_path, labels_path, *_ = write_sample(tmp_path)
    window.files.open_photo(str(photo_path), str(labels_path))
    window.activateWindow()
    window.canvas.setFocus()
    size = window.session.brush_size
    qtbot.keyClick(window.canvas, Qt.Key.Key_BracketRight)
    qtbot.keyClick(window.canvas, Qt.Key.Key_E)
    assert window.session.brush_size > size
    assert window.session.tool is Tool.ERASER


def test_mask_brush_and_zoom(window, qtbot, tmp_path):
    photo_path, labels_path, *_ = write_sample(tmp_path)
    window.files.open_photo(str(photo_path), str(labels_path))
    doc = window.session.document
    window.session.set_tool(Tool.MASK)
    window.session.set_brush_size(4)
    drag(qtbot, window, [(40, 10), (50, 10)])
    assert doc.user_mask[10, 40:51].all()
    zoom = window.canvas.zoom
    window.acts.zoom_in.trigger()
    assert window.canvas.zoom == pytest.approx(zoom * 1.25)
    window.acts.actual_size.trigger()
    assert window.canvas.zoom == 1.0
    window.acts.fit.trigger()
    assert window.canvas.zoom == pytest.approx(zoom)


def test_reference_panel_pick_and_place(window, qtbot, tmp_path):
    photo_path, labels_path, *_ = write_sample(tmp_path)
    window.files.open_photo(str(photo_path), str(labels_path))
    doc = window.session.document
    ref = np.full((20, 30, 3), 200, np.uint8)
    ref_labels = np.full((20, 30), SKY, np.uint8)
    ref_labels[5:15, 8:14] = TREE
    Image.fromarray(ref).save(tmp_path / "ref.png")
    Image.fromarray(ref_labels, "L").save(tmp_path / "ref_labels.png")
    assert window.files.open_reference(str(tmp_path / "ref.png"), str(tmp_path / "ref_labels.png"))
    panel = window.references
    assert panel.list.count() == 1
    sel = panel.pick(10, 10)
    assert sel is not None and sel.class_id == TREE and panel.place_button.isEnabled()
    panel.place_button.click()
    assert window.session.tool is Tool.PASTE
    drag(qtbot, window, [(40, 12)])
    assert len(doc.pastes) == 1
    assert (doc.labels == TREE).sum() == 60
    assert window.session.tool is Tool.MOVE
    assert [r.id for r in doc.paste_sources()] == [doc.references[0].id]


def test_paste_tool_outlives_its_reference(window, qtbot, tmp_path):
    """Undoing the reference's adding while the paste tool waits: no preview, no paste."""
    photo_path, labels_path, *_ = write_sample(tmp_path)
    window.files.open_photo(str(photo_path), str(labels_path))
    doc = window.session.document
    doc.add_reference(np.full((20, 30, 3), 200, np.uint8), np.full((20, 30), TREE, np.uint8))
    window.references.pick(10, 10)
    window.references.place_button.click()
    assert window.session.pending_paste.reference_id == doc.references[0].id
    window.acts.undo.trigger()
    assert doc.references == () and window.session.tool is Tool.PASTE
    qtbot.mouseMove(window.canvas, widget_point(window, 40, 12))
    assert window.canvas.interaction.hover is not None
    window.canvas.grab()  # paints the (absent) paste preview
    drag(qtbot, window, [(40, 12)])
    assert doc.pastes == ()


def test_unparsed_reference_regions_are_named_deliberately(window, qtbot, tmp_path):
    photo_path, labels_path, *_ = write_sample(tmp_path)
    window.files.open_photo(str(photo_path), str(labels_path))
    doc = window.session.document
    ref = np.zeros((40, 40, 3), np.uint8)
    ref[:, 20:] = (20, 160, 30)
    Image.fromarray(ref).save(tmp_path / "ref.png")
    with qtbot.waitSignal(window.references.list.model().rowsInserted, timeout=30000):
        window.files.open_reference(str(tmp_path / "ref.png"))  # parser "regions" in settings
    ref_id = doc.references[0].id
    assert ref_id in window.session.reference_regions
    panel = window.references
    window.session.set_class(GRASS)  # the class in hand is NOT the region's class
    assert panel.pick(30, 20) is None  # an unnamed region: highlighted, not named
    assert doc.reference(ref_id).labels[20, 30] == 0
    assert not panel.place_button.isEnabled() and "no class" in panel.info.text()
    assert panel.name_button.isVisibleTo(panel) and "grass" in panel.name_button.text()
    window.session.set_class(TREE)
    assert "tree" in panel.name_button.text()
    panel.name_button.click()
    assert doc.reference(ref_id).labels[20, 30] == TREE
    assert panel.place_button.isEnabled() and "Picked tree" in panel.info.text()
    # a labelled region is picked with its own label, whatever the palette holds
    window.session.set_class(SIDEWALK)
    sel = panel.pick(30, 20)
    assert sel is not None and sel.class_id == TREE and "Picked tree" in panel.info.text()


def test_large_photo_stroke_repaints_only_dirty_tiles(window, qtbot):
    h, w = 3000, 4000
    doc = EditDocument(np.zeros((h, w, 3), np.uint8), np.full((h, w), SKY, np.uint8))
    window.session.set_document(doc)
    renderer, canvas = window.canvas.renderer, window.canvas
    canvas.actual_size()
    canvas.offset = canvas.offset.__class__(-1000, -1000)
    window.session.set_class(TREE)
    window.session.set_brush_size(30)
    window.session.set_tool(Tool.BRUSH)
    before = renderer.pixels_converted
    start = time.perf_counter()
    canvas.interaction.press(1200.0, 1200.0, Qt.KeyboardModifier.NoModifier)
    for i in range(1, 41):
        canvas.interaction.move(1200.0 + 5 * i, 1200.0 + 3 * i)
        qtbot.wait(0)
    canvas.interaction.release(1400.0, 1320.0)
    elapsed = time.perf_counter() - start
    converted = renderer.pixels_converted - before
    assert doc.labels[1260, 1300] == TREE
    assert converted < 0.01 * h * w  # about 2,500 pixels per segment, never 12 MP
    assert all(r.width() * r.height() < 0.1 * canvas.width() * canvas.height()
               for r in canvas.repaint_requests[-40:])
    assert elapsed < 5.0
