"""The editor session: which document is open, where it lives on disk, and the tool state.

Widgets never own edit state: they read it from the session and call the document's methods.
The session bridges the document's plain callbacks to Qt signals, so views repaint the changed
box of the changed layer only.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import NamedTuple

from PySide6.QtCore import QObject, Signal

from app.document import DocumentEvent, EditDocument, LayoutTarget, ObjectSelection
from app.document.strokes import MAX_BRUSH_SIZE
from inference.arrays import RegionMap
from inference.labels import class_table

MAX_RECENT_CLASSES = 12


class Tool(str, Enum):
    BRUSH = "brush"
    ERASER = "eraser"
    FILL = "fill"
    PICKER = "picker"
    MOVE = "move"
    MASK = "mask"
    INSPECT = "inspect"
    PASTE = "paste"  # placing a reference region; entered from the reference panel

    @property
    def writes_layout(self) -> bool:
        """Tools that write a layout (the photo's or the edited one, see ``LayoutTarget``)."""
        return self in (Tool.BRUSH, Tool.ERASER, Tool.FILL)

    @property
    def title(self) -> str:
        return {"brush": "Brush", "eraser": "Eraser", "fill": "Fill", "picker": "Class picker",
                "move": "Move / select object", "mask": "Mask brush",
                "inspect": "Correspondence inspector",
                "paste": "Place reference region"}[self.value]


class PickedRegion(NamedTuple):
    """A region picked in a reference photo, in that photo's pixels."""

    reference_id: int
    region: ObjectSelection


class EditorSession(QObject):
    """The open document (or none), its files, and the current tool, brush and class."""

    documentReplaced = Signal(object)  # EditDocument | None
    documentChanged = Signal(object)  # DocumentEvent
    toolChanged = Signal(object)  # Tool
    brushChanged = Signal(float)
    classChanged = Signal(int)
    pathChanged = Signal()
    layoutTargetChanged = Signal(object)  # LayoutTarget

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._doc: EditDocument | None = None
        self.project_path: Path | None = None
        self.photo_path: Path | None = None
        self._tool = Tool.BRUSH
        self._brush = 24.0
        self._class_id = 3  # sky: a friendly first colour
        self.recent_classes: list[int] = []
        self.mask_erases = False  # the mask brush removes instead of adds
        self.fill_by_region = False  # G fills automatic regions instead of connected labels
        self.fill_tolerance = 0.0  # > 0: the fill keeps only pixels of similar photo colour
        self._target = LayoutTarget.EDIT
        self.layout_pending = False  # the open photo's layout is still being computed
        self.pending_paste: PickedRegion | None = None  # what the paste tool places
        # Derived data about references: automatic regions of unparsed ones, and the region
        # picked in the reference panel.
        self.reference_regions: dict[int, RegionMap] = {}
        self.reference_selection: PickedRegion | None = None

    # ---------------------------------------------------------------- document
    @property
    def document(self) -> EditDocument | None:
        return self._doc

    def set_document(self, doc: EditDocument | None, *, project_path: Path | None = None,
                     photo_path: Path | None = None) -> None:
        if self._doc is not None:
            self._doc.disconnect(self._relay)
        self._doc = doc
        self.project_path = project_path
        self.photo_path = photo_path
        self.pending_paste = None
        self.layout_pending = False
        self.reference_regions = {}
        self.reference_selection = None
        self.fill_by_region = doc is not None and doc.regions is not None \
            and not doc.labels.any()
        if doc is not None:
            doc.connect(self._relay)
        self._target = _starting_target(doc)
        self.documentReplaced.emit(doc)
        self.layoutTargetChanged.emit(self._target)
        self.pathChanged.emit()

    def _relay(self, event: DocumentEvent) -> None:
        self.documentChanged.emit(event)

    @property
    def title(self) -> str:
        if self._doc is None:
            return "Relayout"
        name = (self.project_path or self.photo_path or Path("Untitled")).name
        star = " •" if self._doc.is_modified else ""
        return f"{name}{star} — Relayout"

    # ---------------------------------------------------------------- which layout
    @property
    def layout_target(self) -> LayoutTarget:
        """Where brush, eraser and fill write: the photo's layout (labelling) or the edits."""
        return self._target

    @property
    def labelling(self) -> bool:
        return self._target is LayoutTarget.PHOTO

    def set_layout_target(self, target: LayoutTarget | str) -> None:
        target = LayoutTarget(target)
        if self._doc is not None:
            self._doc.metadata["layout_target"] = target.value  # saved with the project
        if target is not self._target:
            self._target = target
            self.layoutTargetChanged.emit(target)

    # ---------------------------------------------------------------- tools
    @property
    def tool(self) -> Tool:
        return self._tool

    def set_tool(self, tool: Tool) -> None:
        tool = Tool(tool)
        if tool is not Tool.PASTE:
            self.pending_paste = None
        if tool is not self._tool:
            self._tool = tool
            self.toolChanged.emit(tool)

    @property
    def brush_size(self) -> float:
        return self._brush

    def set_brush_size(self, size: float) -> None:
        size = float(min(max(1.0, size), MAX_BRUSH_SIZE))
        if size != self._brush:
            self._brush = size
            self.brushChanged.emit(size)

    def grow_brush(self, bigger: bool) -> None:
        """``]`` / ``[``: about 15 % per press, at least one pixel."""
        step = max(1.0, round(self._brush * 0.15))
        self.set_brush_size(self._brush + step if bigger else self._brush - step)

    @property
    def class_id(self) -> int:
        return self._class_id

    def set_class(self, class_id: int) -> None:
        if not 0 <= int(class_id) < len(class_table()):
            return
        self._class_id = int(class_id)
        self.recent_classes = [self._class_id,
                               *(c for c in self.recent_classes if c != self._class_id)]
        del self.recent_classes[MAX_RECENT_CLASSES:]
        self.classChanged.emit(self._class_id)


def _starting_target(doc: EditDocument | None) -> LayoutTarget:
    """A project remembers its step; a photo with no layout yet starts by labelling it."""
    if doc is None:
        return LayoutTarget.EDIT
    saved = doc.metadata.get("layout_target")
    if saved in (LayoutTarget.PHOTO.value, LayoutTarget.EDIT.value):
        return LayoutTarget(saved)
    return LayoutTarget.EDIT if doc.original_labels.any() else LayoutTarget.PHOTO
