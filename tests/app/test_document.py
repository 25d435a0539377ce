"""EditDocument: construction, brush strokes, fills, picking, mask, events, revision, result."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from app.document import BBox, EditDocument, Layer, StrokeTool
from inference.errors import BadInputError, ImageError, LabelMapError

ROOT = Path(__file__).resolve().parents[2]


def make_doc(h: int = 10, w: int = 12) -> EditDocument:
    photo = np.arange(h * w * 3, dtype=np.uint8).reshape(h, w, 3)
    labels = np.full((h, w), 3, np.uint8)  # sky on top
    labels[h // 2:, :] = 9  # window below
    return EditDocument(photo, labels)


def snapshot(doc: EditDocument) -> tuple[np.ndarray, ...]:
    return (doc.photo.copy(), doc.original_labels.copy(), doc.labels.copy(),
            doc.user_mask.copy())


def assert_state(doc: EditDocument, state: tuple[np.ndarray, ...]) -> None:
    for now, then in zip(snapshot(doc), state, strict=True):
        np.testing.assert_array_equal(now, then)


def test_document_package_imports_no_qt():
    for path in sorted((ROOT / "app" / "document").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        assert not any(n.split(".")[0] in ("PySide6", "PyQt5", "PyQt6", "shiboken6")
                       for n in names), path


def test_construction_validates_and_copies_inputs():
    photo = np.zeros((8, 9, 3), np.uint8)
    labels = np.ones((8, 9), np.uint8)
    doc = EditDocument(photo, labels)
    labels[0, 0] = 7
    assert doc.labels[0, 0] == 1 and doc.original_labels[0, 0] == 1
    with pytest.raises(ValueError):
        doc.labels[0, 0] = 2  # read-only view: edits must go through operations
    assert EditDocument(photo).labels.max() == 0  # no labels: paint from empty
    with pytest.raises(LabelMapError, match=r"5×8 but the photo is 9×8"):
        EditDocument(photo, np.zeros((8, 5), np.uint8))
    with pytest.raises(LabelMapError, match="200"):
        EditDocument(photo, np.full((8, 9), 200, np.uint8))
    with pytest.raises(ImageError, match="H×W×3"):
        EditDocument(np.zeros((8, 9), np.uint8))
    with pytest.raises(ImageError, match="bool"):
        EditDocument(photo, labels, user_mask=np.zeros((8, 9), np.uint8))


def test_paint_drag_is_one_undo_step_and_round_trips():
    doc = make_doc()
    before = snapshot(doc)
    doc.begin_stroke(1, 1, size=1, class_id=21)
    doc.stroke_to(6, 1)
    doc.stroke_to(6, 3)
    assert doc.end_stroke() is True
    expected = before[2].copy()
    expected[1, 1:7] = 21
    expected[1:4, 6] = 21
    np.testing.assert_array_equal(doc.labels, expected)
    assert doc.history.undo_steps == 1 and doc.history.undo_name == "Paint"
    assert doc.undo() == "Paint"
    assert_state(doc, before)
    assert not doc.can_undo and doc.can_redo
    doc.redo()
    np.testing.assert_array_equal(doc.labels, expected)


def test_round_brush_interpolates_between_far_points():
    doc = make_doc(20, 40)
    doc.paint_stroke([(2, 10), (37, 10)], size=5, class_id=5)
    row = doc.labels[10]
    assert (row[0:40] == 5).sum() == 40  # radius 2.5 around x=2..37 covers 0..39
    assert (doc.labels[8:13, 2:38] == 5).all()  # continuous band, no gaps
    assert doc.labels[7, 20] != 5 and doc.labels[13, 20] != 5
    # Round cap: the corner beyond the end, outside the radius, stays unpainted.
    doc2 = make_doc(20, 40)
    doc2.paint_stroke([(20, 10)], size=5, class_id=5)
    assert doc2.labels[10, 22] == 5 and doc2.labels[12, 22] != 5


def test_stroke_events_carry_only_the_segment_box():
    doc = make_doc(50, 60)
    events = []
    doc.connect(events.append)
    doc.begin_stroke(10, 10, size=3, class_id=5)
    doc.stroke_to(14, 10)
    doc.end_stroke()
    label_events = [e for e in events if e.layer is Layer.LABELS]
    assert label_events[0].bbox == BBox(9, 9, 12, 12)
    assert label_events[1].bbox == BBox(9, 9, 16, 12)
    assert all(e.bbox.area < 60 for e in label_events)
    assert events[-1].layer == "history"


def test_stroke_without_change_records_nothing():
    doc = make_doc()
    doc.paint_stroke([(2, 2), (5, 2)], size=2, class_id=3)  # already sky
    assert not doc.can_undo and doc.revision == 0


def test_erase_restores_original_labels():
    doc = make_doc()
    doc.paint_stroke([(0, 3), (11, 3)], size=3, class_id=21)
    painted = doc.labels.copy()
    doc.paint_stroke([(0, 3), (5, 3)], size=3, tool="erase")
    np.testing.assert_array_equal(doc.labels[2:5, :5], doc.original_labels[2:5, :5])
    np.testing.assert_array_equal(doc.labels[2:5, 7:], painted[2:5, 7:])
    doc.undo()
    np.testing.assert_array_equal(doc.labels, painted)


def test_mask_brush_adds_and_removes_and_feeds_edit_mask():
    doc = make_doc()
    doc.paint_stroke([(3, 3)], size=1, tool=StrokeTool.MASK_ADD)
    assert doc.user_mask[3, 3] and doc.user_mask.sum() == 1
    assert doc.edit_mask().sum() == 1
    doc.paint_stroke([(8, 8)], size=1, class_id=5)
    expected = np.zeros(doc.shape, bool)
    expected[3, 3] = expected[8, 8] = True
    np.testing.assert_array_equal(doc.edit_mask(), expected)
    doc.paint_stroke([(3, 3)], size=3, tool=StrokeTool.MASK_REMOVE)
    assert not doc.user_mask.any()
    doc.undo()
    assert doc.user_mask[3, 3]


def test_cancel_stroke_restores_without_history():
    doc = make_doc()
    before = snapshot(doc)
    doc.begin_stroke(2, 2, size=3, class_id=5)
    doc.stroke_to(8, 8)
    doc.cancel_stroke()
    assert_state(doc, before)
    assert not doc.can_undo


def test_other_operation_finishes_a_pending_stroke():
    doc = make_doc()
    doc.begin_stroke(2, 2, size=1, class_id=5)
    doc.undo()  # ends the drag as its own step, then undoes it
    assert doc.labels[2, 2] == 3 and doc.can_redo


def test_stroke_validation_messages():
    doc = make_doc()
    with pytest.raises(BadInputError, match="needs a class id"):
        doc.begin_stroke(1, 1, size=3)
    with pytest.raises(BadInputError, match="0..150, got 151"):
        doc.begin_stroke(1, 1, size=3, class_id=151)
    with pytest.raises(BadInputError, match="brush size must be 1..4096 px, got 0"):
        doc.begin_stroke(1, 1, size=0, class_id=1)
    with pytest.raises(BadInputError, match="unknown brush tool 'smudge'"):
        doc.begin_stroke(1, 1, size=3, tool="smudge")
    with pytest.raises(BadInputError, match="without begin_stroke"):
        doc.stroke_to(2, 2)
    # Off-image strokes are clipped, not refused (the pointer may leave the canvas).
    doc.paint_stroke([(-5, -5), (-1, 0)], size=3, class_id=5)
    assert doc.labels[0, 0] == 5


def test_fill_connected_region_and_pick():
    doc = make_doc()
    doc.paint_stroke([(0, 2), (11, 2)], size=1, class_id=5)  # splits the sky in two
    assert doc.pick_class(4, 0) == 3
    assert doc.fill(4, 0, 2) is True
    assert (doc.labels[:2] == 2).all() and (doc.labels[3:5] == 3).all()
    assert doc.pick_class(4, 0) == 2
    doc.undo()
    assert (doc.labels[:2] == 3).all()
    with pytest.raises(BadInputError, match=r"\(x=12, y=0\) is outside the 12×10 image"):
        doc.pick_class(12, 0)
    assert doc.fill(4, 0, 3) is False  # same class: nothing to record


def test_fill_auto_region():
    doc = make_doc()
    with pytest.raises(BadInputError, match="no automatic regions"):
        doc.fill_region(0, 0, 5)
    regions = np.zeros(doc.shape, np.int32)
    regions[:, 6:] = 1
    regions[0, 0] = 1  # a region need not be connected
    doc.set_regions(regions)
    doc.fill_region(8, 8, 17)
    expected = doc.original_labels.copy()
    expected[regions == 1] = 17
    np.testing.assert_array_equal(doc.labels, expected)
    with pytest.raises(LabelMapError, match="region map is 3×3"):
        doc.set_regions(np.zeros((3, 3), np.int32))


def test_revision_and_stale_result():
    doc = make_doc()
    rev0 = doc.revision
    result = np.full((*doc.shape, 3), 200, np.uint8)
    assert doc.set_result(result, rev0) and doc.result_is_current
    doc.paint_stroke([(1, 1)], size=1, class_id=5)
    assert doc.revision > rev0 and not doc.result_is_current
    rev1 = doc.revision
    doc.undo()
    assert doc.revision > rev1  # undo is a change too: never back to an old number
    assert not doc.result_is_current
    # A late result from an older revision never replaces a newer one.
    assert doc.set_result(result, doc.revision)
    assert doc.set_result(result, rev0) is False
    assert doc.last_result.revision == doc.revision
    with pytest.raises(BadInputError, match="result revision must be"):
        doc.set_result(result, doc.revision + 1)
    with pytest.raises(LabelMapError, match="result is 3×3"):
        doc.set_result(np.zeros((3, 3, 3), np.uint8), doc.revision)


def test_apply_result_rebases_and_is_undoable():
    doc = make_doc()
    doc.paint_stroke([(2, 2)], size=3, class_id=5)
    doc.paint_stroke([(9, 9)], size=1, tool="mask_add")
    before = snapshot(doc)
    with pytest.raises(BadInputError, match="no result"):
        doc.apply_result()
    result = np.full((*doc.shape, 3), 77, np.uint8)
    doc.set_result(result, doc.revision - 1)
    with pytest.raises(BadInputError, match="stale"):
        doc.apply_result()
    doc.set_result(result, doc.revision)
    assert doc.apply_result()
    np.testing.assert_array_equal(doc.photo, result)
    np.testing.assert_array_equal(doc.original_labels, before[2])
    assert not doc.edit_mask().any() and doc.last_result is None
    doc.undo()
    assert_state(doc, before)
    assert doc.last_result is not None and doc.last_result.image[0, 0, 0] == 77
    doc.redo()
    np.testing.assert_array_equal(doc.photo, result)


def test_replace_labels_and_clear_edits():
    doc = make_doc()
    parsed = np.full(doc.shape, 17, np.uint8)
    doc.replace_labels(parsed)
    assert (doc.original_labels == 17).all() and (doc.labels == 17).all()
    doc.replace_labels(np.full(doc.shape, 4, np.uint8), target="edited")
    assert (doc.original_labels == 17).all() and (doc.labels == 4).all()
    doc.paint_stroke([(5, 5)], size=1, tool="mask_add")
    doc.clear_edits()
    assert (doc.labels == 17).all() and not doc.user_mask.any()
    doc.undo()
    assert (doc.labels == 4).all() and doc.user_mask[5, 5]
    with pytest.raises(BadInputError, match="target must be"):
        doc.replace_labels(parsed, target="all")
    with pytest.raises(LabelMapError):
        doc.replace_labels(np.zeros((2, 2), np.uint8))


def test_modified_flag_follows_saved_step():
    doc = make_doc()
    assert not doc.is_modified
    doc.paint_stroke([(1, 1)], size=1, class_id=5)
    assert doc.is_modified
    doc.mark_saved()
    assert not doc.is_modified
    doc.undo()
    assert doc.is_modified
    doc.redo()
    assert not doc.is_modified


def test_listener_can_disconnect():
    doc = make_doc()
    seen = []
    doc.connect(seen.append)
    doc.disconnect(seen.append)
    doc.fill(0, 0, 5)
    assert seen == []


def test_name_reference_region_relabels_and_undoes():
    doc = EditDocument(np.zeros((6, 8, 3), np.uint8), np.full((6, 8), 3, np.uint8))
    ref_id = doc.add_reference(np.zeros((4, 5, 3), np.uint8), np.zeros((4, 5), np.uint8), "r")
    region = np.zeros((4, 5), bool)
    region[1:3, 2:4] = True
    assert doc.name_reference_region(ref_id, region, 21)
    assert (doc.reference(ref_id).labels[region] == 21).all()
    assert (doc.reference(ref_id).labels[~region] == 0).all()
    sel = doc.select_reference_region(ref_id, 2, 1)
    assert sel.class_id == 21 and sel.area == 4
    assert not doc.name_reference_region(ref_id, region, 21)  # nothing changes: no step
    doc.undo()
    assert not doc.reference(ref_id).labels.any()
    with pytest.raises(BadInputError, match="bool mask"):
        doc.name_reference_region(ref_id, np.zeros((3, 3), bool), 21)
