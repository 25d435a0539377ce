"""Canvas interaction: what a press, drag and release do with the current tool.

Coordinates arrive in image pixels (floats, pixel centres on integers). Every change goes through
the document's methods; this object only remembers the gesture in progress (the drag of a
selected object, the hover point) so the view can draw previews.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, Signal

from app.document import EditDocument, ObjectSelection, StrokeTool
from app.session import EditorSession, Tool
from inference.errors import BadInputError


@dataclass
class DragState:
    """A selected object being dragged: where the drag started and the current offset."""

    start: tuple[float, float]
    dx: int = 0
    dy: int = 0


class ToolInteraction(QObject):
    """Turns pointer gestures into document operations for the session's current tool."""

    message = Signal(str)  # for the status bar: a refused operation, a picked class
    overlayChanged = Signal()  # previews (drag, paste, brush outline) must be redrawn
    inspectRequested = Signal(int, int)  # x, y in image pixels

    def __init__(self, session: EditorSession, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.drag: DragState | None = None
        self.hover: tuple[float, float] | None = None
        self._stroking = False
        self._filling = False  # the gesture in progress is a fill drag (fill_to, not stroke_to)

    # ---------------------------------------------------------------- helpers
    @property
    def doc(self) -> EditDocument | None:
        return self.session.document

    def _inside(self, x: float, y: float) -> tuple[int, int] | None:
        doc = self.doc
        if doc is None:
            return None
        h, w = doc.shape
        ix, iy = round(x), round(y)
        return (ix, iy) if 0 <= ix < w and 0 <= iy < h else None

    def _guard(self, fn, *args, **kwargs):
        """Run a document operation; a refused one becomes a status message, not a crash."""
        try:
            return fn(*args, **kwargs)
        except BadInputError as exc:
            self.message.emit(str(exc))
            return None

    # ---------------------------------------------------------------- gestures
    def press(self, x: float, y: float, modifiers: Qt.KeyboardModifier) -> None:
        doc = self.doc
        if doc is None:
            return
        tool = self.session.tool
        if self.session.layout_pending and tool is not Tool.INSPECT:
            self.message.emit("Wait a moment: the photo's layout is still being computed.")
            return
        alt = bool(modifiers & Qt.KeyboardModifier.AltModifier)
        if tool in (Tool.BRUSH, Tool.FILL) and alt:
            self._pick(x, y)  # Alt-click samples a class, as in other paint programs
            return
        if tool in (Tool.BRUSH, Tool.ERASER, Tool.MASK):
            self._begin_stroke(doc, x, y, alt)
        elif tool is Tool.FILL:
            self._begin_fill(doc, x, y)
        elif tool is Tool.PICKER:
            self._pick(x, y)
        elif tool is Tool.MOVE:
            self._press_move(doc, x, y)
        elif tool is Tool.INSPECT:
            pt = self._inside(x, y)
            if pt is not None:
                self.inspectRequested.emit(*pt)
        elif tool is Tool.PASTE:
            self._drop_paste(doc, x, y)

    def move(self, x: float, y: float) -> None:
        self.hover = (x, y)
        doc = self.doc
        if doc is None:
            return
        if self._stroking:
            self._guard(doc.fill_to if self._filling else doc.stroke_to, x, y)
        elif self.drag is not None:
            sx, sy = self.drag.start
            self.drag.dx, self.drag.dy = round(x - sx), round(y - sy)
            self.overlayChanged.emit()
        elif self.session.tool is Tool.PASTE:
            self.overlayChanged.emit()

    def release(self, x: float, y: float) -> None:
        doc = self.doc
        if doc is None:
            return
        if self._stroking:
            self._stroking = self._filling = False
            self._guard(doc.end_stroke)
        elif self.drag is not None:
            drag, self.drag = self.drag, None
            if (drag.dx, drag.dy) != (0, 0):
                self._guard(doc.move_selection, drag.dx, drag.dy)
            self.overlayChanged.emit()

    def leave(self) -> None:
        self.hover = None
        self.overlayChanged.emit()

    def cancel(self) -> None:
        """Escape: abandon a drag or stroke in progress, else drop the selection."""
        doc = self.doc
        if doc is None:
            return
        if self._stroking:
            self._stroking = self._filling = False
            doc.cancel_stroke()
        elif self.drag is not None:
            self.drag = None
        elif self.session.tool is Tool.PASTE:
            self.session.set_tool(Tool.MOVE)
        else:
            doc.clear_selection()
        self.overlayChanged.emit()

    # ---------------------------------------------------------------- tools
    def _begin_stroke(self, doc: EditDocument, x: float, y: float, alt: bool) -> None:
        tool, labelling = self.session.tool, self.session.labelling
        if tool is Tool.BRUSH:
            kind = StrokeTool.LABEL if labelling else StrokeTool.PAINT
            class_id: int | None = self.session.class_id
        elif tool is Tool.ERASER:
            kind, class_id = (StrokeTool.UNLABEL if labelling else StrokeTool.ERASE), None
        else:
            removing = self.session.mask_erases != alt  # Alt inverts the mask brush
            kind, class_id = (StrokeTool.MASK_REMOVE if removing else StrokeTool.MASK_ADD), None
        self._guard(doc.begin_stroke, x, y, size=self.session.brush_size, tool=kind,
                    class_id=class_id)
        self._stroking = doc.stroke_active

    def _begin_fill(self, doc: EditDocument, x: float, y: float) -> None:
        """A click fills one area; dragging on fills every area the pointer crosses (one
        undo step), so several automatic regions are named in one gesture."""
        pt = self._inside(x, y)
        if pt is None:
            return
        s = self.session
        self._guard(doc.begin_fill, *pt, s.class_id, target=s.layout_target,
                    by_region=s.fill_by_region and doc.regions is not None,
                    tolerance=s.fill_tolerance)
        self._stroking = self._filling = doc.stroke_active

    def _pick(self, x: float, y: float) -> None:
        doc = self.doc
        pt = self._inside(x, y)
        if doc is None or pt is None:
            return
        self.session.set_class(doc.pick_class(*pt, target=self.session.layout_target))

    def _press_move(self, doc: EditDocument, x: float, y: float) -> None:
        pt = self._inside(x, y)
        if pt is None:
            return
        sel = doc.selection
        if sel is not None and _contains(sel, *pt):
            self.drag = DragState((x, y))
        else:
            self._guard(doc.select_object, *pt)
            self.drag = DragState((x, y)) if doc.selection is not None else None
        self.overlayChanged.emit()

    def _drop_paste(self, doc: EditDocument, x: float, y: float) -> None:
        pending = self.session.pending_paste
        if pending is None:
            return
        b = pending.region.bbox
        tx, ty = round(x - b.width / 2), round(y - b.height / 2)
        if self._guard(doc.paste_reference, pending.reference_id, pending.region, tx, ty):
            self.message.emit("Pasted the reference region; Generate to synthesise it.")
            self.session.set_tool(Tool.MOVE)
        self.overlayChanged.emit()


def _contains(sel: ObjectSelection, x: int, y: int) -> bool:
    b = sel.bbox
    return b.x0 <= x < b.x1 and b.y0 <= y < b.y1 and bool(sel.mask[y - b.y0, x - b.x0])
