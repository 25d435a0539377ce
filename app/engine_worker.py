"""One long-lived inference thread for everything slow: generating, parsing, automatic regions.

The GUI submits a :class:`Job` (a callable taking ``progress`` and a ``CancelToken``); the worker
object lives in its own ``QThread`` and runs jobs one at a time, in order. Signals carry the job id
back, so the caller can drop answers it no longer wants (a stale revision, a superseded job).
The engine never sees Qt: it gets a plain ``progress(done, total)`` function and the token.
"""

from __future__ import annotations

import itertools
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from inference.errors import CancelledError, RelayoutError
from inference.progress import CancelToken, ProgressFn

JobFn = Callable[[ProgressFn, CancelToken], Any]
_ids = itertools.count(1)


@dataclass
class Job:
    """A unit of work: ``kind`` names it for the UI ("generate", "parse", ...)."""

    kind: str
    run: JobFn
    token: CancelToken = field(default_factory=CancelToken)
    id: int = field(default_factory=lambda: next(_ids))
    # What the job is for, as its submitter types it (``GenerateRequest``, ``LayoutRequest``):
    # read back when its answer arrives, e.g. to drop a stale one.
    context: Any = None


class _Runner(QObject):
    """Lives in the worker thread; ``execute`` runs there because the signal is queued."""

    progressed = Signal(int, int, int)  # job id, done, total
    succeeded = Signal(int, object)  # job id, value
    failed = Signal(int, str, bool)  # job id, message, is the user's to fix
    cancelled = Signal(int)
    started = Signal(int)

    @Slot(object)
    def execute(self, job: Job) -> None:
        if job.token.cancelled:
            self.cancelled.emit(job.id)
            return
        self.started.emit(job.id)

        def progress(done: int, total: int) -> None:
            self.progressed.emit(job.id, int(done), int(total))

        try:
            value = job.run(progress, job.token)
        except CancelledError:
            self.cancelled.emit(job.id)
        except RelayoutError as exc:
            self.failed.emit(job.id, str(exc), True)
        except Exception as exc:  # an internal error must reach the user, not kill the thread
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            traceback.print_exc()
            self.failed.emit(job.id, f"internal error: {detail}", False)
        else:
            self.succeeded.emit(job.id, value)


class EngineWorker(QObject):
    """Owns the thread. Public signals are delivered in the GUI thread, with the whole ``Job``."""

    submitted = Signal(object)  # -> _Runner.execute, queued across threads
    jobStarted = Signal(object)
    jobProgress = Signal(object, int, int)
    jobFinished = Signal(object, object)  # job, value
    jobFailed = Signal(object, str, bool)  # job, message, user error
    jobCancelled = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName("relayout-engine")
        self._runner = _Runner()
        self._runner.moveToThread(self._thread)
        self.submitted.connect(self._runner.execute)
        self._runner.started.connect(self._on_started)
        self._runner.progressed.connect(self._on_progress)
        self._runner.succeeded.connect(self._on_success)
        self._runner.failed.connect(self._on_failure)
        self._runner.cancelled.connect(self._on_cancel)
        self._jobs: dict[int, Job] = {}
        self._lock = threading.Lock()
        self._thread.start()

    # ---------------------------------------------------------------- API
    def submit(self, job: Job) -> Job:
        with self._lock:
            self._jobs[job.id] = job
        self.submitted.emit(job)
        return job

    def cancel(self, kind: str | None = None) -> None:
        """Ask every pending or running job (of ``kind``, if given) to stop."""
        for job in self.pending(kind):
            job.token.cancel()

    def pending(self, kind: str | None = None) -> list[Job]:
        with self._lock:
            return [j for j in self._jobs.values() if kind is None or j.kind == kind]

    @property
    def busy(self) -> bool:
        return bool(self.pending())

    def shutdown(self, wait_ms: int = 5000) -> None:
        """Cancel everything and stop the thread (call once, when the window closes)."""
        self.cancel()
        self._thread.quit()
        self._thread.wait(wait_ms)

    # ---------------------------------------------------------------- relays (GUI thread)
    def _take(self, job_id: int, remove: bool) -> Job | None:
        with self._lock:
            return self._jobs.pop(job_id, None) if remove else self._jobs.get(job_id)

    def _on_started(self, job_id: int) -> None:
        job = self._take(job_id, False)
        if job is not None:
            self.jobStarted.emit(job)

    def _on_progress(self, job_id: int, done: int, total: int) -> None:
        job = self._take(job_id, False)
        if job is not None:
            self.jobProgress.emit(job, done, total)

    def _on_success(self, job_id: int, value: object) -> None:
        job = self._take(job_id, True)
        if job is not None:
            self.jobFinished.emit(job, value)

    def _on_failure(self, job_id: int, message: str, user_error: bool) -> None:
        job = self._take(job_id, True)
        if job is not None:
            self.jobFailed.emit(job, message, user_error)

    def _on_cancel(self, job_id: int) -> None:
        job = self._take(job_id, True)
        if job is not None:
            self.jobCancelled.emit(job)
