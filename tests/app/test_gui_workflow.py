"""One session end to end through the window (pytest-qt, offscreen): open, edit, generate,
inspect, change the working size, inspect again, undo/redo, apply, save and load the project.

The result lives in the document only: the canvas' result and warp layers, the inspector and
the project file all read it there."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, Qt

from app.canvas import ViewMode
from app.canvas.rendering import ViewLayer
from app.main_window import MainWindow
from app.session import Tool
from tests.app.windows import QUICK_ENGINE, editor_window, sky_over_grass

SKY, GRASS = 3, 10


@pytest.fixture
def window(qtbot, tmp_path):
    yield from editor_window(qtbot, tmp_path, QUICK_ENGINE)


def click(qtbot, win: MainWindow, x: int, y: int) -> None:
    c = win.canvas
    pos = QPoint(round(c.offset.x() + (x + 0.5) * c.zoom), round(c.offset.y() + (y + 0.5) * c.zoom))
    qtbot.mouseClick(c, Qt.MouseButton.LeftButton, pos=pos)


def generate(qtbot, win: MainWindow):
    with qtbot.waitSignal(win.generation.resultReady, timeout=60000) as blocker:
        win.acts.generate.trigger()
    return blocker.args[0]


def test_open_generate_inspect_resize_undo_apply_save_load(window, qtbot, tmp_path):
    photo_path, labels_path, photo, _ = sky_over_grass(tmp_path, 120, 160, seed=7,
                                                       sky=SKY, grass=GRASS)
    assert window.files.open_photo(str(photo_path), str(labels_path))
    doc = window.session.document
    doc.paint_stroke([(80, 52)], size=9, class_id=GRASS)

    result = generate(qtbot, window)
    assert doc.last_result.edit is result and window.generation.current_result is result
    renderer = window.canvas.renderer
    assert renderer.has(ViewLayer.RESULT) and renderer.has(ViewLayer.WARPED)

    window.session.set_tool(Tool.INSPECT)
    click(qtbot, window, 80, 55)
    first = window.canvas.overlays.inspection
    assert first is not None and first.query == (80, 55) and first.keys
    rows = window.inspector.table.rowCount()
    window.apply_settings(replace(window.settings, working_size=512))
    click(qtbot, window, 80, 55)
    assert window.canvas.overlays.inspection.keys == first.keys
    assert window.inspector.table.rowCount() == rows

    window.acts.undo.trigger()  # the edit goes: the result is stale, kept, not inspectable
    assert doc.last_result.edit is result and window.generation.current_result is None
    window.inspect_pixel(80, 55)
    assert "Generate a result first" in window.status.currentMessage()
    window.acts.redo.trigger()
    window.acts.apply_result.trigger()  # refused: stale
    assert "stale" in window.status.currentMessage()
    np.testing.assert_array_equal(doc.photo, photo)

    result = generate(qtbot, window)
    window.acts.apply_result.trigger()
    np.testing.assert_array_equal(doc.photo, result.image)
    assert doc.last_result is None and not renderer.has(ViewLayer.WARPED)
    assert window.canvas.mode is ViewMode.EDIT
    window.acts.undo.trigger()  # the result (and its warp) come back with the old photo
    np.testing.assert_array_equal(doc.photo, photo)
    assert doc.last_result.edit is result and renderer.has(ViewLayer.WARPED)

    project = tmp_path / "edit.relayout"
    assert window.files.save_project_as(str(project))
    assert window.files.open_project(str(project))
    loaded = window.session.document
    assert loaded is not doc and loaded.last_result.edit is None
    np.testing.assert_array_equal(loaded.last_result.image, result.image)
    assert renderer.has(ViewLayer.RESULT) and not renderer.has(ViewLayer.WARPED)
    window.inspect_pixel(80, 55)  # a loaded result has no correspondence to show
    assert "Generate a result first" in window.status.currentMessage()
    assert window.files.export_result(str(tmp_path / "out.png"))
    with Image.open(tmp_path / "out.png") as out:
        np.testing.assert_array_equal(np.asarray(out), result.image)
