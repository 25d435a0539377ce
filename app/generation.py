"""Generate: snapshot the document, run ``LayoutEditor.edit`` on the worker, keep fresh results.

A result is kept only when it was made from the document's current revision; anything older is
dropped (the user kept editing). Starting a new generation cancels the running one. With
auto-generate on, edits restart a debounce timer and the engine runs when the user pauses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from app.document import DocumentEvent, EditDocument, Layer
from app.engine_worker import EngineWorker, Job
from app.session import EditorSession
from app.settings import EditorSettings
from inference.progress import CancelToken, ProgressFn

if TYPE_CHECKING:  # the engine imports torch: load it on the first generate, not at start-up
    from inference.pipeline.editor import EditResult, Reference
    from inference.pipeline.models import EngineModels
    from inference.pipeline.objects import ObjectTransform

GENERATE = "generate"
# HISTORY closes every undo step (a finished brush drag announces only that).
_EDIT_LAYERS = {Layer.LABELS, Layer.ORIGINAL_LABELS, Layer.USER_MASK, Layer.PHOTO, Layer.PASTES,
                Layer.HISTORY}


@dataclass(frozen=True)
class EditSnapshot:
    """Copies of what the engine needs, taken on the GUI thread (the document keeps changing)."""

    photo: np.ndarray
    labels: np.ndarray
    edited: np.ndarray
    user_mask: np.ndarray
    references: tuple[Reference, ...]
    revision: int
    objects: tuple[ObjectTransform, ...] = ()

    @staticmethod
    def of(doc: EditDocument) -> EditSnapshot:
        from inference.pipeline.editor import Reference
        from inference.pipeline.objects import ObjectTransform

        refs = tuple(Reference(np.array(r.photo), np.array(r.labels))
                     for r in doc.paste_sources())
        objects = tuple(ObjectTransform(m.full_source(doc.shape), m.matrix) for m in doc.moves)
        return EditSnapshot(np.array(doc.photo), np.array(doc.original_labels),
                            np.array(doc.labels), np.array(doc.user_mask), refs, doc.revision,
                            objects)


@dataclass(frozen=True, eq=False)
class GenerateRequest:
    """A generate job's context: the document and the revision its snapshot was taken at."""

    document: EditDocument
    revision: int


class ModelCache:
    """Engine models, loaded on the worker thread and reused until their settings change."""

    def __init__(self, loader: Callable[[EditorSettings], EngineModels] | None = None) -> None:
        self._loader = loader or load_models
        self._key: tuple[str, str] | None = None
        self._models: EngineModels | None = None

    def get(self, settings: EditorSettings) -> EngineModels:
        if self._models is None or self._key != settings.model_key:
            self._models = self._loader(settings)
            self._key = settings.model_key
        return self._models


def load_models(settings: EditorSettings) -> EngineModels:
    from inference.pipeline.models import EngineModels

    if not settings.checkpoint.strip():
        return EngineModels()
    device = settings.edit_settings().resolved_device()
    return EngineModels.from_checkpoint(settings.checkpoint.strip(), device=device)


class SourceSide:
    """The engine's per-photo cache (:class:`inference.cache.SourceCache`) for one session:
    made on the worker thread at the first generate (the engine loads torch then, not at
    start-up), dropped when another photo is opened. Dropping only lets go of the reference,
    so an edit still running keeps the cache it started with."""

    def __init__(self) -> None:
        self._cache = None

    def get(self):
        if self._cache is None:
            from inference.cache import SourceCache

            self._cache = SourceCache()
        return self._cache

    def drop(self) -> None:
        self._cache = None

    @property
    def held(self):
        return self._cache


def run_edit(snapshot: EditSnapshot, settings: EditorSettings, models: ModelCache,
             progress: ProgressFn, cancel: CancelToken, sources: SourceSide | None = None,
             preview: Callable[[np.ndarray, str], None] | None = None) -> EditResult:
    """The job body (worker thread)."""
    from inference.pipeline.editor import LayoutEditor

    editor = LayoutEditor(settings.edit_settings(), models.get(settings),
                          cache=None if sources is None else sources.get())
    return editor.edit(snapshot.photo, snapshot.edited, snapshot.labels, snapshot.user_mask,
                       references=list(snapshot.references), progress=progress, cancel=cancel,
                       objects=snapshot.objects, preview=preview)


