"""The state of an edit document and the machinery every operation shares.

:class:`DocumentCore` owns the layers, the history, the revision counter and the listeners;
:class:`app.document.document.EditDocument` adds the editing operations on top. Every change goes
through :meth:`DocumentCore._commit` (one undo step, one revision bump, events with the changed
boxes), so no operation can forget its undo record or its repaint.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from app.document.events import BBox, DocumentEvent, EventEmitter, Layer, Listener
from app.document.history import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_STEPS,
    ArrayDelta,
    History,
    HistoryStep,
    StateChange,
)
from app.document.objects import MovedObject, ObjectSelection
from app.document.references import Reference, ReferencePaste, readonly_copy, validate_photo
from inference.arrays import LabelMap, Mask, RegionMap, RGBImage
from inference.errors import BadInputError, ImageError, LabelMapError
from inference.labels import validate_label_values

if TYPE_CHECKING:  # the engine imports torch: the document must load without it
    from inference.pipeline.editor import EditResult

_STATE_LAYERS = {"references": Layer.REFERENCES, "pastes": Layer.PASTES,
                 "selection": Layer.SELECTION, "result": Layer.RESULT, "moves": Layer.MOVES}


@dataclass(frozen=True, eq=False)
class ResultRecord:
    """The last engine result and the document revision it was made from.

    ``image`` (``RGBImage``, read-only) is what Apply makes the photo and projects save. ``edit``
    is the engine's whole result it belongs to (``edit.image is image``): the warp, the mask, the
    correspondence and each source's geometry. It is ``None`` when only the image exists (a
    result loaded from a project, which stores the image alone).
    """

    image: np.ndarray
    revision: int
    edit: EditResult | None = None

    @property
    def warped(self) -> np.ndarray | None:
        """The Eq. 7 composite (``RGBImage``) behind the result, when the engine's result is
        known."""
        return None if self.edit is None else self.edit.warped


def _readonly(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.flags.writeable = False
    return view


class DocumentCore:
    """Layers, history, revision and events; no editing operations (see ``EditDocument``)."""

    def __init__(self, photo: RGBImage, labels: LabelMap | None = None, *,
                 edited_labels: LabelMap | None = None, user_mask: Mask | None = None,
                 regions: RegionMap | None = None, max_history_steps: int = DEFAULT_MAX_STEPS,
                 max_history_bytes: int = DEFAULT_MAX_BYTES) -> None:
        validate_photo(photo)
        shape = photo.shape[:2]
        self._photo = np.array(photo, copy=True)
        self._original = self._checked_labels(labels, "labels") if labels is not None \
            else np.zeros(shape, dtype=np.uint8)
        self._labels = self._checked_labels(edited_labels, "edited labels") \
            if edited_labels is not None else self._original.copy()
        self._user_mask = self._checked_mask(user_mask) if user_mask is not None \
            else np.zeros(shape, dtype=bool)
        self._regions: RegionMap | None = None
        if regions is not None:
            self._regions = self._checked_regions(regions)
        self._references: tuple[Reference, ...] = ()
        self._pastes: tuple[ReferencePaste, ...] = ()
        self._selection: ObjectSelection | None = None
        self._moves: tuple[MovedObject, ...] = ()    # objects the move tools carried
        self._result: ResultRecord | None = None
        self._next_reference_id = 1
        self._revision = 0
        self._history = History(max_history_steps, max_history_bytes)
        self._saved_top: HistoryStep | None = None
        self._dirty_outside_history = False
        self._events = EventEmitter()
        self.metadata: dict[str, Any] = {}  # free-form, JSON-serialisable; saved in projects

    # ----------------------------------------------------------------- validation helpers
    def _check_shape(self, array: np.ndarray, what: str) -> None:
        h, w = self._photo.shape[:2]
        if array.shape[:2] != (h, w):
            raise LabelMapError(
                f"{what} is {array.shape[1]}×{array.shape[0]} but the photo is {w}×{h}")

    def _checked_labels(self, labels: np.ndarray, what: str) -> LabelMap:
        validate_label_values(labels)
        self._check_shape(labels, what)
        return np.array(labels, copy=True)

    def _checked_mask(self, mask: np.ndarray) -> Mask:
        if not isinstance(mask, np.ndarray) or mask.ndim != 2:
            raise ImageError(f"user mask must be a 2-D array, got {getattr(mask, 'shape', mask)}")
        if mask.dtype != np.bool_:
            raise ImageError(f"user mask must be bool, got {mask.dtype}")
        self._check_shape(mask, "user mask")
        return np.array(mask, copy=True)

    def _checked_regions(self, regions: np.ndarray) -> RegionMap:
        if not isinstance(regions, np.ndarray) or regions.ndim != 2:
            raise BadInputError(
                f"region map must be a 2-D array, got {getattr(regions, 'shape', regions)}")
        if not np.issubdtype(regions.dtype, np.integer):
            raise BadInputError(f"region map must hold integer ids, got {regions.dtype}")
        self._check_shape(regions, "region map")
        if regions.size and (int(regions.min()) < 0 or int(regions.max()) > np.iinfo(np.int32).max):
            raise BadInputError(
                f"region ids must be 0..{np.iinfo(np.int32).max}, got "
                f"{int(regions.min())}..{int(regions.max())}")
        return regions.astype(np.int32, copy=True)

    # ----------------------------------------------------------------- read-only state
    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)`` of the photo and every layer."""
        return int(self._photo.shape[0]), int(self._photo.shape[1])

    @property
    def photo(self) -> RGBImage:
        return _readonly(self._photo)

    @property
    def original_labels(self) -> LabelMap:
        return _readonly(self._original)

    @property
    def labels(self) -> LabelMap:
        """The edited labels."""
        return _readonly(self._labels)

    @property
    def user_mask(self) -> Mask:
        return _readonly(self._user_mask)

    @property
    def regions(self) -> RegionMap | None:
        return None if self._regions is None else _readonly(self._regions)

    @property
    def references(self) -> tuple[Reference, ...]:
        return self._references

    @property
    def pastes(self) -> tuple[ReferencePaste, ...]:
        return self._pastes

    @property
    def moves(self) -> tuple[MovedObject, ...]:
        """Objects the move tools carried: the engine resamples their pixels exactly."""
        return self._moves

    @property
    def selection(self) -> ObjectSelection | None:
        return self._selection

    @property
    def last_result(self) -> ResultRecord | None:
        return self._result

    @property
    def revision(self) -> int:
        """Bumped by every change of the engine's inputs (edits, undo, redo); never decreases."""
        return self._revision

    @property
    def next_reference_id(self) -> int:
        """The id :meth:`add_reference` gives next (ids are never reused)."""
        return self._next_reference_id

    @property
    def history(self) -> History:
        return self._history

    def edit_mask(self) -> Mask:
        """What the engine must re-synthesise: ``(edited != original) | user mask``."""
        return (self._labels != self._original) | self._user_mask

    def reference(self, reference_id: int) -> Reference:
        for ref in self._references:
            if ref.id == reference_id:
                return ref
        known = [r.id for r in self._references]
        raise BadInputError(f"no reference with id {reference_id!r} (known ids: {known})")

    # ----------------------------------------------------------------- result
    def set_result(self, result: RGBImage | EditResult, revision: int) -> bool:
        """Store an engine result made from document ``revision``: the engine's ``EditResult``,
        or its image alone (``RGBImage``). The document keeps a read-only copy of the image
        and takes the ``EditResult`` over (its arrays are made read-only, not copied).

        Returns ``False`` (and keeps the stored one) when a result from a newer revision is
        already stored, so a slow, stale job cannot overwrite a fresh result.
        """
        edit = None if isinstance(result, np.ndarray) else result
        image = result if edit is None else edit.image
        validate_photo(image, "result")
        self._check_shape(image, "result")
        if edit is not None:
            validate_photo(edit.warped, "warped result")
            self._check_shape(edit.warped, "warped result")
        if isinstance(revision, bool) or not isinstance(revision, (int, np.integer)) \
                or not 0 <= revision <= self._revision:
            raise BadInputError(
                f"result revision must be 0..{self._revision} (the current revision), "
                f"got {revision!r}")
        if self._result is not None and self._result.revision > revision:
            return False
        image = readonly_copy(image)
        if edit is not None:
            edit = dataclasses.replace(edit, image=image, warped=_readonly(edit.warped),
                                       mask=_readonly(edit.mask))
        self._result = ResultRecord(image, int(revision), edit)
        self._emit(Layer.RESULT, None)
        return True

    @property
    def result_is_current(self) -> bool:
        """True when a result exists and was made from the current revision."""
        return self._result is not None and self._result.revision == self._revision

    # ----------------------------------------------------------------- events
    def connect(self, listener: Listener) -> None:
        """Call ``listener(DocumentEvent)`` after every change."""
        self._events.connect(listener)

    def disconnect(self, listener: Listener) -> None:
        self._events.disconnect(listener)

    def _emit(self, layer: Layer, bbox: BBox | None) -> None:
        self._events.emit(DocumentEvent(layer, bbox, self._revision))

    # ----------------------------------------------------------------- saved state
    @property
    def is_modified(self) -> bool:
        """Changed since :meth:`mark_saved` (undoing back to the saved step reads unmodified)."""
        return self._history.top is not self._saved_top or self._dirty_outside_history

    def mark_saved(self) -> None:
        self._saved_top = self._history.top
        self._dirty_outside_history = False

    def _restore_state(self, *, references: tuple[Reference, ...],
                       pastes: tuple[ReferencePaste, ...], result: ResultRecord | None,
                       revision: int, next_reference_id: int, metadata: dict[str, Any]) -> None:
        """Set the non-pixel state of a freshly built document (project loading only)."""
        self._references, self._pastes, self._result = references, pastes, result
        self._revision = revision
        self._next_reference_id = max(next_reference_id, *(r.id + 1 for r in references), 1)
        self.metadata = dict(metadata)
        self._history.clear()
        self.mark_saved()

    # ----------------------------------------------------------------- commit / undo / redo
    def _array(self, layer: Layer) -> np.ndarray:
        arrays = {Layer.PHOTO: self._photo, Layer.ORIGINAL_LABELS: self._original,
                  Layer.LABELS: self._labels, Layer.USER_MASK: self._user_mask}
        return arrays[layer]

    def _commit(self, name: str, writes: Iterable[tuple[Layer, BBox, np.ndarray]] = (),
                state: dict[str, Any] | None = None,
                applied: Iterable[ArrayDelta] = ()) -> bool:
        """Write new crops (``(layer, box, values)``) and state, record one undo step.

        ``applied`` are deltas already written, counted and announced (a finished brush drag).
        Returns ``False``, recording nothing, when nothing changed.
        """
        applied = list(applied)
        recorded = list(applied)
        for layer, box, values in writes:
            target = self._array(layer)[box.slices]
            delta = ArrayDelta.between(layer, target, values, (box.x0, box.y0))
            if delta is not None:
                target[...] = values
                recorded.append(delta)
        changes = []
        for key, new in (state or {}).items():
            old = getattr(self, "_" + key)
            if old is not new:
                changes.append(StateChange(key, old, new, _state_nbytes(old)))
                setattr(self, "_" + key, new)
        step = HistoryStep(name, tuple(recorded), tuple(changes))
        if step.is_empty:
            return False
        self._history.push(step)
        self._after_step(step, skip=len(applied))
        return True

    def _after_step(self, step: HistoryStep, skip: int = 0) -> None:
        if len(step.deltas) > skip or step.state_changes:
            self._revision += 1
        for delta in step.deltas[skip:]:
            self._emit(delta.layer, delta.bbox)
        for change in step.state_changes:
            self._emit(_STATE_LAYERS[change.name], None)
        self._emit(Layer.HISTORY, None)

    def _finish_pending(self) -> None:
        """Hook: end an unfinished brush drag before another change (see ``EditDocument``)."""

    @property
    def can_undo(self) -> bool:
        return self._history.can_undo

    @property
    def can_redo(self) -> bool:
        return self._history.can_redo

    def undo(self) -> str:
        """Revert the newest step; returns its name. Raises when there is nothing to undo."""
        self._finish_pending()
        step = self._history.pop_undo()
        for delta in reversed(step.deltas):
            delta.apply(self._array(delta.layer), forward=False)
        for change in reversed(step.state_changes):
            setattr(self, "_" + change.name, change.old)
        self._after_step(step)
        return step.name

    def redo(self) -> str:
        """Re-apply the newest undone step; returns its name."""
        self._finish_pending()
        step = self._history.pop_redo()
        for delta in step.deltas:
            delta.apply(self._array(delta.layer), forward=True)
        for change in step.state_changes:
            setattr(self, "_" + change.name, change.new)
        self._after_step(step)
        return step.name


def _state_nbytes(value: Any) -> int:
    """Bytes a replaced state value keeps alive only through the history."""
    if isinstance(value, ResultRecord):
        edit = value.edit
        if edit is None:
            return value.image.nbytes
        corr = edit.correspondence
        tensors = () if corr is None else (corr.keys, corr.weights, corr.source_coords)
        return value.image.nbytes + edit.warped.nbytes + edit.mask.nbytes \
            + sum(t.nbytes for t in tensors)
    if isinstance(value, ObjectSelection):
        return value.mask.nbytes
    if isinstance(value, MovedObject):
        return value.source.nbytes
    if isinstance(value, tuple):
        return sum(_state_nbytes(v) for v in value)
    if isinstance(value, ReferencePaste):
        return value.mask.nbytes
    return 0
