"""Opening, saving, importing and exporting: every file operation of the editor.

A failed load never touches the open document: files are read and validated into a *new*
document first, and only a complete one replaces the session's. Parsing and automatic regions
run on the engine worker; the photo waits there, not in the UI. Saves are atomic (temp + rename).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QSettings, Signal

from app.document import PROJECT_SUFFIX, EditDocument, load_project, save_project
from app.engine_worker import EngineWorker, Job
from app.prompts import (
    EXPORT_FILTER,
    LABELS_FILTER,
    OPEN_FILTER,
    PHOTO_FILTER,
    PROJECT_FILTER,
    Prompts,
)
from app.session import EditorSession
from app.settings import EditorSettings, add_recent_file
from inference.errors import BadInputError
from inference.imageio import load_image, load_label_map, save_image, save_label_map, save_mask
from inference.parser import REGIONS_PARSER

PARSE, REGIONS = "parse", "regions"


class FileActions(QObject):
    opened = Signal(str)  # path of what was opened (photo or project)
    status = Signal(str)
    recentChanged = Signal(list)

    def __init__(self, session: EditorSession, worker: EngineWorker, prompts: Prompts,
                 settings: Callable[[], EditorSettings], store: QSettings,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session, self.worker, self.prompts = session, worker, prompts
        self.settings, self.store = settings, store
        self._parsers: dict[str, object] = {}  # loaded on the worker thread, reused there
        worker.jobFinished.connect(self._on_job_done)
        worker.jobFailed.connect(self._on_job_failed)

    @property
    def doc(self) -> EditDocument | None:
        return self.session.document

    def _fail(self, title: str, exc: Exception) -> bool:
        self.prompts.error(title, str(exc))
        self.status.emit(f"{title}: {exc}")
        return False

    def _remember(self, path: Path) -> None:
        self.recentChanged.emit(add_recent_file(self.store, path))

    # ---------------------------------------------------------------- unsaved changes
    def confirm_discard(self) -> bool:
        """True when it is fine to replace or close the open document."""
        doc = self.doc
        if doc is None or not doc.is_modified:
            return True
        name = (self.session.project_path or self.session.photo_path or Path("Untitled")).name
        choice = self.prompts.ask_save_changes(name)
        if choice == "save":
            return self.save_project()
        return choice == "discard"

    # ---------------------------------------------------------------- opening
    def open_any(self, path: str | None = None) -> bool:
        path = path or self.prompts.open_path("Open photo or project", OPEN_FILTER)
        if not path:
            return False
        if Path(path).suffix.lower() == PROJECT_SUFFIX:
            return self.open_project(path)
        return self.open_photo(path)

    def open_project(self, path: str | None = None) -> bool:
        path = path or self.prompts.open_path("Open project", PROJECT_FILTER)
        if not path or not self.confirm_discard():
            return False
        try:
            doc = load_project(path)
        except BadInputError as exc:
            return self._fail("Could not open the project", exc)
        self.session.set_document(doc, project_path=Path(path))
        self._remember(Path(path))
        self.opened.emit(str(path))
        self.status.emit(f"Opened project {Path(path).name}")
        return True

    def open_photo(self, path: str | None = None, labels_path: str | None = None) -> bool:
        """Open a photo; its layout comes from ``labels_path``, the parser, or the user's pick.

        Returns ``True`` when the photo was read; the document may arrive later (parsing).
        """
        path = path or self.prompts.open_path("Open photo", PHOTO_FILTER)
        if not path or not self.confirm_discard():
            return False
        try:
            photo = load_image(path)
            labels = load_label_map(labels_path, photo.shape[:2]) if labels_path else None
        except BadInputError as exc:
            return self._fail("Could not open the photo", exc)
        if labels is not None:
            self._install(EditDocument(photo, labels), Path(path))
            return True
        spec = self.settings().parser.strip()
        if spec == REGIONS_PARSER or not spec:
            self._start_regions(photo, Path(path), "document")
        else:
            self._start_parse(photo, Path(path), spec, "document")
        return True

    def _install(self, doc: EditDocument, path: Path, regions: np.ndarray | None = None) -> None:
        if regions is not None:
            doc.set_regions(regions)
            doc.mark_saved()  # regions are derived data, not an unsaved edit
        self.session.set_document(doc, photo_path=path)
        self._remember(path)
        self.opened.emit(str(path))
        self.status.emit(f"Opened {path.name} ({doc.shape[1]}×{doc.shape[0]})")

    def _start_parse(self, photo: np.ndarray, path: Path, spec: str, target: str) -> None:
        device = self.settings().device
        parsers = self._parsers

        def run(progress, cancel):
            from inference.parser import load_parser

            if spec not in parsers:
                parsers[spec] = load_parser(spec, device=device)
            return parsers[spec].parse(photo, progress=progress, cancel=cancel).labels

        self.status.emit(f"Parsing {path.name} with {spec}…")
        self.worker.submit(Job(PARSE, run, context={"photo": photo, "path": path,
                                                    "target": target}))

    def _start_regions(self, photo: np.ndarray, path: Path, target: str) -> None:
        def run(progress, cancel):
            from inference.parser import segment_regions

            return segment_regions(photo, progress=progress, cancel=cancel)

        self.status.emit(f"Computing automatic regions of {path.name}…")
        self.worker.submit(Job(REGIONS, run, context={"photo": photo, "path": path,
                                                      "target": target}))

    def _on_job_done(self, job: Job, value: object) -> None:
        if job.kind not in (PARSE, REGIONS) or not isinstance(value, np.ndarray):
            return
        photo, path, target = job.context["photo"], job.context["path"], job.context["target"]
        try:
            if target == "reference":
                self._add_reference(photo, path, value if job.kind == PARSE else None,
                                    value if job.kind == REGIONS else None)
            elif job.kind == PARSE:
                self._install(EditDocument(photo, value), path)
            else:
                self._install(EditDocument(photo), path, regions=value)
        except BadInputError as exc:
            self._fail("Could not use the layout", exc)

    def _on_job_failed(self, job: Job, message: str, _user: bool) -> None:
        if job.kind not in (PARSE, REGIONS):
            return
        photo, path, target = job.context["photo"], job.context["path"], job.context["target"]
        if job.kind == PARSE and target == "reference":
            self.status.emit(f"No parser ({message.split(';')[0]}); using automatic regions")
            self._start_regions(photo, path, "reference")
            return
        if job.kind == REGIONS:
            self._fail("Automatic regions failed", BadInputError(message))
            return
        choice = self.prompts.ask_label_source(message)
        if choice == "regions":
            self._start_regions(photo, path, "document")
        elif choice == "empty":
            self._install(EditDocument(photo), path)
        elif choice == "import":
            labels_path = self.prompts.open_path("Import label map", LABELS_FILTER)
            if labels_path:
                try:
                    labels = load_label_map(labels_path, photo.shape[:2])
                except BadInputError as exc:
                    self._fail("Could not import the label map", exc)
                    return
                self._install(EditDocument(photo, labels), path)

    # ---------------------------------------------------------------- references
    def open_reference(self, path: str | None = None, labels_path: str | None = None) -> bool:
        if self.doc is None:
            return False
        path = path or self.prompts.open_path("Open reference photo", PHOTO_FILTER)
        if not path:
            return False
        try:
            photo = load_image(path)
            labels = load_label_map(labels_path, photo.shape[:2]) if labels_path else None
        except BadInputError as exc:
            return self._fail("Could not open the reference", exc)
        if labels is not None:
            self._add_reference(photo, Path(path), labels, None)
        elif self.settings().parser.strip() in (REGIONS_PARSER, ""):
            self._start_regions(photo, Path(path), "reference")
        else:
            self._start_parse(photo, Path(path), self.settings().parser.strip(), "reference")
        return True

    def _add_reference(self, photo: np.ndarray, path: Path, labels: np.ndarray | None,
                       regions: np.ndarray | None) -> None:
        doc = self.doc
        if doc is None:
            return
        base = labels if labels is not None else np.zeros(photo.shape[:2], np.uint8)
        ref_id = doc.add_reference(photo, base, path.name)
        if regions is not None:
            self.session.reference_regions[ref_id] = regions
            doc.reference(ref_id)  # validate it exists before the panel refreshes
        self.status.emit(f"Added reference {path.name}")

    # ---------------------------------------------------------------- label maps
    def import_labels(self, path: str | None = None) -> bool:
        doc = self.doc
        path = path or (self.prompts.open_path("Import label map", LABELS_FILTER) if doc else None)
        if doc is None or not path:
            return False
        try:
            labels = load_label_map(path, doc.shape)
            # A label map describes the photo as it is: the photo's layout, not an edit.
            doc.set_photo_layout(labels, name="Import label map")
        except BadInputError as exc:
            return self._fail("Could not import the label map", exc)
        self.status.emit(f"Imported label map {Path(path).name} as the photo's layout")
        return True

    def export_labels(self, path: str | None = None, color: bool = False) -> bool:
        doc = self.doc
        path = path or (self.prompts.save_path("Export label map", LABELS_FILTER) if doc else None)
        if doc is None or not path:
            return False
        return self._write(lambda: save_label_map(path, doc.labels, color=color), path)

    def export_mask(self, path: str | None = None) -> bool:
        doc = self.doc
        path = path or (self.prompts.save_path("Export edit mask", LABELS_FILTER) if doc else None)
        if doc is None or not path:
            return False
        return self._write(lambda: save_mask(path, doc.edit_mask()), path)

    def export_result(self, path: str | None = None, quality: int | None = None) -> bool:
        doc = self.doc
        if doc is None:
            return False
        if doc.last_result is None:
            self.prompts.info("Nothing to export", "Generate a result first (Ctrl+G).")
            return False
        path = path or self.prompts.save_path("Export result", EXPORT_FILTER)
        if not path:
            return False
        if quality is None and Path(path).suffix.lower() in (".jpg", ".jpeg", ".webp"):
            quality = self.prompts.ask_quality(self.settings().export_quality)
            if quality is None:
                return False
        image = doc.last_result.image
        return self._write(lambda: save_image(path, image, quality or 95), path)

    def _write(self, save: Callable[[], None], path: str) -> bool:
        try:
            save()
        except (BadInputError, OSError) as exc:
            return self._fail("Could not save", exc)
        self.status.emit(f"Saved {Path(path).name}")
        return True

    # ---------------------------------------------------------------- projects
    def save_project(self, path: str | None = None) -> bool:
        doc = self.doc
        if doc is None:
            return False
        target = path or (str(self.session.project_path) if self.session.project_path else None)
        return self.save_project_as(target)

    def save_project_as(self, path: str | None = None) -> bool:
        doc = self.doc
        if doc is None:
            return False
        if not path:
            stem = (self.session.photo_path or Path("untitled")).stem
            path = self.prompts.save_path("Save project", PROJECT_FILTER, stem + PROJECT_SUFFIX)
        if not path:
            return False
        if Path(path).suffix.lower() != PROJECT_SUFFIX:
            path += PROJECT_SUFFIX
        try:
            save_project(doc, path)  # atomic: temp file + rename
        except (BadInputError, OSError) as exc:
            return self._fail("Could not save the project", exc)
        self.session.project_path = Path(path)
        self.session.pathChanged.emit()
        self._remember(Path(path))
        self.status.emit(f"Saved project {Path(path).name}")
        return True
