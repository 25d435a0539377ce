"""Generate through the worker thread on the no-checkpoint path: results, stale drops, cancel,
apply, and the correspondence inspector."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtCore import QSettings

import app.generation as generation
from app.canvas import ViewMode
from app.document import EditDocument
from app.session import Tool
from tests.app.windows import QUICK_ENGINE, editor_window

SKY, TREE, GRASS, CAR = 3, 5, 10, 21


@pytest.fixture
def window(qtbot, tmp_path):
    yield from editor_window(qtbot, tmp_path, QUICK_ENGINE)


def edited_document(textured_car: bool = False) -> EditDocument:
    """Sky over grass; a car (8×8, flat grass colour unless ``textured_car``) moved 24 px."""
    rng = np.random.default_rng(2)
    photo = rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)
    photo[20:] = (40, 150, 40)
    if textured_car:
        photo[24:32, 8:16] = rng.integers(150, 256, (8, 8, 3))
    labels = np.full((40, 56), SKY, np.uint8)
    labels[20:] = GRASS
    labels[24:32, 8:16] = CAR
    doc = EditDocument(photo, labels)
    doc.select_object(10, 26)
    doc.move_selection(24, 0)
    return doc


def test_generate_stores_result_and_apply_is_undoable(window, qtbot):
    doc = edited_document()
    window.session.set_document(doc)
    with qtbot.waitSignal(window.generation.resultReady, timeout=60000) as blocker:
        window.acts.generate.trigger()
    result = blocker.args[0]
    assert result.route == "synthesis" and result.warp_backend == "hrs-ms"
    assert doc.result_is_current
    assert result.image.shape == doc.photo.shape
    mask = result.mask
    np.testing.assert_array_equal(result.image[~mask], doc.photo[~mask])  # Eq. 6
    assert window.canvas.mode is ViewMode.RESULT
    assert window.acts.apply_result.isEnabled() and window.acts.export_result.isEnabled()
    assert not window.status.progress.isVisible()
    old_photo = np.array(doc.photo)
    window.acts.apply_result.trigger()
    np.testing.assert_array_equal(doc.photo, result.image)
    np.testing.assert_array_equal(doc.original_labels, doc.labels)
    window.acts.undo.trigger()
    np.testing.assert_array_equal(doc.photo, old_photo)


def test_inspector_shows_keys_of_a_pixel(window, qtbot):
    doc = edited_document()
    window.session.set_document(doc)
    with qtbot.waitSignal(window.generation.resultReady, timeout=60000):
        window.generation.generate()
    window.session.set_tool(Tool.INSPECT)
    window.inspect_pixel(35, 27)  # inside the moved object
    assert window.inspector.table.rowCount() >= 1
    weights = [float(window.inspector.table.item(r, 3).text())
               for r in range(window.inspector.table.rowCount())]
    assert sum(weights) == pytest.approx(1.0, abs=0.01)
    ins = window.canvas.overlays.inspection
    assert ins is not None and ins.query == (35, 27) and ins.keys
    assert window.canvas.mode is ViewMode.RESULT or window.canvas.mode is ViewMode.WARPED


def test_inspector_maps_keys_with_the_working_size_the_result_was_made_with(window, qtbot):
    """Changing Settings › Working resolution after generating must not change where the
    inspector puts the keys: they were found at the result's working size."""
    from dataclasses import replace

    rng = np.random.default_rng(5)
    photo = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    labels = np.full((120, 160), SKY, np.uint8)
    labels[60:] = GRASS
    doc = EditDocument(photo, labels)
    doc.paint_stroke([(80, 52)], size=9, class_id=GRASS)  # a small edit: the crop is not all
    window.session.set_document(doc)
    with qtbot.waitSignal(window.generation.resultReady, timeout=60000) as blocker:
        window.generation.generate()
    result = blocker.args[0]
    assert result.sources[1] == "photo (whole)"
    window.apply_settings(replace(window.settings, working_size=512))
    assert doc.result_is_current
    # The whole 160×120 photo was warped from at 64×48: 0.4 working px per full px.
    win = result.window
    sx, sy = win.work_w / win.width, win.work_h / win.height
    for y in range(win.y0, win.y1):
        x = 80
        wx = min(max(round((x - win.x0 + 0.5) * sx - 0.5), 0), win.work_w - 1)
        wy = min(max(round((y - win.y0 + 0.5) * sy - 0.5), 0), win.work_h - 1)
        whole = [(kx, ky) for s, ky, kx, _w in result.correspondence.keys_at(wy, wx) if s == 1]
        if whole:
            break
    else:
        pytest.fail("no key in the whole photo along column 80")
    window.inspect_pixel(x, y)
    shown = sorted((round(kx, 3), round(ky, 3)) for kx, ky, _w, s
                   in window.canvas.overlays.inspection.keys if s == 1)
    expected = sorted((round((kx + 0.5) / 0.4 - 0.5, 3), round((ky + 0.5) / 0.4 - 0.5, 3))
                      for kx, ky in whole)
    assert shown == expected


