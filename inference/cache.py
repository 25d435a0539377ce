"""What depends only on a photo and its own layout, computed once and reused across edits.

An editor is used in a loop: paint, generate, look, paint again -- the photo, its layout and the
references stay the same while the edited layout changes. The source side of an edit (the layout
features of the whole photo and of each reference, every source resampled to each pyramid level
with its colour and feature maps) depends only on those, so :class:`SourceCache` keeps it between
generates. Entries are keyed by *content* (a hash of the arrays they were made from, plus every
setting that shaped them), so a changed photo, layout or reference can never hit a stale entry:
it simply misses, and old entries age out (least recently used first) past a byte budget.

One cache serves one engine session (the GUI holds one; the command line one per run). It is not
thread-safe: the engine runs one edit at a time.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import fields, is_dataclass
from typing import TypeVar

import numpy as np
import torch

T = TypeVar("T")
DEFAULT_BUDGET = 1 << 30          # bytes of cached tensors and arrays


def fingerprint(*arrays: np.ndarray) -> str:
    """A content hash of ``arrays`` (shape, dtype and bytes): equal only for equal contents."""
    h = hashlib.blake2b(digest_size=16)
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.shape}{a.dtype.str}".encode())
        h.update(memoryview(a).cast("B"))
    return h.hexdigest()


def nbytes(value: object) -> int:
    """Bytes held by ``value``'s tensors and arrays (dataclasses, tuples and lists are walked)."""
    if isinstance(value, torch.Tensor):
        return value.element_size() * value.nelement()
    if isinstance(value, np.ndarray):
        return value.nbytes
    if is_dataclass(value) and not isinstance(value, type):
        return sum(nbytes(getattr(value, f.name)) for f in fields(value))
    if isinstance(value, (tuple, list)):
        return sum(nbytes(v) for v in value)
    return 0


class SourceCache:
    """Least-recently-used results keyed by content, within ``budget`` bytes.

    Cached values are shared between edits: callers must not modify them in place.
    """

    def __init__(self, budget: int = DEFAULT_BUDGET) -> None:
        self.budget = int(budget)
        self._items: OrderedDict[Hashable, tuple[object, int]] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, make: Callable[[], T]) -> T:
        """The value for ``key``, made by ``make()`` (and kept) the first time."""
        item = self._items.get(key)
        if item is not None:
            self._items.move_to_end(key)
            self.hits += 1
            return item[0]  # type: ignore[return-value]
        self.misses += 1
        value = make()
        size = nbytes(value)
        if size <= self.budget:
            self._items[key] = (value, size)
            self._bytes += size
            while self._bytes > self.budget:
                _, (_, old) = self._items.popitem(last=False)
                self._bytes -= old
        return value

    def clear(self) -> None:
        self._items.clear()
        self._bytes = 0

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)
