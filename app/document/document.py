"""``EditDocument``: the Qt-free edit state of one photo and every operation on it.

Each public operation validates its inputs, is one undo step, bumps the revision and notifies
listeners with the changed boxes. Brush drags are ``begin_stroke`` / ``stroke_to`` /
``end_stroke``: the labels change (and listeners hear of each segment's box) as the pointer
moves, and the whole drag becomes one undo step at ``end_stroke``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import numpy as np

from app.document.core import DocumentCore, LabelMap, RegionMap, RGBImage
from app.document.events import BBox, Layer
from app.document.objects import (
    ObjectSelection,
    check_point,
    connected_region,
    object_transform,
    relocate_object,
    select_component,
)
from app.document.references import Reference, make_paste, pasted_labels
from app.document.strokes import (
    StrokeRecorder,
    StrokeTool,
    segment_footprint,
    validate_brush_size,
    validate_point,
)
from inference.errors import BadInputError
from inference.labels import NUM_CLASSES


def check_class(class_id: int) -> int:
    if isinstance(class_id, bool) or not isinstance(class_id, (int, np.integer)) \
            or not 0 <= class_id <= NUM_CLASSES:
        raise BadInputError(f"class id must be an integer 0..{NUM_CLASSES}, got {class_id!r}")
    return int(class_id)


class EditDocument(DocumentCore):
    """Photo, original and edited labels, user mask, regions, references, result, history.

    Construct with ``EditDocument(photo, labels)``; ``labels=None`` starts from an empty (all 0)
    layout. Arrays are copied in; the properties return read-only views, so every change goes
    through the operations below.
    """

    _stroke: StrokeRecorder | None = None

    # ----------------------------------------------------------------- queries
    def pick_class(self, x: int, y: int) -> int:
        """Class of the edited labels at pixel ``(x, y)``."""
        x, y = check_point(x, y, self.shape)
        return int(self._labels[y, x])

    # ----------------------------------------------------------------- brush strokes
    @property
    def stroke_active(self) -> bool:
        return self._stroke is not None

    def begin_stroke(self, x: float, y: float, *, size: float,
                     tool: StrokeTool | str = StrokeTool.PAINT,
                     class_id: int | None = None) -> None:
        """Start a drag at ``(x, y)`` and apply the brush there.

        ``tool`` paints ``class_id`` (required for ``paint``), erases back to the original
        labels, or adds to / removes from the user mask.
        """
        self._finish_pending()
        try:
            tool = StrokeTool(tool)
        except ValueError:
            choices = ", ".join(t.value for t in StrokeTool)
            raise BadInputError(f"unknown brush tool {tool!r} (choose {choices})") from None
        size = validate_brush_size(size)
        if tool is StrokeTool.PAINT:
            if class_id is None:
                raise BadInputError("a paint stroke needs a class id")
            class_id = check_class(class_id)
        point = validate_point(x, y, "stroke start")
        self._stroke = StrokeRecorder(tool, size, class_id or 0, point)
        self._stroke_segment(point, point)

    def stroke_to(self, x: float, y: float) -> BBox | None:
        """Extend the drag to ``(x, y)``; returns the box that changed (``None`` if nothing)."""
        if self._stroke is None:
            raise BadInputError("stroke_to called without begin_stroke")
        point = validate_point(x, y, "stroke point")
        start, self._stroke.last_point = self._stroke.last_point, point
        return self._stroke_segment(start, point)

    def _stroke_segment(self, p0: tuple[float, float], p1: tuple[float, float]) -> BBox | None:
        stroke = self._stroke
        if stroke is None:
            return None
        footprint = segment_footprint(p0, p1, stroke.size, self.shape)
        if footprint is None:
            return None
        box, mask = footprint
        target = self._array(stroke.tool.layer)[box.slices]
        if stroke.tool is StrokeTool.PAINT:
            new = np.uint8(stroke.class_id)
        elif stroke.tool is StrokeTool.ERASE:
            new = self._original[box.slices][mask]
        else:
            new = stroke.tool is StrokeTool.MASK_ADD
        old = target[mask]
        if np.array_equal(old, np.broadcast_to(new, old.shape)):
            return None
        stroke.record(box, mask, old.copy())
        target[mask] = new
        self._revision += 1
        self._emit(stroke.tool.layer, box)
        return box

    def end_stroke(self) -> bool:
        """Finish the drag: one undo step. Returns ``False`` when it changed nothing."""
        stroke, self._stroke = self._stroke, None
        if stroke is None:
            return False
        delta = stroke.delta(self._array(stroke.tool.layer))
        if delta is None:
            return False
        # The pixels already changed (and events went out) segment by segment.
        return self._commit(stroke.tool.step_name, applied=[delta])

    def cancel_stroke(self) -> None:
        """Abandon the drag and restore what it painted over (no undo step)."""
        stroke, self._stroke = self._stroke, None
        if stroke is None:
            return
        box = stroke.restore(self._array(stroke.tool.layer))
        if box is not None:
            self._revision += 1
            self._emit(stroke.tool.layer, box)

    def _finish_pending(self) -> None:
        if self._stroke is not None:
            self.end_stroke()

    def paint_stroke(self, points: Iterable[tuple[float, float]], *, size: float,
                     tool: StrokeTool | str = StrokeTool.PAINT,
                     class_id: int | None = None) -> bool:
        """A whole drag through ``points`` in one call (scripts, tests)."""
        pts = list(points)
        if not pts:
            raise BadInputError("a stroke needs at least one point")
        self.begin_stroke(*pts[0], size=size, tool=tool, class_id=class_id)
        for p in pts[1:]:
            self.stroke_to(*p)
        return self.end_stroke()

    # ----------------------------------------------------------------- fills
    def fill(self, x: int, y: int, class_id: int) -> bool:
        """Set the 4-connected region of equal edited labels under ``(x, y)`` to ``class_id``."""
        class_id = check_class(class_id)
        self._finish_pending()
        box, mask = connected_region(self._labels, x, y)
        return self._fill_mask("Fill", box, mask, class_id)

    def fill_region(self, x: int, y: int, class_id: int) -> bool:
        """Set the automatic region (see :meth:`set_regions`) under ``(x, y)`` to ``class_id``."""
        class_id = check_class(class_id)
        x, y = check_point(x, y, self.shape)
        if self._regions is None:
            raise BadInputError("the document has no automatic regions; compute them first")
        self._finish_pending()
        region = self._regions == self._regions[y, x]
        box = BBox.of_mask(region) or BBox(x, y, x + 1, y + 1)  # never empty: holds (x, y)
        return self._fill_mask("Fill region", box, region[box.slices], class_id)

    def _fill_mask(self, name: str, box: BBox, mask: np.ndarray, class_id: int) -> bool:
        new = self._labels[box.slices].copy()
        new[mask] = class_id
        return self._commit(name, [(Layer.LABELS, box, new)])

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
        return self._commit(name, [(Layer.LABELS, box, new_labels[box.slices])],
                            state={"selection": new_sel})

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
        """Replace the original and/or edited labels (e.g. after parsing); undoable."""
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
                            state={"pastes": (), "selection": None})

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
        ], state={"pastes": (), "result": None, "selection": None})
