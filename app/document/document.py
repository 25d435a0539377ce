"""``EditDocument``: the Qt-free edit state of one photo and every operation on it.

Each public operation validates its inputs, is one undo step, bumps the revision and notifies
listeners with the changed boxes. Painting (strokes, fills) lives in
:class:`~app.document.painting.PaintingDocument`; this class adds objects, references and
whole-layer operations. Two layouts are kept: the **photo's layout** (original labels: what the
photo shows) and the **edited layout**; only their difference (plus the user mask) is an edit.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from app.document.events import BBox, Layer
from app.document.objects import (
    ObjectSelection,
    object_transform,
    record_move,
    relocate_object,
    select_component,
)
from app.document.painting import PaintingDocument, check_class
from app.document.references import Reference, make_paste, pasted_labels
from app.document.strokes import photo_layout_values
from inference.arrays import LabelMap, RegionMap, RGBImage
from inference.errors import BadInputError


class EditDocument(PaintingDocument):
    """Photo, original and edited labels, user mask, regions, references, result, history.

    Construct with ``EditDocument(photo, labels)``; ``labels=None`` starts from an empty (all 0)
    layout. Arrays are copied in; the properties return read-only views, so every change goes
    through the operations below.
    """

    # ----------------------------------------------------------------- objects
    def select_object(self, x: int, y: int) -> ObjectSelection:
        """Select the connected component of the edited labels under ``(x, y)``."""
        self._finish_pending()
        self._selection = select_component(self._labels, x, y)
        self._emit(Layer.SELECTION, self._selection.bbox)
        return self._selection

    def clear_selection(self) -> None:
        if self._selection is not None:
            self._selection = None
            self._emit(Layer.SELECTION, None)

    def _require_selection(self) -> ObjectSelection:
        if self._selection is None:
            raise BadInputError("no object is selected; select one first")
        return self._selection

    def transform_selection(self, *, dx: float = 0.0, dy: float = 0.0, scale: float = 1.0,
                            angle: float = 0.0, flip_horizontal: bool = False,
                            flip_vertical: bool = False, name: str = "Transform object") -> bool:
        """Flip, scale, rotate (degrees, counter-clockwise) about its centre, then move, the
        selected object. The vacated pixels take the labels of their nearest surroundings."""
        sel = self._require_selection()
        matrix = object_transform(sel, dx=dx, dy=dy, scale=scale, angle=angle,
                                  flip_horizontal=flip_horizontal, flip_vertical=flip_vertical)
        return self._relocate(name, sel, matrix)

    def move_selection(self, dx: int, dy: int) -> bool:
        return self.transform_selection(dx=dx, dy=dy, name="Move object")

    def scale_selection(self, factor: float) -> bool:
        return self.transform_selection(scale=factor, name="Scale object")

    def rotate_selection(self, degrees: float) -> bool:
        return self.transform_selection(angle=degrees, name="Rotate object")

    def flip_selection(self, horizontal: bool = True) -> bool:
        return self.transform_selection(flip_horizontal=horizontal,
                                        flip_vertical=not horizontal, name="Flip object")

    def delete_selection(self) -> bool:
        """Remove the selected object; its pixels take the labels of their surroundings."""
        return self._relocate("Delete object", self._require_selection(), None)

    def _relocate(self, name: str, sel: ObjectSelection, matrix: np.ndarray | None) -> bool:
        self._finish_pending()
        # Edits since the selection was made may have painted over part of the object: only
        # the pixels that still carry its class move.
        still = sel.mask & (self._labels[sel.bbox.slices] == sel.class_id)
        if not still.any():
            raise BadInputError(
                f"the selected object (class {sel.class_id} at {sel.bbox}) no longer exists; "
                f"select again")
        if not np.array_equal(still, sel.mask):
            sel = ObjectSelection(sel.class_id, sel.bbox, still, sel.seed)
        new_labels, new_sel = relocate_object(self._labels, sel, matrix, self._original)
        box = sel.bbox if new_sel is None else sel.bbox.union(new_sel.bbox)
        if np.array_equal(new_labels[box.slices], self._labels[box.slices]):
            # E.g. a square turned by 90°: the layout is the same, so no undo step.
            self._selection = new_sel
            self._emit(Layer.SELECTION, None)
            return False
        moves = record_move(self._moves, sel, matrix, self._original)
        return self._commit(name, [(Layer.LABELS, box, new_labels[box.slices])],
                            state={"selection": new_sel, "moves": moves})

    # ----------------------------------------------------------------- references
    def add_reference(self, photo: RGBImage, labels: LabelMap, name: str = "") -> int:
        """Add a reference photo with its labels (undoable); returns its id."""
        self._finish_pending()
        ref = Reference.create(self._next_reference_id, photo, labels, name)
        self._next_reference_id += 1
        self._commit("Add reference", state={"references": (*self._references, ref)})
        return ref.id

    def remove_reference(self, reference_id: int) -> None:
        """Remove a reference (undoable); refused while a paste still uses it."""
        ref = self.reference(reference_id)
        users = [i for i, p in enumerate(self._pastes) if p.reference_id == reference_id]
        if users:
            raise BadInputError(
                f"reference {reference_id} ({ref.name or 'unnamed'}) is the source of "
                f"{len(users)} paste(s); undo or clear them first")
        self._finish_pending()
        kept = tuple(r for r in self._references if r.id != reference_id)
        self._commit("Remove reference", state={"references": kept})

    def select_reference_region(self, reference_id: int, x: int, y: int) -> ObjectSelection:
        """The connected component of the reference's labels under ``(x, y)`` (its coords)."""
        return select_component(self.reference(reference_id).labels, x, y)

    def name_reference_region(self, reference_id: int, region: np.ndarray,
                              class_id: int) -> bool:
        """Give the pixels ``region`` (bool, the reference's size) of a reference the class
        ``class_id`` (undoable): how an unparsed reference's automatic regions get names."""
        ref = self.reference(reference_id)
        class_id = check_class(class_id)
        if not isinstance(region, np.ndarray) or region.dtype != np.bool_ \
                or region.shape != ref.shape:
            raise BadInputError(
                f"region must be a bool mask of the reference's size {ref.shape}, got "
                f"{getattr(region, 'dtype', type(region).__name__)} "
                f"{getattr(region, 'shape', '')}")
        labels = np.array(ref.labels)
        labels[region] = class_id
        if np.array_equal(labels, ref.labels):
            return False
        self._finish_pending()
        named = Reference.create(ref.id, ref.photo, labels, ref.name)
        refs = tuple(named if r.id == reference_id else r for r in self._references)
        return self._commit("Name reference region", state={"references": refs})

    def paste_reference(self, reference_id: int, region: ObjectSelection, x: int, y: int) -> bool:
        """Paste ``region`` of a reference with its top-left at photo pixel ``(x, y)``.

        The edited labels under the region take the reference's labels and the paste is
        recorded in :attr:`pastes`, so the engine uses the reference as a warp source.
        """
        ref = self.reference(reference_id)
        paste = make_paste(ref, region, (x, y), self.shape)
        self._finish_pending()
        box, mask, ref_labels = pasted_labels(ref, paste, self.shape)
        new = self._labels[box.slices].copy()
        new[mask] = ref_labels[mask]
        return self._commit("Paste from reference", [(Layer.LABELS, box, new)],
                            state={"pastes": (*self._pastes, paste)})

    def paste_sources(self) -> list[Reference]:
        """The references the current pastes use, once each: the engine's extra warp sources."""
        used = dict.fromkeys(p.reference_id for p in self._pastes)
        return [self.reference(rid) for rid in used]

    # ----------------------------------------------------------------- whole layers
    def replace_labels(self, labels: LabelMap,
                       target: Literal["both", "original", "edited"] = "both") -> bool:
        """Replace the original and/or edited labels wholesale; undoable."""
        if target not in ("both", "original", "edited"):
            raise BadInputError(f"target must be 'both', 'original' or 'edited', got {target!r}")
        new = self._checked_labels(labels, "labels")
        self._finish_pending()
        full = BBox.full(self.shape)
        writes = []
        if target in ("both", "original"):
            writes.append((Layer.ORIGINAL_LABELS, full, new))
        if target in ("both", "edited"):
            writes.append((Layer.LABELS, full, new))
        return self._commit("Replace labels", writes)

    def set_photo_layout(self, labels: LabelMap, name: str = "Set the photo's layout") -> bool:
        """Make ``labels`` the photo's own layout (an imported or parsed label map); undoable.

        Not an edit: the edited layout follows wherever it was not edited, so the edit mask
        stays what it was (see :func:`~app.document.strokes.photo_layout_values`).
        """
        new = self._checked_labels(labels, "labels")
        self._finish_pending()
        original, edited = photo_layout_values(self._original, self._labels, new)
        full = BBox.full(self.shape)
        return self._commit(name, [(Layer.ORIGINAL_LABELS, full, original),
                                   (Layer.LABELS, full, edited)])

    def adopt_edited_layout(self) -> bool:
        """"Use as the photo's layout": the edited layout becomes the photo's layout, so what
        was painted as edits counts as labelling. Pastes are dropped (nothing differs any
        more); the user mask stays. Undoable."""
        self._finish_pending()
        full = BBox.full(self.shape)
        return self._commit("Use as the photo's layout",
                            [(Layer.ORIGINAL_LABELS, full, self._labels.copy())],
                            state={"pastes": (), "selection": None, "moves": ()})

    def set_starting_layout(self, labels: LabelMap | None = None,
                            regions: RegionMap | None = None) -> None:
        """The layout (and/or automatic regions) a just-opened photo starts from, computed
        while it was already shown: where its history begins, so no undo step and no unsaved
        change. Both layouts take ``labels``."""
        new = None if labels is None else self._checked_labels(labels, "labels")
        checked = None if regions is None else self._checked_regions(regions)
        self._finish_pending()
        if new is not None:
            self._original[...] = new
            self._labels[...] = new
            self._moves = ()
            self._revision += 1
            self._emit(Layer.ORIGINAL_LABELS, None)
            self._emit(Layer.LABELS, None)
        if checked is not None:
            self._regions = checked
            self._emit(Layer.REGIONS, None)
        self._history.clear()
        self.mark_saved()
        self._emit(Layer.HISTORY, None)

    def set_regions(self, regions: RegionMap | None) -> None:
        """Set (or drop) the automatic over-segmentation used by :meth:`fill_region`.

        Not an edit of the layout: no undo step and no revision bump.
        """
        self._regions = None if regions is None else self._checked_regions(regions)
        self._dirty_outside_history = True
        self._emit(Layer.REGIONS, None)

    def clear_user_mask(self) -> bool:
        self._finish_pending()
        full = BBox.full(self.shape)
        return self._commit("Clear mask", [(Layer.USER_MASK, full, np.zeros(self.shape, bool))])

    def clear_edits(self) -> bool:
        """Edited labels back to the original, user mask and pastes cleared: one undo step."""
        self._finish_pending()
        full = BBox.full(self.shape)
        return self._commit("Clear edits", [(Layer.LABELS, full, self._original.copy()),
                                            (Layer.USER_MASK, full, np.zeros(self.shape, bool))],
                            state={"pastes": (), "selection": None, "moves": ()})

    def apply_result(self) -> bool:
        """Make the current result the new base photo and the edited labels the new original
        labels (user mask and pastes cleared). Undoable. Refused for a missing or stale result."""
        result = self._result
        if result is None:
            raise BadInputError("there is no result to apply; generate one first")
        if result.revision != self._revision:
            raise BadInputError(
                f"the result is stale: it was made from revision {result.revision} but the "
                f"document is at revision {self._revision}; generate again")
        self._finish_pending()
        full = BBox.full(self.shape)
        return self._commit("Apply result", [
            (Layer.PHOTO, full, np.asarray(result.image)),
            (Layer.ORIGINAL_LABELS, full, self._labels.copy()),
            (Layer.USER_MASK, full, np.zeros(self.shape, bool)),
        ], state={"pastes": (), "result": None, "selection": None, "moves": ()})
