"""Opening as a new user meets it (issue 12, items 5 and 6): the photo shows at once while the
parser is tried, the no-parser dialog speaks the GUI's language and is asked once per session,
dialogs remember the folder and suggest names, and ``main.py X.relayout`` opens the project."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from app.canvas.rendering import ViewLayer
from app.prompts import ScriptedPrompts
from app.session import Tool
from app.settings import EditorSettings
from tests.app.windows import editor_window

ROOT = Path(__file__).resolve().parents[2]
SKY, TREE = 3, 5


@pytest.fixture
def window(qtbot, tmp_path):
    yield from editor_window(
        qtbot, tmp_path, EditorSettings(working_size=64, parser="segformer-b0-ade", device="cpu"),
        ScriptedPrompts(label_source="regions"), size=(800, 560))


def photo_file(folder: Path, name: str = "kite.png", seed: int = 4) -> tuple[Path, np.ndarray]:
    folder.mkdir(parents=True, exist_ok=True)
    photo = np.random.default_rng(seed).integers(0, 256, (32, 48, 3), dtype=np.uint8)
    photo[:16] = (80, 140, 230)
    Image.fromarray(photo).save(folder / name)
    return folder / name, photo


def test_photo_shows_at_once_while_the_parser_is_tried(window, qtbot, tmp_path):
    path, _photo = photo_file(tmp_path)
    assert window.files.open_photo(str(path))
    # Before the worker has answered, the photo is on the canvas and edits wait.
    doc = window.session.document
    assert doc is not None and window.session.layout_pending
    image = window.canvas.renderer.image(ViewLayer.PHOTO)
    assert (image.width(), image.height()) == (48, 32)
    grab = window.canvas.grab().toImage()
    centre = grab.pixelColor(grab.width() // 2, grab.height() // 2)
    assert (centre.red(), centre.green(), centre.blue()) != (38, 39, 43)  # not the background
    window.session.set_tool(Tool.BRUSH)
    window.canvas.interaction.press(5.0, 5.0, Qt.KeyboardModifier.NoModifier)
    assert not doc.labels.any() and not doc.stroke_active
    qtbot.waitUntil(lambda: not window.session.layout_pending, timeout=30000)
    assert window.session.document is doc and doc.regions is not None
    assert not doc.can_undo and not doc.is_modified  # the starting layout is no edit


def test_no_parser_dialog_is_worded_for_the_gui_and_asked_once(window, qtbot, tmp_path):
    prompts = window.prompts
    first, _ = photo_file(tmp_path, "a.png", 1)
    second, _ = photo_file(tmp_path, "b.png", 2)
    window.files.open_photo(str(first))
    qtbot.waitUntil(lambda: not window.session.layout_pending, timeout=30000)
    asked = [q for q in prompts.asked if q.startswith("label source")]
    assert len(asked) == 1
    assert "segformer-b0-ade" in asked[0] and "not on this computer" in asked[0]
    for cli_word in ("--parser", "rerun", "hf download", "HF_HUB"):
        assert cli_word not in asked[0]
    window.files.open_photo(str(second))
    # The remembered choice: no second question, and the parser is not tried again.
    assert not [j for j in window.worker.pending() if j.kind == "parse"]
    qtbot.waitUntil(lambda: not window.session.layout_pending, timeout=30000)
    assert len([q for q in prompts.asked if q.startswith("label source")]) == 1
    assert window.session.document.regions is not None
    # A new parser in Settings is tried again (and asked about again when it fails too).
    window.apply_settings(replace(window.settings, parser="segformer-b0-ade-int8"))
    window.files.open_photo(str(first))
    qtbot.waitUntil(lambda: not window.session.layout_pending, timeout=30000)
    assert len([q for q in prompts.asked if q.startswith("label source")]) == 2


def test_no_parser_dialog_offers_the_model_manager(window, qtbot, tmp_path, monkeypatch):
    opened = []
    monkeypatch.setattr(window, "open_models", lambda: opened.append(True))
    window.prompts.label_source = "models"
    path, _ = photo_file(tmp_path)
    window.files.open_photo(str(path))
    qtbot.waitUntil(lambda: bool(opened), timeout=30000)
    assert window.session.document is not None and not window.session.layout_pending
    window.prompts.label_source = None  # Cancel: the photo is not opened
    window.files.layouts.forget()
    window.files.open_photo(str(path))
    qtbot.waitUntil(lambda: window.session.document is None, timeout=30000)


def test_dialogs_remember_the_folder_and_suggest_names(window, qtbot, tmp_path):
    photos = tmp_path / "photos"
    path, photo = photo_file(photos)
    labels = np.full((32, 48), SKY, np.uint8)
    Image.fromarray(labels, "L").save(photos / "kite_labels_in.png")
    window.files.open_photo(str(path), str(photos / "kite_labels_in.png"))
    doc = window.session.document
    doc.paint_stroke([(5, 5)], size=3, class_id=TREE)
    doc.set_result(np.full_like(photo, 7), doc.revision)
    prompts = window.prompts
    out = tmp_path / "exports"
    out.mkdir()
    prompts.paths = [str(out / "chosen.png")]
    window.acts.export_result.trigger()
    assert prompts.starts[-1] == ("Export result", str(photos / "kite_edited.png"))
    assert (out / "chosen.png").is_file()
    window.acts.export_labels.trigger()  # no path given: cancelled, but look at the question
    assert prompts.starts[-1] == ("Export label map", str(out / "kite_labels.png"))
    window.acts.export_mask.trigger()
    assert prompts.starts[-1] == ("Export edit mask", str(out / "kite_mask.png"))
    window.acts.save_as.trigger()
    assert prompts.starts[-1] == ("Save project", str(out / "kite.relayout"))
    window.acts.open_reference.trigger()
    assert prompts.starts[-1] == ("Open reference photo", str(out))


def test_main_opens_a_project_from_the_command_line(window, tmp_path):
    path, _photo = photo_file(tmp_path)
    labels = np.full((32, 48), SKY, np.uint8)
    Image.fromarray(labels, "L").save(tmp_path / "labels.png")
    window.files.open_photo(str(path), str(tmp_path / "labels.png"))
    window.session.document.paint_stroke([(10, 20), (30, 20)], size=5, class_id=TREE)
    project = tmp_path / "work.relayout"
    assert window.files.save_project(str(project))
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HF_HUB_OFFLINE="1")
    out = tmp_path / "shot.png"
    proc = subprocess.run([sys.executable, str(ROOT / "main.py"), str(project), "--screenshot",
                           str(out)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "not a readable image" not in proc.stderr
    with Image.open(out) as img:
        assert img.convert("RGB").getpixel((600, 450)) != (38, 39, 43)
    bad = subprocess.run([sys.executable, str(ROOT / "main.py"), str(project), "--labels",
                          str(tmp_path / "labels.png"), "--screenshot", str(out)], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "project" in bad.stderr and "Traceback" not in bad.stderr
