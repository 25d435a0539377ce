"""Progress reporting and cancellation for long-running engine work (no Qt here).

The engine calls ``progress(done, total)`` as it goes and checks ``cancel.raise_if_cancelled()``
between steps; the GUI's worker thread owns the token and sets it from the main thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from inference.errors import CancelledError

ProgressFn = Callable[[int, int], None]


def no_progress(done: int, total: int) -> None:
    """A ``ProgressFn`` that reports nowhere."""


class CancelToken:
    """Thread-safe flag a caller sets to ask a running operation to stop."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise CancelledError("operation cancelled")
