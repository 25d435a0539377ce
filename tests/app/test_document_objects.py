"""EditDocument objects and references: select, move, scale, rotate, flip, delete, paste."""

from __future__ import annotations

import numpy as np
import pytest

from app.document import EditDocument, Layer
from inference.errors import BadInputError

SKY, GRASS, CAR, TREE = 3, 10, 21, 5


def scene() -> EditDocument:
    """Sky over grass (16×20) with a 3×5 car straddling the horizon at rows 6..8, cols 4..8."""
    labels = np.full((16, 20), SKY, np.uint8)
    labels[8:, :] = GRASS
    labels[6:9, 4:9] = CAR
    return EditDocument(np.zeros((16, 20, 3), np.uint8), labels)


def test_select_object_is_the_connected_component():
    doc = scene()
    sel = doc.select_object(5, 7)
    assert sel.class_id == CAR and sel.area == 15
    assert (sel.bbox.x0, sel.bbox.y0, sel.bbox.x1, sel.bbox.y1) == (4, 6, 9, 9)
    # A blob of the same class touching only diagonally is another object (4-connectivity).
    doc.paint_stroke([(9, 5)], size=1, class_id=CAR)
    assert doc.select_object(5, 7).area == 15
    assert doc.select_object(9, 5).area == 1
    # Filling the grass with the car's class joins the two into one component.
    doc.fill(15, 14, CAR)
    sel2 = doc.select_object(5, 7)
    assert sel2.area == 16 * 20 - (doc.labels == SKY).sum() - 1
    assert doc.selection is sel2


def test_move_fills_vacated_area_from_neighbours_not_zero():
    doc = scene()
    before = doc.labels.copy()
    doc.select_object(5, 7)
    assert doc.move_selection(10, 0)
    expected = np.full((16, 20), SKY, np.uint8)
    expected[8:, :] = GRASS
    expected[6:9, 14:19] = CAR
    np.testing.assert_array_equal(doc.labels, expected)
    assert (doc.labels != 0).all()
    sel = doc.selection
    assert (sel.bbox.x0, sel.bbox.y0, sel.bbox.x1, sel.bbox.y1) == (14, 6, 19, 9)
    assert doc.history.undo_steps == 1
    doc.undo()
    np.testing.assert_array_equal(doc.labels, before)
    assert doc.selection.bbox.x0 == 4  # the selection comes back with the undo
    doc.redo()
    np.testing.assert_array_equal(doc.labels, expected)


def test_vacated_area_stays_editable():
    doc = scene()
    doc.select_object(5, 7)
    doc.move_selection(10, 0)
    assert doc.fill(5, 2, TREE)  # the refilled sky is ordinary sky, one component
    assert (doc.labels[:6, :] == TREE).all() and doc.labels[7, 4] == TREE


def test_move_partly_off_image_clips_and_fully_off_deletes():
    doc = scene()
    doc.select_object(5, 7)
    doc.move_selection(13, 0)  # cols 17..21: two columns fall off
    assert (doc.labels[6:9, 17:20] == CAR).all() and (doc.labels == CAR).sum() == 9
    doc.undo()
    doc.select_object(5, 7)
    doc.move_selection(100, 0)
    assert (doc.labels != CAR).all() and doc.selection is None


def test_scale_doubles_the_object_about_its_centre():
    doc = scene()
    doc.select_object(5, 7)
    doc.scale_selection(2.0)
    car = doc.labels == CAR
    assert car.sum() == 60  # 6×10
    rows, cols = np.nonzero(car)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (4, 9, 1, 10)
    doc.undo()
    doc.select_object(5, 7)
    doc.scale_selection(1 / 3)
    assert 1 <= (doc.labels == CAR).sum() <= 5


def test_rotate_90_turns_a_bar_and_flip_mirrors():
    doc = scene()
    doc.select_object(5, 7)
    doc.rotate_selection(90)
    rows, cols = np.nonzero(doc.labels == CAR)
    # 5 wide × 3 tall about centre (6, 7) -> 3 wide × 5 tall.
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (5, 9, 5, 7)
    assert (doc.labels == CAR).sum() == 15
    doc.undo()

    # An L-shaped object: flipping horizontally mirrors it in its own box.
    labels = np.full((10, 10), SKY, np.uint8)
    labels[2:5, 2] = CAR
    labels[4, 2:6] = CAR
    doc = EditDocument(np.zeros((10, 10, 3), np.uint8), labels)
    doc.select_object(2, 2)
    doc.flip_selection(horizontal=True)
    expected = np.full((10, 10), SKY, np.uint8)
    expected[2:5, 5] = CAR
    expected[4, 2:6] = CAR
    np.testing.assert_array_equal(doc.labels, expected)
    doc.flip_selection(horizontal=False)
    expected2 = np.full((10, 10), SKY, np.uint8)
    expected2[2:5, 5] = CAR
    expected2[2, 2:6] = CAR
    np.testing.assert_array_equal(doc.labels, expected2)


def test_delete_fills_from_both_sides():
    doc = scene()
    doc.select_object(5, 7)
    assert doc.delete_selection()
    assert (doc.labels[:8] == SKY).all() and (doc.labels[8:] == GRASS).all()
    assert doc.selection is None
    with pytest.raises(BadInputError, match="no object is selected"):
        doc.move_selection(1, 1)


