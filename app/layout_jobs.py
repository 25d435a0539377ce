"""How an opened photo (or a reference) gets its layout: parser, automatic regions, or the user.

The photo is shown at once in a document with an empty layout; the parser or the automatic
regions run on the engine worker meanwhile, and the canvas refuses edits until they arrive
(``session.layout_pending``). When no parser can be loaded (offline, model not downloaded) the
user is asked once how to start -- automatic regions, import a label map, paint from empty, or
the model manager -- and the answer is remembered for the session, so later photos skip the
failing parser and its wait. Files are :class:`app.file_actions.FileActions`' business: the
answer "import a label map" is read through the ``ask_label_map`` it hands in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from app.document import EditDocument, LayoutTarget
from app.engine_worker import EngineWorker, Job
from app.prompts import LabelSource, Prompts
from app.session import EditorSession
from inference.errors import BadInputError
from inference.parser import REGIONS_PARSER

PARSE, REGIONS = "parse", "regions"
# Asks for a label map file and reads it for a photo of shape (H, W); None when the user
# cancels; raises BadInputError for a file that does not fit.
AskLabelMap = Callable[[tuple[int, int]], np.ndarray | None]


@dataclass(frozen=True, eq=False)
class DocumentLayout:
    """The starting layout of a just-opened document (dropped if another one is open by then)."""

    document: EditDocument


@dataclass(frozen=True, eq=False)
class ReferenceLayout:
    """The layout of a reference photo about to join the document."""

    photo: np.ndarray
    path: Path


@dataclass(frozen=True, eq=False)
class LayoutRequest:
    """A parse or regions job's context: whose layout it computes, with which parser."""

    target: DocumentLayout | ReferenceLayout
    spec: str = ""  # the parser a parse job runs


def parser_problem(spec: str, message: str) -> str:
    """The dialog's wording for a parser that could not be loaded (the engine's message is
    written for the command line; it goes to the dialog's details instead)."""
    if "cache" in message and ("offline" in message or "could not be reached" in message):
        return (f"The scene parser “{spec}” is not on this computer and cannot be downloaded "
                f"now (no connection to the Hugging Face Hub).")
    if "not found" in message:
        return f"The scene parser file “{spec}” was not found."
    return f"The scene parser “{spec}” could not be loaded."


