"""Bounded undo/redo of deltas.

A step never stores a whole layer: an :class:`ArrayDelta` keeps the tight box of the pixels that
changed, the changed-pixel mask inside it (bit-packed) and the old and new values of just those
pixels. A stroke on a 4000×3000 map therefore costs kilobytes. Non-pixel state (the reference
list, the pastes, the selection) is recorded as :class:`StateChange` pairs of immutable values.

The stack is bounded both by a number of steps and by bytes; the oldest steps go first. The
newest step is always kept, even when it alone is over the byte budget, so the last action can
always be undone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.document.events import BBox, Layer
from inference.errors import BadInputError

DEFAULT_MAX_STEPS = 200
DEFAULT_MAX_BYTES = 512 * 1024 * 1024
_STEP_OVERHEAD = 256  # bytes counted per step and per delta for the Python objects themselves


@dataclass(frozen=True, eq=False)
class ArrayDelta:
    """Changed pixels of one layer: ``bbox``, bit-packed mask, old and new values.

    ``old`` and ``new`` are ``(N,)`` (labels, mask) or ``(N, C)`` (photo) arrays, in the
    row-major order of the mask's True pixels.
    """

    layer: Layer
    bbox: BBox
    mask_bits: np.ndarray  # uint8, np.packbits of the (height, width) changed-pixel mask
    old: np.ndarray
    new: np.ndarray

    @staticmethod
    def between(layer: Layer, before: np.ndarray, after: np.ndarray,
                origin: tuple[int, int] = (0, 0)) -> ArrayDelta | None:
        """Delta from ``before`` to ``after`` (same-shape crops whose top-left is ``origin``
        ``(x, y)`` in the layer), or ``None`` when nothing changed."""
        if before.shape != after.shape:
            raise BadInputError(f"delta crops differ in shape: {before.shape} vs {after.shape}")
        changed = before != after
        if changed.ndim == 3:
            changed = changed.any(axis=2)
        box = BBox.of_mask(changed)
        if box is None:
            return None
        mask = changed[box.slices]
        ox, oy = origin
        return ArrayDelta(
            layer=layer,
            bbox=box.shift(ox, oy),
            mask_bits=np.packbits(mask, axis=None),
            old=before[box.slices][mask].copy(),
            new=after[box.slices][mask].copy(),
        )

    @property
    def mask(self) -> np.ndarray:
        """The ``(height, width)`` bool changed-pixel mask inside :attr:`bbox`."""
        count = self.bbox.height * self.bbox.width
        bits = np.unpackbits(self.mask_bits, count=count, axis=None)
        return bits.reshape(self.bbox.height, self.bbox.width).astype(bool)

    @property
    def nbytes(self) -> int:
        return self.mask_bits.nbytes + self.old.nbytes + self.new.nbytes + _STEP_OVERHEAD

    def apply(self, array: np.ndarray, forward: bool) -> None:
        """Write the new (``forward``) or old values into ``array`` in place."""
        array[self.bbox.slices][self.mask] = self.new if forward else self.old


@dataclass(frozen=True)
class StateChange:
    """A document attribute set from ``old`` to ``new`` (immutable values only).

    ``nbytes`` is the caller's estimate of what the two values hold beyond what the document
    already keeps (e.g. a replaced result image).
    """

    name: str
    old: Any
    new: Any
    nbytes: int = 0


@dataclass(frozen=True, eq=False)
class HistoryStep:
    """One undoable action: its display ``name``, pixel deltas, and state changes."""

    name: str
    deltas: tuple[ArrayDelta, ...] = ()
    state_changes: tuple[StateChange, ...] = ()

    @property
    def nbytes(self) -> int:
        return (_STEP_OVERHEAD + sum(d.nbytes for d in self.deltas)
                + sum(s.nbytes + _STEP_OVERHEAD for s in self.state_changes))

    @property
    def is_empty(self) -> bool:
        return not self.deltas and not self.state_changes

    @property
    def layers(self) -> tuple[Layer, ...]:
        return tuple(dict.fromkeys(d.layer for d in self.deltas))


@dataclass
class History:
    """Undo and redo stacks of :class:`HistoryStep`, bounded by ``max_steps`` and ``max_bytes``."""

    max_steps: int = DEFAULT_MAX_STEPS
    max_bytes: int = DEFAULT_MAX_BYTES
    _undo: list[HistoryStep] = field(default_factory=list, repr=False)
    _redo: list[HistoryStep] = field(default_factory=list, repr=False)
    _undo_bytes: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.max_steps, int) or self.max_steps < 1:
            raise BadInputError(
                f"history max_steps must be an integer >= 1, got {self.max_steps!r}")
        if not isinstance(self.max_bytes, int) or self.max_bytes < 1:
            raise BadInputError(
                f"history max_bytes must be an integer >= 1, got {self.max_bytes!r}")

    def push(self, step: HistoryStep) -> None:
        """Record a new step; clears the redo stack and drops the oldest steps over the bounds."""
        self._undo.append(step)
        self._undo_bytes += step.nbytes
        self._redo.clear()
        self._trim()

    def _trim(self) -> None:
        while len(self._undo) > 1 and (len(self._undo) > self.max_steps
                                        or self._undo_bytes > self.max_bytes):
            dropped = self._undo.pop(0)
            self._undo_bytes -= dropped.nbytes

    def pop_undo(self) -> HistoryStep:
        """Take the newest step off the undo stack onto the redo stack (caller reverts it)."""
        if not self._undo:
            raise BadInputError("nothing to undo")
        step = self._undo.pop()
        self._undo_bytes -= step.nbytes
        self._redo.append(step)
        return step

    def pop_redo(self) -> HistoryStep:
        """Take the newest undone step back onto the undo stack (caller re-applies it)."""
        if not self._redo:
            raise BadInputError("nothing to redo")
        step = self._redo.pop()
        self._undo.append(step)
        self._undo_bytes += step.nbytes
        self._trim()
        return step

    def clear(self) -> None:
        self._undo.clear()
        self._redo.clear()
        self._undo_bytes = 0

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_name(self) -> str | None:
        return self._undo[-1].name if self._undo else None

    @property
    def redo_name(self) -> str | None:
        return self._redo[-1].name if self._redo else None

    @property
    def top(self) -> HistoryStep | None:
        """The step the document's current state ends with (identity marks "saved")."""
        return self._undo[-1] if self._undo else None

    @property
    def undo_steps(self) -> int:
        return len(self._undo)

    @property
    def redo_steps(self) -> int:
        return len(self._redo)

    @property
    def nbytes(self) -> int:
        """Bytes held by both stacks."""
        return self._undo_bytes + sum(s.nbytes for s in self._redo)
