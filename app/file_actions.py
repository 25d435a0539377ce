"""Opening, saving, importing and exporting: every file operation of the editor.

A failed load never touches the open document: files are read and validated into a *new*
document first, and only a complete one replaces the session's. A photo is shown at once; its
layout (parser or automatic regions, :mod:`app.layout_jobs`) follows from the engine worker.
Saves are atomic (temp + rename). File dialogs start in the folder last used and suggest names
derived from the photo (``kite_edited.png``). Every file read or written goes through here: the
layout fallback reads an imported label map through :meth:`FileActions.ask_label_map`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QSettings, Signal

from app.document import PROJECT_SUFFIX, EditDocument, load_project, save_project
from app.engine_worker import EngineWorker
from app.layout_jobs import LayoutJobs
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

LAST_FOLDER = "last_folder"  # QSettings key


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
        self.layouts = LayoutJobs(session, worker, prompts, lambda: settings().parser,
                                  lambda: settings().device, self.ask_label_map, self)
        self.layouts.status.connect(self.status)
        self.layouts.failed.connect(lambda title, msg: self._fail(title, BadInputError(msg)))
        self.layouts.referenceReady.connect(self._add_reference)

    @property
    def doc(self) -> EditDocument | None:
        return self.session.document

    def _fail(self, title: str, exc: Exception) -> bool:
        self.prompts.error(title, str(exc))
        self.status.emit(f"{title}: {exc}")
        return False

    def _remember(self, path: Path) -> None:
        self.recentChanged.emit(add_recent_file(self.store, path))

    # ---------------------------------------------------------------- folders and names
    def start_folder(self) -> str:
        """Where file dialogs start: the folder last used, else the open photo's folder."""
        last = str(self.store.value(LAST_FOLDER, "") or "")
        if last and Path(last).is_dir():
            return last
        photo = self.session.photo_path or self.session.project_path
        return str(photo.parent) if photo is not None else ""

    def _used(self, path: str | None) -> str | None:
        """Remember the folder of a path the user chose (``None`` passes through)."""
        if path:
            self.store.setValue(LAST_FOLDER, str(Path(path).resolve().parent))
        return path

    def _ask_open(self, title: str, filters: str) -> str | None:
        return self._used(self.prompts.open_path(title, filters, self.start_folder()))

    def _ask_save(self, title: str, filters: str, suffix: str) -> str | None:
        """Ask where to save, suggesting ``<photo stem><suffix>`` in the start folder."""
        source = self.session.photo_path or self.session.project_path or Path("untitled")
        folder = self.start_folder()
        name = source.stem + suffix
        return self._used(self.prompts.save_path(
            title, filters, str(Path(folder) / name) if folder else name))

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
        path = path or self._ask_open("Open photo or project", OPEN_FILTER)
        if not path:
            return False
        if Path(path).suffix.lower() == PROJECT_SUFFIX:
            return self.open_project(path)
        return self.open_photo(path)

    def open_project(self, path: str | None = None) -> bool:
        path = path or self._ask_open("Open project", PROJECT_FILTER)
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
        path = path or self._ask_open("Open photo", PHOTO_FILTER)
        if not path or not self.confirm_discard():
            return False
        try:
            photo = load_image(path)
            labels = (load_label_map(labels_path, photo.shape[:2], path) if labels_path
                      else None)
        except BadInputError as exc:
            return self._fail("Could not open the photo", exc)
        if labels is not None:
            self._install(EditDocument(photo, labels), Path(path))
            return True
        # Show the photo now; its layout arrives from the worker (edits wait for it).
        doc = EditDocument(photo)
        self._install(doc, Path(path))
        self.session.layout_pending = True
        self.layouts.start_document(doc)
        return True

    def _install(self, doc: EditDocument, path: Path) -> None:
        self.session.set_document(doc, photo_path=path)
        self._remember(path)
        self.opened.emit(str(path))
        self.status.emit(f"Opened {path.name} ({doc.shape[1]}×{doc.shape[0]})")

    def ask_label_map(self, shape: tuple[int, int]) -> np.ndarray | None:
        """The layout fallback's "import a label map": ask for the file, read it for a photo
        of ``shape``. ``None`` when the user cancels; ``BadInputError`` for a bad file."""
        path = self.prompts.open_path("Import label map", LABELS_FILTER, self.start_folder())
        return load_label_map(path, shape) if path else None

    # ---------------------------------------------------------------- references
    def open_reference(self, path: str | None = None, labels_path: str | None = None) -> bool:
        if self.doc is None:
            return False
        path = path or self._ask_open("Open reference photo", PHOTO_FILTER)
        if not path:
            return False
        try:
            photo = load_image(path)
            labels = load_label_map(labels_path, photo.shape[:2]) if labels_path else None
        except BadInputError as exc:
            return self._fail("Could not open the reference", exc)
        if labels is not None:
            self._add_reference(photo, Path(path), labels, None)
        else:
            self.layouts.start_reference(photo, Path(path))
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
        path = path or (self._ask_open("Import label map", LABELS_FILTER) if doc else None)
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
        if doc is not None and not path:
            path = self._ask_save("Export label map", LABELS_FILTER,
                                  "_labels_color.png" if color else "_labels.png")
        if doc is None or not path:
            return False
        return self._write(lambda: save_label_map(path, doc.labels, color=color), path)

    def export_mask(self, path: str | None = None) -> bool:
        doc = self.doc
        if doc is not None and not path:
            path = self._ask_save("Export edit mask", LABELS_FILTER, "_mask.png")
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
        path = path or self._ask_save("Export result", EXPORT_FILTER, "_edited.png")
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
            path = self._ask_save("Save project", PROJECT_FILTER, PROJECT_SUFFIX)
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