class LayoutJobs(QObject):
    """Starts parse / regions jobs and turns their answers into layouts (see the module doc)."""

    status = Signal(str)
    failed = Signal(str, str)  # title, message
    referenceReady = Signal(object, object, object, object)  # photo, path, labels, regions
    modelManagerRequested = Signal()

    def __init__(self, session: EditorSession, worker: EngineWorker, prompts: Prompts,
                 parser_spec: Callable[[], str], device: Callable[[], str],
                 ask_label_map: AskLabelMap, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session, self.worker, self.prompts = session, worker, prompts
        self._spec, self._device, self._ask_label_map = parser_spec, device, ask_label_map
        self._parsers: dict[str, object] = {}  # loaded on the worker thread, reused there
        self.failed_parsers: dict[str, str] = {}  # spec -> why it failed (this session)
        self.offline_choice: LabelSource | None = None  # remembered answer of the dialog
        worker.jobFinished.connect(self._on_job_done)
        worker.jobFailed.connect(self._on_job_failed)

    def forget(self) -> None:
        """The parser settings changed: try the parser again, ask again if it fails."""
        self.failed_parsers.clear()
        self.offline_choice = None

    # ---------------------------------------------------------------- starting
    def start_document(self, doc: EditDocument) -> None:
        """``doc`` (just shown, empty layout) gets its layout in the background; the caller
        set ``session.layout_pending`` and every path below clears it when it is done."""
        spec = self._spec().strip()
        target = DocumentLayout(doc)
        if spec in ("", REGIONS_PARSER):
            self._start_regions(doc.photo, target)
        elif spec in self.failed_parsers and self.offline_choice is not None:
            self.status.emit(f"No scene parser ({spec}): starting as chosen before "
                             f"(Settings › Parser changes this).")
            self._use_choice(doc, self.offline_choice)
        else:
            self._start_parse(doc.photo, spec, target)

    def start_reference(self, photo: np.ndarray, path: Path) -> None:
        spec = self._spec().strip()
        target = ReferenceLayout(photo, path)
        if spec in ("", REGIONS_PARSER) or spec in self.failed_parsers:
            self._start_regions(photo, target)
        else:
            self._start_parse(photo, spec, target)

    def _start_parse(self, photo: np.ndarray, spec: str,
                     target: DocumentLayout | ReferenceLayout) -> None:
        device, parsers = self._device(), self._parsers

        def run(progress, cancel):
            from inference.parser import load_parser

            if spec not in parsers:
                parsers[spec] = load_parser(spec, device=device)
            return parsers[spec].parse(photo, progress=progress, cancel=cancel).labels

        self.status.emit(f"Parsing with {spec}…")
        self.worker.submit(Job(PARSE, run, context=LayoutRequest(target, spec)))

    def _start_regions(self, photo: np.ndarray,
                       target: DocumentLayout | ReferenceLayout) -> None:
        def run(progress, cancel):
            from inference.parser import segment_regions

            return segment_regions(photo, progress=progress, cancel=cancel)

        self.status.emit("Computing automatic regions…")
        self.worker.submit(Job(REGIONS, run, context=LayoutRequest(target)))

    # ---------------------------------------------------------------- answers
    def _request(self, job: Job) -> LayoutRequest | None:
        """The job's request when it is one of ours."""
        mine = job.kind in (PARSE, REGIONS) and isinstance(job.context, LayoutRequest)
        return job.context if mine else None

    def _current(self, target: DocumentLayout) -> EditDocument | None:
        """The target's document when it is still the open one (else its answer is dropped)."""
        doc = target.document
        return doc if doc is self.session.document else None

    def _on_job_done(self, job: Job, value: object) -> None:
        request = self._request(job)
        if request is None or not isinstance(value, np.ndarray):
            return
        target = request.target
        if isinstance(target, ReferenceLayout):
            parsed = job.kind == PARSE
            self.referenceReady.emit(target.photo, target.path, value if parsed else None,
                                     None if parsed else value)
            return
        doc = self._current(target)
        if doc is None:
            return
        self.session.layout_pending = False
        try:
            if job.kind == PARSE:
                doc.set_starting_layout(labels=value)
                self.session.set_layout_target(LayoutTarget.EDIT)
                self.status.emit("Parsed: edit the layout, then Generate (Ctrl+G).")
            else:
                doc.set_starting_layout(regions=value)
                self.status.emit("Automatic regions ready: name them with the fill tool (G).")
        except BadInputError as exc:
            self.failed.emit("Could not use the layout", str(exc))

    def _on_job_failed(self, job: Job, message: str, _user: bool) -> None:
        request = self._request(job)
        if request is None:
            return
        target = request.target
        if isinstance(target, ReferenceLayout):
            if job.kind == PARSE:
                self.failed_parsers[request.spec] = message
                self.status.emit("No scene parser for the reference; using automatic regions")
                self._start_regions(target.photo, target)
            else:
                self.failed.emit("Automatic regions failed", message)
            return
        doc = self._current(target)
        if doc is None:
            return
        if job.kind == REGIONS:
            self.session.layout_pending = False
            self.failed.emit("Automatic regions failed", message)
            return
        spec = request.spec
        self.failed_parsers[spec] = message
        # Ask once the other listeners of this failure have run (the status bar stops its
        # progress), not from inside the signal.
        QTimer.singleShot(0, lambda: self._ask(doc, spec, message))

    def _ask(self, doc: EditDocument, spec: str, message: str) -> None:
        if doc is not self.session.document:
            return
        choice = self.prompts.ask_label_source(parser_problem(spec, message), message)
        if choice in ("regions", "import", "empty"):
            self.offline_choice = choice
        self._use_choice(doc, choice)

    def _use_choice(self, doc: EditDocument, choice: LabelSource | None) -> None:
        if choice is None:  # cancelled: the photo is not opened after all
            self.session.layout_pending = False
            self.session.set_document(None)
            return
        if choice == "regions":
            self._start_regions(doc.photo, DocumentLayout(doc))
            return
        self.session.layout_pending = False
        if choice == "import":
            try:
                labels = self._ask_label_map(doc.shape)
                if labels is not None:
                    doc.set_starting_layout(labels=labels)
                    self.session.set_layout_target(LayoutTarget.EDIT)
            except BadInputError as exc:
                self.failed.emit("Could not import the label map", str(exc))
        elif choice == "models":
            self.status.emit("The photo starts with an empty layout; download a parser in the "
                             "model manager and open the photo again to parse it.")
            self.modelManagerRequested.emit()
        else:
            self.status.emit("Paint the photo's layout with the brush (B) or fill (G).")
