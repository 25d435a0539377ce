"""Every question the editor asks the user, behind one object so tests can answer them.

The window only talks to a :class:`Prompts`; the default one shows Qt dialogs. Tests pass a
:class:`ScriptedPrompts` with the answers ready, so no dialog ever blocks a test run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QWidget

SaveChoice = Literal["save", "discard", "cancel"]
LabelSource = Literal["import", "empty", "regions", "models"]

PHOTO_FILTER = "Photos (*.jpg *.jpeg *.png *.webp *.tif *.tiff *.bmp)"
PROJECT_FILTER = "Relayout projects (*.relayout)"
OPEN_FILTER = f"Photos and projects (*.jpg *.jpeg *.png *.webp *.tif *.tiff *.bmp *.relayout);;" \
              f"{PHOTO_FILTER};;{PROJECT_FILTER}"
LABELS_FILTER = "Label maps (*.png)"
EXPORT_FILTER = ("PNG image (*.png);;TIFF image (*.tif *.tiff);;JPEG image (*.jpg *.jpeg);;"
                 "WebP image (*.webp)")
# The pixel contract holds only for lossless files; say so where the user picks the quality.
QUALITY_LABEL = ("JPEG and WebP are lossy: pixels outside the edit will not be exactly the "
                 "photo's.\nFor an exact copy export PNG or TIFF, or WebP at quality 100 "
                 "(lossless).\n\nJPEG / WebP quality (1–100):")


class Prompts:
    """Qt dialogs parented to ``parent``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        self.parent = parent

    def open_path(self, title: str, filters: str, start: str = "") -> str | None:
        """A file to open; the dialog starts in folder (or at file) ``start``."""
        path, _ = QFileDialog.getOpenFileName(self.parent, title, start, filters)
        return path or None

    def save_path(self, title: str, filters: str, suggested: str = "") -> str | None:
        """A file to write; ``suggested`` is a full path (folder and proposed name)."""
        path, _ = QFileDialog.getSaveFileName(self.parent, title, suggested, filters)
        return path or None

    def error(self, title: str, message: str) -> None:
        QMessageBox.critical(self.parent, title, message)

    def info(self, title: str, message: str) -> None:
        QMessageBox.information(self.parent, title, message)

    def ask_save_changes(self, name: str) -> SaveChoice:
        box = QMessageBox(self.parent)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Unsaved changes")
        box.setText(f"Save the changes to {name}?")
        box.setInformativeText("Your edits will be lost if you don't save them.")
        box.setStandardButtons(QMessageBox.StandardButton.Save
                               | QMessageBox.StandardButton.Discard
                               | QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Save)
        answer = box.exec()
        if answer == QMessageBox.StandardButton.Save:
            return "save"
        if answer == QMessageBox.StandardButton.Discard:
            return "discard"
        return "cancel"

    def ask_label_source(self, reason: str, details: str = "") -> LabelSource | None:
        box = QMessageBox(self.parent)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("No scene parser")
        box.setText("How should the layout of this photo start?")
        box.setInformativeText(
            f"{reason}\n\nAutomatic regions split the photo into areas of similar colour that "
            f"you name with the fill tool. Your choice is kept until you quit or change the "
            f"parser in Settings.")
        if details:
            box.setDetailedText(details)
        regions = box.addButton("Automatic regions", QMessageBox.ButtonRole.AcceptRole)
        imported = box.addButton("Import label map…", QMessageBox.ButtonRole.ActionRole)
        empty = box.addButton("Paint from empty", QMessageBox.ButtonRole.ActionRole)
        models = box.addButton("Model manager…", QMessageBox.ButtonRole.ActionRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(regions)
        box.exec()
        clicked = box.clickedButton()
        return {id(regions): "regions", id(imported): "import", id(empty): "empty",
                id(models): "models"}.get(id(clicked))

    def ask_quality(self, default: int) -> int | None:
        value, ok = QInputDialog.getInt(self.parent, "Export quality", QUALITY_LABEL, default,
                                        1, 100)
        return int(value) if ok else None


class ScriptedPrompts(Prompts):
    """Answers from lists (first in, first out); records every message shown. For tests."""

    def __init__(self, *, paths: Sequence[str | None] = (), save_choice: SaveChoice = "discard",
                 label_source: LabelSource | None = "empty", quality: int | None = 90) -> None:
        super().__init__(None)
        self.paths = list(paths)
        self.save_choice: SaveChoice = save_choice
        self.label_source = label_source
        self.quality = quality
        self.errors: list[str] = []
        self.infos: list[str] = []
        self.asked: list[str] = []
        self.starts: list[tuple[str, str]] = []  # (title, start folder or suggested path)

    def _next_path(self, title: str, start: str) -> str | None:
        self.asked.append(title)
        self.starts.append((title, start))
        return self.paths.pop(0) if self.paths else None

    def open_path(self, title: str, filters: str, start: str = "") -> str | None:
        return self._next_path(title, start)

    def save_path(self, title: str, filters: str, suggested: str = "") -> str | None:
        return self._next_path(title, suggested)

    def error(self, title: str, message: str) -> None:
        self.errors.append(message)

    def info(self, title: str, message: str) -> None:
        self.infos.append(message)

    def ask_save_changes(self, name: str) -> SaveChoice:
        self.asked.append(f"save changes to {name}")
        return self.save_choice

    def ask_label_source(self, reason: str, details: str = "") -> LabelSource | None:
        self.asked.append(f"label source: {reason}")
        return self.label_source

    def ask_quality(self, default: int) -> int | None:
        self.asked.append(QUALITY_LABEL)
        return self.quality