def test_stale_result_is_dropped(window, qtbot, monkeypatch):
    release = threading.Event()
    real = generation.run_edit

    def slow(*args, **kwargs):
        release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(generation, "run_edit", slow)
    doc = edited_document()
    window.session.set_document(doc)
    window.generation.generate()
    doc.paint_stroke([(2, 2)], size=3, class_id=TREE)  # the user keeps editing
    with qtbot.waitSignal(window.generation.resultDropped, timeout=60000) as blocker:
        release.set()
    assert "stale" in blocker.args[0]
    assert doc.last_result is None and not doc.result_is_current


def test_cancel_stops_the_running_job(window, qtbot, monkeypatch):
    started = threading.Event()

    def waits_for_cancel(snapshot, settings, models, progress, cancel, *_engine_session):
        started.set()
        for _ in range(3000):
            cancel.raise_if_cancelled()
            threading.Event().wait(0.01)
        raise AssertionError("never cancelled")

    monkeypatch.setattr(generation, "run_edit", waits_for_cancel)
    window.session.set_document(edited_document())
    window.generation.generate()
    assert started.wait(10)
    with qtbot.waitSignal(window.worker.jobCancelled, timeout=10000):
        window.acts.cancel.trigger()
    qtbot.waitUntil(lambda: not window.generation.busy, timeout=5000)
    assert window.session.document.last_result is None


def test_auto_generate_after_an_edit(window, qtbot):
    from dataclasses import replace

    window.settings = replace(window.settings, auto_generate=True, auto_delay_ms=100)
    doc = edited_document()
    window.session.set_document(doc)
    with qtbot.waitSignal(window.generation.resultReady, timeout=60000):
        doc.paint_stroke([(50, 5)], size=3, class_id=TREE)
    assert doc.result_is_current


def test_engine_error_is_reported_not_raised(window, qtbot):
    from dataclasses import replace

    window.settings = replace(window.settings, checkpoint="/nonexistent/checkpoint")
    window.session.set_document(edited_document())
    with qtbot.waitSignal(window.generation.failed, timeout=30000) as blocker:
        window.generation.generate()
    assert "checkpoint" in blocker.args[0]
    assert window.prompts.errors and "checkpoint" in window.prompts.errors[-1]


def test_a_moved_object_keeps_its_own_pixels(window, qtbot):
    """The editor knows the move it made and hands it to the engine: the car is the photo's car,
    pixel for pixel, at its new place; only the uncovered hole is synthesised."""
    doc = edited_document(textured_car=True)
    assert len(doc.moves) == 1 and doc.moves[0].matrix[0, 2] == 24
    window.session.set_document(doc)
    with qtbot.waitSignal(window.generation.resultReady, timeout=60000) as blocker:
        window.acts.generate.trigger()
    out = blocker.args[0].image
    np.testing.assert_array_equal(out[25:31, 33:39], doc.photo[25:31, 9:15])
    assert (out[24:32, 8:16] != doc.photo[24:32, 8:16]).any()   # the old place is filled


def test_refinement_setting_reaches_the_engine(window, qtbot):
    from dataclasses import replace

    from app.dialogs.settings_dialog import SettingsDialog

    dialog = SettingsDialog(replace(window.settings, refine="harmonize"))
    qtbot.addWidget(dialog)
    assert dialog.refine.currentText() == "harmonize"
    dialog.refine.setCurrentText("synthesis")
    assert dialog.value().refine == "synthesis"
    window.apply_settings(replace(window.settings, refine="harmonize"))
    window.session.set_document(edited_document())
    with qtbot.waitSignal(window.generation.resultReady, timeout=60000) as blocker:
        window.generation.generate()
    assert blocker.args[0].route == "harmonize"


def test_a_stored_unknown_refinement_falls_back_to_the_default(tmp_path):
    from app.settings import load_settings

    store = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    store.setValue("editor/refine", "nonsense")
    assert load_settings(store).refine == "synthesis"