def test_move_after_painting_over_part_of_the_object_moves_only_what_is_left():
    doc = scene()
    doc.select_object(5, 7)
    doc.paint_stroke([(4, 6), (4, 8)], size=1, class_id=TREE)  # covers the car's left column
    doc.move_selection(10, 0)
    assert (doc.labels == CAR).sum() == 12
    assert (doc.labels[6:9, 15:19] == CAR).all() and (doc.labels[6:9, 14] != CAR).all()
    assert (doc.labels[6:9, 4] == TREE).all()  # the painted column stays where it was painted
    doc = scene()
    doc.select_object(5, 7)
    doc.fill(5, 7, TREE)  # the whole car is repainted
    with pytest.raises(BadInputError, match="no longer exists; select again"):
        doc.move_selection(1, 0)


def test_transform_validation():
    doc = scene()
    doc.select_object(5, 7)
    with pytest.raises(BadInputError, match="scale must be 0.01..100, got 0"):
        doc.scale_selection(0)
    with pytest.raises(BadInputError, match="angle must be a finite number"):
        doc.rotate_selection(float("nan"))
    assert not doc.can_undo


def test_move_event_covers_old_and_new_place_only():
    doc = scene()
    doc.select_object(5, 7)
    boxes = []
    doc.connect(lambda e: boxes.append(e.bbox) if e.layer is Layer.LABELS else None)
    doc.move_selection(5, 0)
    assert len(boxes) == 1
    assert (boxes[0].x0, boxes[0].x1) == (4, 14) and boxes[0].height <= 3


def reference() -> tuple[np.ndarray, np.ndarray]:
    photo = np.full((8, 6, 3), 90, np.uint8)
    labels = np.full((8, 6), SKY, np.uint8)
    labels[1:6, 2:4] = TREE  # a 2×5 tree
    return photo, labels


def test_paste_from_reference_updates_labels_and_records_source():
    doc = scene()
    ref_id = doc.add_reference(*reference(), name="forest.jpg")
    region = doc.select_reference_region(ref_id, 2, 3)
    assert region.class_id == TREE and region.area == 10
    before = doc.labels.copy()
    assert doc.paste_reference(ref_id, region, 14, 2)
    assert (doc.labels[2:7, 14:16] == TREE).all() and (doc.labels == TREE).sum() == 10
    assert len(doc.pastes) == 1
    paste = doc.pastes[0]
    assert paste.reference_id == ref_id and paste.target == (14, 2)
    assert [r.name for r in doc.paste_sources()] == ["forest.jpg"]
    assert doc.edit_mask().sum() == 10
    doc.undo()
    np.testing.assert_array_equal(doc.labels, before)
    assert doc.pastes == () and doc.paste_sources() == []
    doc.redo()
    assert len(doc.pastes) == 1


def test_paste_clips_at_border_and_validates():
    doc = scene()
    ref_id = doc.add_reference(*reference())
    region = doc.select_reference_region(ref_id, 2, 3)
    doc.paste_reference(ref_id, region, 19, 13)  # only a 1×3 corner lands inside
    assert (doc.labels == TREE).sum() == 3
    with pytest.raises(BadInputError, match="entirely outside"):
        doc.paste_reference(ref_id, region, 20, 0)
    with pytest.raises(BadInputError, match="no reference with id 99"):
        doc.paste_reference(99, region, 0, 0)
    with pytest.raises(BadInputError, match="source of 1 paste"):
        doc.remove_reference(ref_id)
    with pytest.raises(BadInputError, match=r"label map is 5×8 but its photo is 6×8"):
        doc.add_reference(np.zeros((8, 6, 3), np.uint8), np.zeros((8, 5), np.uint8))


def test_reference_add_remove_is_undoable():
    doc = scene()
    ref_id = doc.add_reference(*reference(), name="a")
    doc.remove_reference(ref_id)
    assert doc.references == ()
    doc.undo()
    assert [r.id for r in doc.references] == [ref_id]
    doc.undo()
    assert doc.references == ()
    assert doc.add_reference(*reference()) != ref_id  # ids are never reused


def test_moves_are_recorded_composed_undone_and_dropped_on_delete():
    doc = scene()
    assert doc.moves == ()
    doc.select_object(5, 7)
    doc.move_selection(6, 0)
    assert len(doc.moves) == 1
    np.testing.assert_allclose(doc.moves[0].matrix, [[1, 0, 6], [0, 1, 0]])
    # the car, moved again where it now is, composes into one move
    doc.select_object(11, 7)
    doc.move_selection(0, 2)
    assert len(doc.moves) == 1
    np.testing.assert_allclose(doc.moves[0].matrix, [[1, 0, 6], [0, 1, 2]])
    assert doc.moves[0].source.sum() == 15          # the photo's own car pixels
    doc.undo()
    np.testing.assert_allclose(doc.moves[0].matrix, [[1, 0, 6], [0, 1, 0]])
    doc.redo()
    doc.select_object(11, 9)
    doc.delete_selection()
    assert doc.moves == ()                          # deleted: nothing of it to carry


def test_moving_painted_pixels_records_no_move():
    doc = scene()
    doc.paint_stroke([(15, 3)], size=1, class_id=CAR)   # not the photo's car
    doc.select_object(15, 3)
    doc.move_selection(2, 0)
    assert doc.moves == ()