class GenerateController(QObject):
    """Starts generations, filters stale results, applies the current one."""

    busyChanged = Signal(bool)
    progress = Signal(int, int)
    resultReady = Signal(object)  # EditResult, as the document stores it (``last_result.edit``)
    resultDropped = Signal(str)  # why
    failed = Signal(str)
    # (whole photo RGB uint8, stage): the edit so far, for the current revision only; the
    # result replaces it (``previewCleared`` when there will be none: dropped, failed, cancelled)
    previewReady = Signal(object, str)
    previewCleared = Signal()
    _previewed = Signal(object, object, str)  # job, image, stage: emitted on the worker thread

    def __init__(self, session: EditorSession, worker: EngineWorker,
                 settings: Callable[[], EditorSettings],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._session = session
        self._worker = worker
        self._settings = settings
        self._models = ModelCache()
        self.sources = SourceSide()
        self._preview_shown = False
        self._auto = QTimer(self)
        self._auto.setSingleShot(True)
        self._auto.timeout.connect(self.generate)
        self._previewed.connect(self._on_preview)   # queued: delivered on the GUI thread
        worker.jobProgress.connect(self._on_progress)
        worker.jobFinished.connect(self._on_finished)
        worker.jobFailed.connect(self._on_failed)
        worker.jobCancelled.connect(self._on_cancelled)
        session.documentChanged.connect(self._on_document_changed)
        session.documentReplaced.connect(self._on_document_replaced)

    # ---------------------------------------------------------------- state
    @property
    def busy(self) -> bool:
        return bool(self._worker.pending(GENERATE))

    @property
    def current_result(self) -> EditResult | None:
        """The document's engine result when it matches the document's revision (``None`` too
        for a result loaded from a project: only its image exists)."""
        doc = self._session.document
        if doc is None or not doc.result_is_current:
            return None
        return doc.last_result.edit

    # ---------------------------------------------------------------- actions
    def generate(self) -> Job | None:
        doc = self._session.document
        if doc is None:
            return None
        self._auto.stop()
        self._worker.cancel(GENERATE)  # only the newest request matters
        snapshot = EditSnapshot.of(doc)
        settings = self._settings()
        models, sources = self._models, self.sources
        made: list[Job] = []

        def preview(image: np.ndarray, stage: str) -> None:
            self._previewed.emit(made[0], image, stage)

        job = Job(GENERATE, lambda p, c: run_edit(snapshot, settings, models, p, c, sources,
                                                  preview),
                  context=GenerateRequest(doc, snapshot.revision))
        made.append(job)
        self._worker.submit(job)
        self.busyChanged.emit(True)
        return job

    def cancel(self) -> None:
        self._auto.stop()
        self._worker.cancel(GENERATE)

    def apply(self) -> bool:
        """Make the current result the new base photo (one undo step)."""
        doc = self._session.document
        if doc is None or not doc.result_is_current:
            return False
        return doc.apply_result()

    def schedule_auto(self) -> None:
        if self._settings().auto_generate and self._session.document is not None:
            self._auto.start(max(100, self._settings().auto_delay_ms))

    # ---------------------------------------------------------------- signals
    def _on_document_changed(self, event: DocumentEvent) -> None:
        doc = self._session.document
        if event.layer in _EDIT_LAYERS:
            self._clear_preview()    # it shows an older revision now
            if doc is not None and not doc.stroke_active:
                self.schedule_auto()

    def _on_document_replaced(self, _doc: object) -> None:
        self.cancel()
        self.sources.drop()          # another photo: its source side is another
        self._clear_preview()

    def _clear_preview(self) -> None:
        if self._preview_shown:
            self._preview_shown = False
            self.previewCleared.emit()

    def _mine(self, job: Job) -> bool:
        return job.kind == GENERATE

    def _current(self, job: Job) -> bool:
        doc = self._session.document
        request: GenerateRequest = job.context
        return (doc is not None and request.document is doc and request.revision == doc.revision
                and not job.token.cancelled)

    def _on_preview(self, job: Job, image: object, stage: str) -> None:
        if self._current(job):
            self._preview_shown = True
            self.previewReady.emit(image, stage)

    def _on_progress(self, job: Job, done: int, total: int) -> None:
        if self._mine(job):
            self.progress.emit(done, total)

    def _finish(self) -> None:
        if not self.busy:
            self.busyChanged.emit(False)

    def _on_finished(self, job: Job, value: object) -> None:
        if not self._mine(job):
            return
        doc = self._session.document
        request: GenerateRequest = job.context
        revision = request.revision
        self._preview_shown = False   # the result replaces it, or nothing will
        if doc is None or request.document is not doc:
            self.previewCleared.emit()
            self.resultDropped.emit("the document was closed or replaced")
        elif revision != doc.revision or job.token.cancelled:
            self.previewCleared.emit()
            self.resultDropped.emit(
                f"stale result dropped (made from revision {revision}, the document is at "
                f"{doc.revision})")
        elif not hasattr(value, "image") or not hasattr(value, "warped"):
            self.previewCleared.emit()
            self.failed.emit(f"internal error: the engine returned {type(value).__name__}")
        else:
            doc.set_result(value, revision)
            self.resultReady.emit(doc.last_result.edit)
        self._finish()

    def _on_failed(self, job: Job, message: str, _user_error: bool) -> None:
        if self._mine(job):
            self._clear_preview()
            self.failed.emit(message)
            self._finish()

    def _on_cancelled(self, job: Job) -> None:
        if self._mine(job):
            if not self.busy:        # a newer generate keeps the preview it will replace
                self._clear_preview()
            self._finish()
