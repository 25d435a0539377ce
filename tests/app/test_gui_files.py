"""GUI file operations: open flows, export, projects, refusals that leave the document alone,
unsaved-changes prompt, recent files, and ``main.py IMAGE --screenshot``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QSettings

from app.main_window import MainWindow
from app.prompts import ScriptedPrompts
from app.settings import EditorSettings, recent_files
from inference.imageio import load_image, load_label_map, load_mask
from tests.app.windows import sky_over_grass

ROOT = Path(__file__).resolve().parents[2]
SKY, TREE, GRASS = 3, 5, 10


def make_window(qtbot, tmp_path, prompts: ScriptedPrompts, parser: str = "regions") -> MainWindow:
    store = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings = EditorSettings(warp="hrs-ms", working_size=64, parser=parser, device="cpu")
    win = MainWindow(store=store, prompts=prompts, settings=settings)
    qtbot.addWidget(win)
    win.resize(800, 560)
    win.show()
    return win


@pytest.fixture
def prompts():
    return ScriptedPrompts()


@pytest.fixture
def window(qtbot, tmp_path, prompts):
    win = make_window(qtbot, tmp_path, prompts)
    yield win
    win.worker.shutdown()


@pytest.fixture
def sample(tmp_path):
    return sky_over_grass(tmp_path, 32, 40, seed=3, sky=SKY, grass=GRASS)


def test_export_result_labels_and_mask(window, qtbot, sample, tmp_path):
    photo_path, labels_path, photo, _labels = sample
    window.files.open_photo(str(photo_path), str(labels_path))
    doc = window.session.document
    assert not window.files.export_result(str(tmp_path / "none.png"))  # nothing generated yet
    assert window.prompts.infos
    doc.paint_stroke([(10, 6), (20, 6)], size=4, class_id=TREE)
    doc.set_result(np.full_like(photo, 77), doc.revision)
    assert window.files.export_result(str(tmp_path / "out.png"))
    assert (load_image(tmp_path / "out.png") == 77).all()
    window.prompts.quality = 40
    window.prompts.paths = [str(tmp_path / "out.jpg")]
    window.acts.export_result.trigger()  # asks for the path and the quality
    assert load_image(tmp_path / "out.jpg").shape == photo.shape
    assert window.files.export_result(str(tmp_path / "out.webp"), quality=80)
    assert (tmp_path / "out.webp").stat().st_size > 0
    assert window.files.export_labels(str(tmp_path / "edited.png"))
    np.testing.assert_array_equal(load_label_map(tmp_path / "edited.png"), doc.labels)
    assert window.files.export_mask(str(tmp_path / "mask.png"))
    np.testing.assert_array_equal(load_mask(tmp_path / "mask.png"), doc.edit_mask())


def test_save_and_reopen_project(window, qtbot, sample, tmp_path):
    photo_path, labels_path, *_ = sample
    window.files.open_photo(str(photo_path), str(labels_path))
    doc = window.session.document
    doc.paint_stroke([(5, 5), (30, 5)], size=3, class_id=TREE)
    saved_labels = np.array(doc.labels)
    window.prompts.paths = [str(tmp_path / "work")]  # the suffix is added
    window.acts.save.trigger()
    project = tmp_path / "work.relayout"
    assert project.is_file() and not doc.is_modified
    assert "work.relayout" in window.windowTitle()
    doc.paint_stroke([(5, 20)], size=3, class_id=TREE)
    assert doc.is_modified
    window.prompts.save_choice = "discard"
    assert window.files.open_any(str(project))
    reopened = window.session.document
    assert reopened is not doc
    np.testing.assert_array_equal(reopened.labels, saved_labels)
    assert any("save changes" in q for q in window.prompts.asked)
    assert str(project.resolve()) == recent_files(window.store)[0]


def test_corrupt_project_is_refused_and_document_untouched(window, sample, tmp_path):
    photo_path, labels_path, *_ = sample
    window.files.open_photo(str(photo_path), str(labels_path))
    doc = window.session.document
    doc.paint_stroke([(5, 5)], size=3, class_id=TREE)
    before = np.array(doc.labels)
    bad = tmp_path / "broken.relayout"
    bad.write_bytes(b"PK\x03\x04 this is not really a zip")
    window.prompts.save_choice = "discard"
    assert not window.files.open_any(str(bad))
    assert window.session.document is doc
    np.testing.assert_array_equal(doc.labels, before)
    assert doc.is_modified and doc.can_undo
    assert window.prompts.errors and "broken.relayout" in window.prompts.errors[-1]


def test_failed_photo_load_keeps_the_open_document(window, sample, tmp_path):
    photo_path, labels_path, *_ = sample
    window.files.open_photo(str(photo_path), str(labels_path))
    doc = window.session.document
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8 truncated")
    assert not window.files.open_photo(str(tmp_path / "bad.jpg"))
    wrong = tmp_path / "wrong.png"
    Image.fromarray(np.zeros((5, 5), np.uint8), "L").save(wrong)
    assert not window.files.open_photo(str(photo_path), str(wrong))  # size mismatch
    assert window.session.document is doc
    assert len(window.prompts.errors) == 2 and "5×5" in window.prompts.errors[-1]
    assert not window.files.import_labels(str(wrong))
    assert window.session.document is doc and not doc.can_undo


def test_unsaved_changes_cancel_keeps_document(window, sample):
    photo_path, labels_path, *_ = sample
    window.files.open_photo(str(photo_path), str(labels_path))
    doc = window.session.document
    doc.paint_stroke([(5, 5)], size=3, class_id=TREE)
    window.prompts.save_choice = "cancel"
    assert not window.files.open_photo(str(photo_path), str(labels_path))
    assert window.session.document is doc


@pytest.mark.parametrize("choice", ["empty", "regions"])
def test_open_without_parser_offers_choices(qtbot, tmp_path, sample, choice):
    photo_path, *_ = sample
    prompts = ScriptedPrompts(label_source=choice)
    win = make_window(qtbot, tmp_path, prompts, parser="segformer-b0-ade")  # offline in tests
    try:
        assert win.files.open_photo(str(photo_path))
        qtbot.waitUntil(lambda: not win.session.layout_pending, timeout=30000)
        doc = win.session.document
        assert any(q.startswith("label source") for q in prompts.asked)
        assert not doc.labels.any()
        if choice == "regions":
            assert doc.regions is not None and win.acts.fill_by_region.isChecked()
            win.session.set_class(TREE)
            assert doc.fill_region(3, 3, TREE) and (doc.labels == TREE).any()
        else:
            assert doc.regions is None
    finally:
        win.worker.shutdown()


def test_open_without_parser_and_import_a_label_map(qtbot, tmp_path, sample):
    photo_path, labels_path, _photo, labels = sample
    Image.fromarray(np.zeros((5, 5), np.uint8), "L").save(tmp_path / "small.png")
    prompts = ScriptedPrompts(label_source="import",
                              paths=[str(tmp_path / "small.png"), str(labels_path)])
    win = make_window(qtbot, tmp_path, prompts, parser="segformer-b0-ade")  # offline in tests
    try:
        for _ in range(2):  # a label map of the wrong size, then the photo's own
            assert win.files.open_photo(str(photo_path))
            qtbot.waitUntil(lambda: not win.session.layout_pending, timeout=30000)
            qtbot.waitUntil(lambda: "Import label map" in prompts.asked, timeout=30000)
        assert prompts.errors and "5×5" in prompts.errors[0]
        doc = win.session.document
        np.testing.assert_array_equal(doc.original_labels, labels)
        assert not win.session.labelling
    finally:
        win.worker.shutdown()


def test_import_label_map_is_undoable(window, sample, tmp_path):
    photo_path, labels_path, _photo, labels = sample
    window.files.open_photo(str(photo_path), str(labels_path))
    other = np.full_like(labels, TREE)
    Image.fromarray(other, "L").save(tmp_path / "other.png")
    assert window.files.import_labels(str(tmp_path / "other.png"))
    doc = window.session.document
    assert (doc.labels == TREE).all()
    window.acts.undo.trigger()
    np.testing.assert_array_equal(doc.labels, labels)


def test_screenshot_command_writes_png(sample, tmp_path):
    photo_path, labels_path, *_ = sample
    out = tmp_path / "shot.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HF_HUB_OFFLINE="1")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), str(photo_path), "--labels", str(labels_path),
         "--screenshot", str(out)], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120)
    assert proc.returncode == 0, proc.stderr
    with Image.open(out) as img:
        assert img.format == "PNG" and img.size == (1400, 900)
        # the photo is drawn: the canvas centre is not the empty background colour
        assert img.convert("RGB").getpixel((600, 450)) != (38, 39, 43)
    bad = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), str(tmp_path / "missing.jpg"), "--screenshot",
         str(tmp_path / "x.png")], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120)
    assert bad.returncode == 2 and "missing.jpg" in bad.stderr
