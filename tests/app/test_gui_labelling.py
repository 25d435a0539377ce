"""The offline start and the label / edit distinction, driven through the window (issue 12,
items 1 and 2): naming automatic regions labels the photo (no edit), only later changes are
edits, Generate changes only the edited pixels, and views that hide the layout never edit it.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QSettings, Qt

from app.canvas import ViewMode
from app.main_window import MainWindow
from app.prompts import ScriptedPrompts
from app.session import Tool
from app.settings import EditorSettings

SKY, TREE, GRASS, FLAG = 3, 5, 10, 44


def offline_window(qtbot, tmp_path, label_source: str = "regions") -> MainWindow:
    store = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings = EditorSettings(working_size=64, parser="segformer-b0-ade", device="cpu",
                              iterations=2, particles=1)  # no model offline: the dialog asks
    win = MainWindow(store=store, prompts=ScriptedPrompts(label_source=label_source),
                     settings=settings)
    qtbot.addWidget(win)
    win.resize(900, 600)
    win.show()
    qtbot.waitExposed(win)
    return win


def landscape(tmp_path) -> tuple[str, np.ndarray]:
    """A 48×64 photo: blue sky with a red kite, green grass below."""
    rng = np.random.default_rng(5)
    photo = np.zeros((48, 64, 3), np.uint8)
    photo[:24] = (70, 130, 230)
    photo[24:] = (50, 150, 40)
    photo[6:14, 40:50] = (230, 40, 30)
    photo = np.clip(photo + rng.integers(-6, 7, photo.shape), 0, 255).astype(np.uint8)
    path = tmp_path / "landscape.png"
    Image.fromarray(photo).save(path)
    return str(path), photo


def widget_point(win: MainWindow, x: float, y: float) -> QPoint:
    c = win.canvas
    return QPoint(round(c.offset.x() + (x + 0.5) * c.zoom),
                  round(c.offset.y() + (y + 0.5) * c.zoom))


def drag(qtbot, win: MainWindow, points) -> None:
    qtbot.mousePress(win.canvas, Qt.MouseButton.LeftButton, pos=widget_point(win, *points[0]))
    for p in points[1:]:
        qtbot.mouseMove(win.canvas, widget_point(win, *p))
    qtbot.mouseRelease(win.canvas, Qt.MouseButton.LeftButton, pos=widget_point(win, *points[-1]))


def open_offline(qtbot, win: MainWindow, path: str):
    """Open ``path``: the photo shows at once, its layout follows from the worker."""
    assert win.files.open_photo(path)
    assert win.session.document is not None and win.session.layout_pending
    qtbot.waitUntil(lambda: not win.session.layout_pending, timeout=30000)
    return win.session.document


def test_offline_start_name_regions_edit_generate_changes_only_the_edit(qtbot, tmp_path):
    path, photo = landscape(tmp_path)
    win = offline_window(qtbot, tmp_path)
    try:
        doc = open_offline(qtbot, win, path)
        assert doc is not None and doc.regions is not None
        # A photo without a layout starts in the labelling step, and says so.
        assert win.session.labelling and win.acts.label_photo.isChecked()
        win.acts.tools[Tool.FILL].trigger()
        assert "the photo's layout (labelling, not an edit)" in win.status.tool.text()
        assert "LABELLING THE PHOTO" in win.canvas.overlays.badge_text(doc)
        # Name the regions: sky (a drag across every sky region), the kite, the grass.
        win.session.set_class(SKY)
        drag(qtbot, win, [(2, 2), (20, 3), (60, 2), (60, 20), (30, 20), (2, 20)])
        win.session.set_class(FLAG)
        drag(qtbot, win, [(45, 10)])
        win.session.set_class(GRASS)
        drag(qtbot, win, [(5, 40), (40, 45), (60, 30)])
        assert (doc.original_labels[2, 2], doc.original_labels[10, 45],
                doc.original_labels[40, 5]) == (SKY, FLAG, GRASS)
        assert not doc.edit_mask().any(), "naming regions must not be an edit"
        # Ctrl+G with nothing edited explains instead of repainting the photo.
        win.acts.generate.trigger()
        assert "no edits" in win.status.currentMessage() and not win.generation.busy
        # Now edit: a tree painted into the grass.
        win.acts.edit_layout.trigger()
        assert not win.session.labelling and "edits the layout" in win.status.tool.text()
        win.acts.tools[Tool.BRUSH].trigger()
        win.session.set_class(TREE)
        win.session.set_brush_size(5)
        drag(qtbot, win, [(12, 36), (16, 36)])
        edit = doc.edit_mask()
        assert 10 <= edit.sum() <= 60 and edit[36, 14]
        with qtbot.waitSignal(win.generation.resultReady, timeout=120000) as blocker:
            win.acts.generate.trigger()
        result = blocker.args[0]
        changed = (result.image != photo).any(axis=2)
        assert changed.any()
        assert not changed[~result.mask].any()  # Eq. 6: nothing outside the edit mask
        assert result.mask.sum() < 0.15 * result.mask.size  # the mask is the stroke, dilated
        assert not changed[:20].any()  # the sky and the kite are untouched
    finally:
        win.worker.shutdown()


def test_paint_from_empty_labels_the_photo(qtbot, tmp_path):
    path, _photo = landscape(tmp_path)
    win = offline_window(qtbot, tmp_path, label_source="empty")
    try:
        doc = open_offline(qtbot, win, path)
        assert doc.regions is None and win.session.labelling
        win.acts.tools[Tool.BRUSH].trigger()
        win.session.set_class(SKY)
        win.session.set_brush_size(8)
        drag(qtbot, win, [(5, 5), (50, 5)])
        assert (doc.original_labels[5, 5:51] == SKY).all() and not doc.edit_mask().any()
        assert doc.history.undo_name == "Label the photo"
        # painted as edits by mistake? "Use as the photo's layout" turns them into labels
        win.acts.edit_layout.trigger()
        drag(qtbot, win, [(5, 30), (50, 30)])
        assert doc.edit_mask().any()
        win.acts.adopt_layout.trigger()
        assert not doc.edit_mask().any() and doc.original_labels[30, 20] == SKY
        win.acts.undo.trigger()
        assert doc.edit_mask().any()
    finally:
        win.worker.shutdown()


def test_import_label_map_sets_the_photos_layout(qtbot, tmp_path):
    path, _photo = landscape(tmp_path)
    labels = np.full((48, 64), SKY, np.uint8)
    labels[24:] = GRASS
    Image.fromarray(labels, "L").save(tmp_path / "labels.png")
    win = offline_window(qtbot, tmp_path, label_source="empty")
    try:
        doc = open_offline(qtbot, win, path)
        doc.paint_stroke([(30, 30)], size=3, class_id=TREE)  # an edit first
        edit = doc.edit_mask()
        assert win.files.import_labels(str(tmp_path / "labels.png"))
        np.testing.assert_array_equal(doc.original_labels, labels)
        np.testing.assert_array_equal(doc.edit_mask(), edit)  # still only the tree
        assert doc.history.undo_name == "Import label map"
    finally:
        win.worker.shutdown()


@pytest.mark.parametrize("mode", [ViewMode.RESULT, ViewMode.COMPARE, ViewMode.WARPED])
def test_views_that_hide_the_layout_do_not_edit_it(qtbot, tmp_path, mode):
    path, photo = landscape(tmp_path)
    labels = np.full((48, 64), SKY, np.uint8)
    labels[24:] = GRASS
    Image.fromarray(labels, "L").save(tmp_path / "labels.png")
    win = offline_window(qtbot, tmp_path)
    try:
        win.files.open_photo(path, str(tmp_path / "labels.png"))
        doc = win.session.document
        doc.paint_stroke([(30, 30)], size=3, class_id=TREE)
        doc.set_result(np.full_like(photo, 9), doc.revision)
        before, revision = np.array(doc.labels), doc.revision
        win.set_view_mode(mode)
        win.acts.tools[Tool.MOVE].trigger()
        drag(qtbot, win, [(10, 10), (30, 20), (50, 30)])  # the old bug: moved the sky
        for tool in (Tool.BRUSH, Tool.FILL, Tool.ERASER, Tool.MASK):
            win.acts.tools[tool].trigger()
            drag(qtbot, win, [(10, 10), (20, 12)])
        np.testing.assert_array_equal(doc.labels, before)
        assert doc.revision == revision and not doc.user_mask.any()
        assert doc.result_is_current
        if mode is ViewMode.COMPARE:
            # a drag on the canvas moves the split line, and the slider follows
            assert win.canvas.cursor().shape() == Qt.CursorShape.SplitHCursor
            drag(qtbot, win, [(32, 20), (16, 20)])
            assert win.canvas.split == pytest.approx(16.5 / 64, abs=0.03)
            assert win.split_slider.value() == round(win.canvas.split * 100)
        else:
            assert win.canvas.cursor().shape() == Qt.CursorShape.ForbiddenCursor
            assert "hides the layout" in win.status.currentMessage()
    finally:
        win.worker.shutdown()


def test_stale_result_says_so_and_apply_explains(qtbot, tmp_path):
    path, photo = landscape(tmp_path)
    labels = np.full((48, 64), SKY, np.uint8)
    Image.fromarray(labels, "L").save(tmp_path / "labels.png")
    win = offline_window(qtbot, tmp_path)
    try:
        win.files.open_photo(path, str(tmp_path / "labels.png"))
        doc = win.session.document
        doc.paint_stroke([(30, 30)], size=3, class_id=TREE)
        doc.set_result(np.full_like(photo, 9), doc.revision)
        win.set_view_mode(ViewMode.RESULT)
        assert win.canvas.overlays.badge_text(doc) is None
        doc.paint_stroke([(10, 10)], size=3, class_id=TREE)  # the result is now stale
        assert "STALE" in win.canvas.overlays.badge_text(doc)
        assert win.acts.apply_result.isEnabled()
        win.acts.apply_result.trigger()
        assert "stale" in win.status.currentMessage()
        assert (doc.photo == photo).all()  # nothing applied
    finally:
        win.worker.shutdown()
