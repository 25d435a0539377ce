"""The export dialog says which formats keep the pixel contract (issue 13, fault 7)."""

from __future__ import annotations

import numpy as np

from app.document import EditDocument
from app.prompts import QUALITY_LABEL, Prompts, ScriptedPrompts
from inference.imageio import load_image
from tests.app.test_gui_files import TREE, make_window


def test_quality_dialog_warns_that_jpeg_and_webp_are_lossy(qtbot, monkeypatch):
    seen = {}

    def get_int(parent, title, label, value, lo, hi):
        seen.update(title=title, label=label, range=(lo, hi))
        return 90, True

    monkeypatch.setattr("app.prompts.QInputDialog.getInt", get_int)
    assert Prompts(None).ask_quality(95) == 90
    assert seen["label"] == QUALITY_LABEL and seen["range"] == (1, 100)
    for words in ("lossy", "PNG", "TIFF", "quality 100 (lossless)"):
        assert words in QUALITY_LABEL


def test_lossy_export_asks_with_the_note_and_lossless_does_not(qtbot, tmp_path):
    prompts = ScriptedPrompts()
    window = make_window(qtbot, tmp_path, prompts)
    try:
        photo = np.random.default_rng(2).integers(0, 256, (32, 40, 3), dtype=np.uint8)
        window.session.set_document(EditDocument(photo, np.full((32, 40), 3, np.uint8)))
        doc = window.session.document
        doc.paint_stroke([(10, 6)], size=4, class_id=TREE)
        result = photo.copy()
        result[2:10, 6:14] = 0
        doc.set_result(result, doc.revision)
        for name in ("out.png", "out.tif"):
            assert window.files.export_result(str(tmp_path / name))
            np.testing.assert_array_equal(load_image(tmp_path / name), result)  # exact
        assert QUALITY_LABEL not in prompts.asked
        assert window.files.export_result(str(tmp_path / "out.jpg"))
        assert prompts.asked.count(QUALITY_LABEL) == 1
    finally:
        window.worker.shutdown()
