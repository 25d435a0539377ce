"""The document owns the engine result: the whole ``EditResult`` with its revision, or the image
alone for a result loaded from a project."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.document import EditDocument, load_project, save_project
from inference.errors import LabelMapError
from inference.pipeline.editor import EditResult

ROOT = Path(__file__).resolve().parents[2]


def make_doc() -> EditDocument:
    photo = np.arange(20 * 24 * 3, dtype=np.uint8).reshape(20, 24, 3)
    labels = np.full((20, 24), 3, np.uint8)
    labels[10:] = 9
    doc = EditDocument(photo, labels)
    doc.paint_stroke([(2, 2)], size=3, class_id=5)
    return doc


def edit_result(doc: EditDocument, value: int = 77) -> EditResult:
    image = np.full((*doc.shape, 3), value, np.uint8)
    return EditResult(image=image, warped=np.full_like(image, value // 2),
                      mask=doc.edit_mask(), route="synthesis", warp_backend="hrs-ms")


def test_the_document_stores_the_engines_result_read_only():
    doc = make_doc()
    edit = edit_result(doc)
    assert doc.set_result(edit, doc.revision)
    record = doc.last_result
    assert record.edit is not None and record.edit.image is record.image
    assert record.edit.route == "synthesis" and record.warped[0, 0, 0] == 38
    for array in (record.image, record.warped, record.edit.mask):
        assert not array.flags.writeable
    edit.image[...] = 0  # the engine's array: the document kept its own copy
    assert record.image[0, 0, 0] == 77
    bad = edit_result(doc)
    bad.warped = np.zeros((3, 3, 3), np.uint8)
    with pytest.raises(LabelMapError, match="warped result is 3×3"):
        doc.set_result(bad, doc.revision)


def test_an_image_alone_is_a_result_without_the_engines_part():
    doc = make_doc()
    assert doc.set_result(np.full((*doc.shape, 3), 9, np.uint8), doc.revision)
    assert doc.last_result.edit is None and doc.last_result.warped is None


def test_apply_and_undo_keep_the_whole_result_and_the_history_counts_it():
    doc = make_doc()
    doc.set_result(edit_result(doc), doc.revision)
    record = doc.last_result
    doc.apply_result()
    assert doc.last_result is None
    assert doc.history.nbytes >= record.image.nbytes + record.warped.nbytes
    doc.undo()
    assert doc.last_result is record and doc.last_result.warped is not None


def test_a_loaded_project_has_the_result_image_only(tmp_path):
    doc = make_doc()
    doc.set_result(edit_result(doc), doc.revision)
    save_project(doc, tmp_path / "p.relayout")
    loaded = load_project(tmp_path / "p.relayout")
    assert loaded.last_result.edit is None and loaded.last_result.warped is None
    assert loaded.last_result.revision == doc.last_result.revision
    np.testing.assert_array_equal(loaded.last_result.image, doc.last_result.image)


def test_the_document_and_the_window_load_without_the_engine():
    # EditResult is imported for type checking only: torch loads on the first generate.
    code = ("import sys, app.document, app.main_window; "
            "sys.exit('torch' in sys.modules)")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, timeout=120)
    assert done.returncode == 0
