"""Bounded undo/redo of deltas: delta round trips, bounds, and memory on a big map."""

from __future__ import annotations

import numpy as np
import pytest

from app.document import ArrayDelta, BBox, EditDocument, History, HistoryStep, Layer
from inference.errors import BadInputError


def test_delta_stores_tight_box_and_round_trips():
    before = np.zeros((50, 60), np.uint8)
    after = before.copy()
    after[10, 20] = 4
    after[12, 23] = 7
    delta = ArrayDelta.between(Layer.LABELS, before, after, origin=(100, 200))
    assert delta.bbox == BBox(120, 210, 124, 213)
    assert delta.mask.sum() == 2 and list(delta.new) == [4, 7] and list(delta.old) == [0, 0]
    big = np.zeros((300, 300), np.uint8)
    big[200:250, 100:160] = after
    delta.apply(big, forward=False)
    assert not big.any()
    delta.apply(big, forward=True)
    assert big[210, 120] == 4 and big[212, 123] == 7 and big.sum() == 11
    assert ArrayDelta.between(Layer.LABELS, before, before.copy()) is None


def test_photo_delta_keeps_all_channels():
    before = np.zeros((4, 4, 3), np.uint8)
    after = before.copy()
    after[1, 2] = (1, 2, 3)
    delta = ArrayDelta.between(Layer.PHOTO, before, after)
    assert delta.new.shape == (1, 3)
    delta.apply(before, forward=True)
    np.testing.assert_array_equal(before, after)


def step(name: str, nbytes: int = 0) -> HistoryStep:
    values = np.zeros(nbytes, np.uint8)
    delta = ArrayDelta(Layer.LABELS, BBox(0, 0, 1, 1), np.zeros(1, np.uint8), values, values)
    return HistoryStep(name, (delta,))


def test_history_drops_oldest_beyond_step_bound():
    history = History(max_steps=3)
    for i in range(5):
        history.push(step(f"s{i}"))
    assert history.undo_steps == 3
    assert [history.pop_undo().name for _ in range(3)] == ["s4", "s3", "s2"]
    assert not history.can_undo
    with pytest.raises(BadInputError, match="nothing to undo"):
        history.pop_undo()


def test_history_byte_budget_drops_oldest_but_keeps_newest():
    history = History(max_steps=100, max_bytes=10_000)
    for i in range(4):
        history.push(step(f"s{i}", 1_500))  # ~3.5 kB each (old + new)
    assert history.undo_steps == 2 and history.nbytes <= 10_000
    history.push(step("huge", 50_000))
    assert history.undo_steps == 1 and history.undo_name == "huge"


def test_push_clears_redo():
    history = History()
    history.push(step("a"))
    history.push(step("b"))
    history.pop_undo()
    assert history.redo_name == "b"
    history.push(step("c"))
    assert not history.can_redo and history.undo_name == "c"
    with pytest.raises(BadInputError, match="max_steps must be an integer >= 1, got 0"):
        History(max_steps=0)


def test_document_history_bound_drops_oldest_edit():
    labels = np.zeros((8, 8), np.uint8)
    doc = EditDocument(np.zeros((8, 8, 3), np.uint8), labels, max_history_steps=3)
    for i in range(5):
        doc.paint_stroke([(i, 0)], size=1, class_id=10 + i)
    undone = 0
    while doc.can_undo:
        doc.undo()
        undone += 1
    assert undone == 3
    # The two oldest strokes can no longer be undone.
    assert list(doc.labels[0, :5]) == [10, 11, 0, 0, 0]


def test_small_stroke_on_big_map_costs_kilobytes():
    h, w = 3000, 4000
    labels = np.full((h, w), 3, np.uint8)
    doc = EditDocument(np.zeros((h, w, 3), np.uint8), labels)
    doc.begin_stroke(1000, 1000, size=20, class_id=5)
    for x in range(1000, 1200, 7):
        doc.stroke_to(x, 1000 + (x - 1000) // 4)
    doc.end_stroke()
    assert doc.history.undo_steps == 1
    assert doc.history.nbytes < 32 * 1024, doc.history.nbytes
    assert (doc.labels == 5).sum() > 3000
    doc.undo()
    assert (doc.labels == 3).all()


def test_object_move_on_big_map_costs_only_its_box():
    h, w = 3000, 4000
    labels = np.full((h, w), 3, np.uint8)
    labels[1000:1040, 2000:2050] = 21
    doc = EditDocument(np.zeros((h, w, 3), np.uint8), labels)
    doc.select_object(2010, 1010)
    doc.move_selection(30, 0)
    assert doc.history.nbytes < 16 * 1024, doc.history.nbytes
    assert (doc.labels[1000:1040, 2030:2080] == 21).all()
    assert (doc.labels[1000:1040, 2000:2030] == 3).all()
