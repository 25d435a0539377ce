"""Labelling the photo vs editing its layout (issue 12, item 1), on the Qt-free document.

Naming automatic regions, painting from empty, importing or parsing describe the photo as it
is: they write the photo's layout (original labels) and must never count as edits.
"""

from __future__ import annotations

import numpy as np
import pytest

from app.document import EditDocument, LayoutTarget, StrokeTool
from inference.errors import BadInputError

SKY, TREE, GRASS, FLAG = 3, 5, 10, 44


def blank_document(h: int = 30, w: int = 40) -> EditDocument:
    photo = np.zeros((h, w, 3), np.uint8)
    photo[:, :, 2] = 200  # a blue "sky"
    photo[10:20, 10:20] = (220, 30, 30)  # a red "kite" inside it
    regions = np.ones((h, w), np.int32)
    regions[h // 2:] = 2
    doc = EditDocument(photo)
    doc.set_regions(regions)
    return doc


def test_naming_regions_sets_the_photo_layout_not_an_edit():
    doc = blank_document()
    assert doc.fill_region(5, 5, SKY, target=LayoutTarget.PHOTO)
    assert (doc.original_labels[:15] == SKY).all() and (doc.labels[:15] == SKY).all()
    assert not doc.edit_mask().any()
    assert doc.history.undo_name == "Label region"
    doc.undo()
    assert not doc.original_labels.any() and not doc.labels.any()
    # the same click as an edit (the old behaviour of the offline start) is an edit everywhere
    assert doc.fill_region(5, 5, SKY)
    assert doc.edit_mask()[:15].all()


def test_label_brush_writes_both_layouts_as_one_step_and_cancels_cleanly():
    doc = blank_document()
    doc.paint_stroke([(5, 5), (25, 5)], size=3, tool=StrokeTool.LABEL, class_id=TREE)
    assert (doc.original_labels[5, 5:26] == TREE).all()
    assert (doc.labels[5, 5:26] == TREE).all()
    assert not doc.edit_mask().any()
    assert doc.history.undo_steps == 1 and doc.history.undo_name == "Label the photo"
    doc.undo()
    assert not doc.original_labels.any() and not doc.labels.any()
    doc.begin_stroke(5, 25, size=5, tool=StrokeTool.LABEL, class_id=GRASS)
    doc.stroke_to(20, 25)
    doc.cancel_stroke()
    assert not doc.original_labels.any() and not doc.labels.any()
    assert doc.history.undo_steps == 0
    doc.paint_stroke([(5, 5)], size=3, tool=StrokeTool.LABEL, class_id=TREE)
    doc.paint_stroke([(5, 5)], size=3, tool=StrokeTool.UNLABEL)
    assert not doc.original_labels.any() and not doc.edit_mask().any()


def test_labelling_keeps_existing_edits():
    doc = blank_document()
    doc.fill_region(5, 5, SKY, target=LayoutTarget.PHOTO)
    doc.paint_stroke([(20, 5)], size=3, class_id=TREE)  # an edit: a tree in the sky
    edited = doc.edit_mask()
    assert edited.any()
    doc.fill(2, 2, GRASS, target=LayoutTarget.PHOTO)  # relabel the sky of the photo
    assert (doc.original_labels[:15] == GRASS).all()
    assert doc.labels[5, 20] == TREE  # the edit survives
    np.testing.assert_array_equal(doc.edit_mask(), edited)


def test_fill_drag_names_every_region_it_crosses_in_one_step():
    doc = blank_document()
    doc.begin_fill(5, 5, SKY, target=LayoutTarget.PHOTO, by_region=True)
    doc.fill_to(6, 5)  # same region: nothing new
    doc.fill_to(5, 25)
    doc.fill_to(500, 500)  # off the image: ignored
    assert doc.end_stroke()
    assert (doc.original_labels == SKY).all() and not doc.edit_mask().any()
    assert doc.history.undo_steps == 1
    doc.undo()
    assert not doc.original_labels.any()


def test_fill_tolerance_splits_a_region_by_colour():
    doc = blank_document()
    assert doc.fill_region(15, 12, FLAG, target=LayoutTarget.PHOTO, tolerance=40)
    flag = doc.original_labels == FLAG
    assert flag[10:15, 10:20].all() and flag.sum() == 50  # the red part of region 1 only
    assert doc.fill(2, 2, SKY, target=LayoutTarget.PHOTO, tolerance=40)
    assert (doc.original_labels[:10] == SKY).all() and doc.original_labels[12, 12] == FLAG
    with pytest.raises(BadInputError, match="tolerance"):
        doc.fill(2, 2, SKY, tolerance=-1)


def test_set_photo_layout_and_adopt_edited_layout():
    doc = blank_document()
    parsed = np.full(doc.shape, SKY, np.uint8)
    doc.paint_stroke([(20, 20)], size=3, class_id=TREE)
    edit = doc.edit_mask()
    assert doc.set_photo_layout(parsed)
    np.testing.assert_array_equal(doc.original_labels, parsed)
    assert doc.labels[20, 20] == TREE and doc.labels[0, 0] == SKY
    np.testing.assert_array_equal(doc.edit_mask(), edit)
    assert doc.adopt_edited_layout()
    assert not doc.edit_mask().any() and doc.original_labels[20, 20] == TREE
    assert doc.history.undo_name == "Use as the photo's layout"
    doc.undo()
    np.testing.assert_array_equal(doc.edit_mask(), edit)
    assert doc.pick_class(20, 20) == TREE
    assert doc.pick_class(20, 20, target=LayoutTarget.PHOTO) == SKY
