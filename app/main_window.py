"""The main window: wires the session, canvas, docks, actions, worker and file operations.

It holds no edit state of its own: the document lives in the session, tool state too, and the
window only connects actions to methods and keeps the chrome (titles, enabled states) current.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QDialog, QMainWindow, QWidget

from app.actions import EditorActions, build_actions
from app.canvas import CanvasView, ViewMode
from app.canvas.overlays import Inspection
from app.canvas.rendering import ViewLayer
from app.correspondence_map import keys_at_pixel
from app.document import DocumentEvent, EditDocument, Layer, LayoutTarget
from app.engine_worker import EngineWorker, Job
from app.file_actions import FileActions
from app.generation import GenerateController
from app.prompts import Prompts
from app.session import EditorSession, Tool
from app.settings import EditorSettings, load_settings, recent_files, save_settings
from app.widgets.class_palette import ClassPaletteDock
from app.widgets.inspector_panel import InspectorPanel
from app.widgets.reference_panel import ReferencePanel
from app.widgets.status_bar import EditorStatusBar, tool_status_text
from app.window_chrome import build_main_bar, build_menus, build_tool_bar
from inference.errors import BadInputError

if TYPE_CHECKING:
    from inference.pipeline.editor import EditResult


class MainWindow(QMainWindow):
    def __init__(self, store: QSettings | None = None, prompts: Prompts | None = None,
                 settings: EditorSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store or QSettings("Relayout", "Relayout")
        self.settings = settings or load_settings(self.store)
        self.prompts = prompts or Prompts(self)
        self.session = EditorSession(self)
        self.worker = EngineWorker(self)
        self._view_before_preview: ViewMode | None = None   # the view a preview switched from
        self.generation = GenerateController(self.session, self.worker, lambda: self.settings,
                                             self)
        self.files = FileActions(self.session, self.worker, self.prompts, lambda: self.settings,
                                 self.store, self)
        self.canvas = CanvasView(self.session)
        self.canvas.label_opacity = self.settings.overlay_opacity
        self.setCentralWidget(self.canvas)
        self.acts: EditorActions = build_actions(self)
        self.recent_menu = build_menus(self, self.acts)
        build_tool_bar(self, self.acts)
        self.main_bar = build_main_bar(self, self.acts, self._set_opacity, self._set_split,
                                       self._set_tolerance)
        self.opacity_slider, self.split_slider = self.main_bar.opacity, self.main_bar.split
        self.opacity_slider.setValue(round(self.settings.overlay_opacity * 100))
        self.palette = ClassPaletteDock(self.session, self)
        self.references = ReferencePanel(self.session, lambda: self.files.open_reference(), self)
        self.inspector = InspectorPanel(self)
        for dock in (self.palette, self.references):
            self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.tabifyDockWidget(self.references, self.inspector)
        self.references.raise_()
        self.status = EditorStatusBar(self)
        self.setStatusBar(self.status)
        self.setAcceptDrops(True)
        self.resize(1400, 900)
        self._connect()
        self.acts.auto_generate.setChecked(self.settings.auto_generate)
        self._fill_recent(recent_files(self.store))
        self._refresh()

    # ---------------------------------------------------------------- wiring
    def _connect(self) -> None:
        a, s, c = self.acts, self.session, self.canvas
        f = self.files
        a.open.triggered.connect(lambda: f.open_any())
        a.open_project.triggered.connect(lambda: f.open_project())
        a.save.triggered.connect(lambda: f.save_project())
        a.save_as.triggered.connect(lambda: f.save_project_as())
        a.export_result.triggered.connect(lambda: f.export_result())
        a.import_labels.triggered.connect(lambda: f.import_labels())
        a.export_labels.triggered.connect(lambda: f.export_labels())
        a.export_labels_color.triggered.connect(lambda: f.export_labels(color=True))
        a.export_mask.triggered.connect(lambda: f.export_mask())
        a.open_reference.triggered.connect(lambda: f.open_reference())
        a.quit.triggered.connect(self.close)
        d = EditDocument
        a.undo.triggered.connect(lambda: self._on_document(d.undo))
        a.redo.triggered.connect(lambda: self._on_document(d.redo))
        a.clear_mask.triggered.connect(lambda: self._on_document(d.clear_user_mask))
        a.clear_edits.triggered.connect(lambda: self._on_document(d.clear_edits))
        a.brush_bigger.triggered.connect(lambda: s.grow_brush(True))
        a.brush_smaller.triggered.connect(lambda: s.grow_brush(False))
        a.fill_by_region.toggled.connect(lambda on: setattr(s, "fill_by_region", on))
        a.label_photo.triggered.connect(lambda: s.set_layout_target(LayoutTarget.PHOTO))
        a.edit_layout.triggered.connect(lambda: s.set_layout_target(LayoutTarget.EDIT))
        a.adopt_layout.triggered.connect(lambda: self._on_document(d.adopt_edited_layout))
        a.delete_object.triggered.connect(lambda: self._on_document(d.delete_selection))
        a.flip_horizontal.triggered.connect(lambda: self._on_document(d.flip_selection, True))
        a.flip_vertical.triggered.connect(lambda: self._on_document(d.flip_selection, False))
        a.rotate_left.triggered.connect(lambda: self._on_document(d.rotate_selection, 15.0))
        a.rotate_right.triggered.connect(lambda: self._on_document(d.rotate_selection, -15.0))
        a.scale_up.triggered.connect(lambda: self._on_document(d.scale_selection, 1.1))
        a.scale_down.triggered.connect(lambda: self._on_document(d.scale_selection, 1 / 1.1))
        a.zoom_in.triggered.connect(lambda: c.zoom_step(1))
        a.zoom_out.triggered.connect(lambda: c.zoom_step(-1))
        a.fit.triggered.connect(c.fit)
        a.actual_size.triggered.connect(c.actual_size)
        a.show_labels.toggled.connect(lambda on: c.set_option("show_labels", on))
        a.show_mask.toggled.connect(lambda on: c.set_option("show_mask", on))
        a.show_regions.toggled.connect(lambda on: c.set_option("show_regions", on))
        for action, mode in ((a.view_edit, ViewMode.EDIT), (a.view_result, ViewMode.RESULT),
                             (a.view_compare, ViewMode.COMPARE), (a.view_warped, ViewMode.WARPED)):
            action.triggered.connect(lambda _=False, m=mode: self.set_view_mode(m))
        a.before_after.toggled.connect(self._toggle_before)
        a.generate.triggered.connect(self.generate)
        a.cancel.triggered.connect(lambda: self.worker.cancel())
        a.apply_result.triggered.connect(self._apply)
        a.auto_generate.toggled.connect(self._set_auto)
        a.settings.triggered.connect(self.open_settings)
        a.models.triggered.connect(self.open_models)
        for tool, action in a.tools.items():
            action.triggered.connect(lambda _=False, t=tool: s.set_tool(t))
        s.toolChanged.connect(self._tool_changed)
        s.layoutTargetChanged.connect(self._target_changed)
        s.brushChanged.connect(lambda _v: self._show_tool())
        s.classChanged.connect(lambda _v: self._show_tool())
        s.documentReplaced.connect(lambda _d: self._document_replaced())
        s.documentChanged.connect(self._document_changed)
        s.pathChanged.connect(self._refresh)
        c.cursorMoved.connect(self._cursor_moved)
        c.zoomChanged.connect(self.status.show_zoom)
        c.splitChanged.connect(self._split_dragged)
        c.interaction.message.connect(lambda m: self.status.showMessage(m, 6000))
        c.interaction.inspectRequested.connect(self.inspect_pixel)
        self.status.cancelRequested.connect(lambda: self.worker.cancel())
        self.files.status.connect(lambda m: self.status.showMessage(m, 6000))
        self.files.recentChanged.connect(self._fill_recent)
        self.files.layouts.modelManagerRequested.connect(lambda: self.open_models())
        self.palette.done.connect(lambda: c.setFocus(Qt.FocusReason.ShortcutFocusReason))
        # Enter in the tolerance box hands the keyboard back too (tool keys are letters).
        self.main_bar.tolerance.editingFinished.connect(
            lambda: c.setFocus(Qt.FocusReason.ShortcutFocusReason))
        self.generation.progress.connect(lambda d, t: self.status.show_progress(d, t, "Generating"))
        self.generation.busyChanged.connect(self._busy_changed)
        self.generation.resultReady.connect(self._result_ready)
        self.generation.previewReady.connect(self._preview_ready)
        self.generation.previewCleared.connect(self._preview_cleared)
        self.generation.resultDropped.connect(lambda m: self.status.showMessage(m, 6000))
        self.generation.failed.connect(lambda m: self.prompts.error("Generate failed", m))
        self.worker.jobStarted.connect(self._job_started)
        self.worker.jobFinished.connect(lambda *_: self._jobs_idle())
        self.worker.jobFailed.connect(lambda *_: self._jobs_idle())
        self.worker.jobCancelled.connect(lambda *_: self._jobs_idle())

    # ---------------------------------------------------------------- document calls
    def _on_document(self, operation: Callable[..., object], *args: object) -> object:
        """``operation(document, *args)`` (an ``EditDocument`` method) on the open document;
        nothing without one. A refused operation shows its reason in the status bar."""
        doc = self.session.document
        if doc is None:
            return None
        try:
            return operation(doc, *args)
        except BadInputError as exc:
            self.status.showMessage(str(exc), 6000)
            return None

    def generate(self) -> None:
        doc = self.session.document
        if doc is not None and not doc.edit_mask().any():
            self.status.showMessage(
                "Nothing to generate: the layout has no edits. Label the photo (F2), then "
                "switch to Edit the Layout (F3) and change it.", 8000)
            return
        self.generation.generate()

    def _apply(self) -> None:
        doc = self.session.document
        if doc is None:
            return
        if doc.last_result is None:
            self.status.showMessage("Nothing to apply: generate a result first (Ctrl+G).", 8000)
            return
        if not doc.result_is_current:
            self.status.showMessage(
                "Not applied: the result is stale (the layout changed after it was "
                "generated). Generate again (Ctrl+G), then apply.", 8000)
            return
        try:
            if self.generation.apply():
                self.set_view_mode(ViewMode.EDIT)
                self.status.showMessage("Applied: the result is the new photo (Ctrl+Z undoes).")
        except BadInputError as exc:
            self.status.showMessage(str(exc), 6000)

    # ---------------------------------------------------------------- view
    def set_view_mode(self, mode: ViewMode) -> None:
        self.canvas.set_mode(mode)
        action = {ViewMode.EDIT: self.acts.view_edit, ViewMode.RESULT: self.acts.view_result,
                  ViewMode.COMPARE: self.acts.view_compare,
                  ViewMode.WARPED: self.acts.view_warped}[ViewMode(mode)]
        action.setChecked(True)

    def _toggle_before(self, on: bool) -> None:
        if self.canvas.mode is not ViewMode.RESULT:
            self.set_view_mode(ViewMode.RESULT)
        self.canvas.set_option("before", on)

    def _set_opacity(self, value: int) -> None:
        self.canvas.set_option("label_opacity", value / 100.0)
        self.settings = replace(self.settings, overlay_opacity=value / 100.0)

    def _set_split(self, value: int) -> None:
        self.canvas.set_option("split", value / 100.0)

    def _split_dragged(self, split: float) -> None:
        self.split_slider.blockSignals(True)  # keep the canvas' exact position
        self.split_slider.setValue(round(split * 100))
        self.split_slider.blockSignals(False)

    def _set_tolerance(self, value: int) -> None:
        self.session.fill_tolerance = float(value)
        self._show_tool()

    def _set_auto(self, on: bool) -> None:
        self.settings = replace(self.settings, auto_generate=on)
        if on:
            self.generation.schedule_auto()

    # ---------------------------------------------------------------- reactions
    def _document_replaced(self) -> None:
        self.canvas.overlays.clear()
        self.inspector.show_result(None)
        self.acts.fill_by_region.setChecked(self.session.fill_by_region)
        self.set_view_mode(ViewMode.EDIT)
        self._refresh()

    def _document_changed(self, event: DocumentEvent) -> None:
        if Layer(event.layer) in (Layer.HISTORY, Layer.RESULT, Layer.REGIONS):
            self._refresh()
        doc = self.session.document
        if Layer(event.layer) is Layer.REGIONS and doc is not None:
            self.acts.fill_by_region.setEnabled(doc.regions is not None)
            # Fresh regions on an unlabelled photo: G names whole regions.
            if doc.regions is not None and not doc.original_labels.any():
                self.acts.fill_by_region.setChecked(True)

    def _refresh(self) -> None:
        doc: EditDocument | None = self.session.document
        a = self.acts
        has = doc is not None
        for action in (a.save, a.save_as, a.import_labels, a.export_labels, a.export_mask,
                       a.export_labels_color, a.open_reference, a.generate, a.clear_mask,
                       a.clear_edits, a.delete_object, a.flip_horizontal, a.flip_vertical,
                       a.rotate_left, a.rotate_right, a.scale_up, a.scale_down,
                       a.label_photo, a.edit_layout, a.adopt_layout):
            action.setEnabled(has)
        a.undo.setEnabled(has and doc.can_undo)
        a.redo.setEnabled(has and doc.can_redo)
        if has:
            for action, word, name in ((a.undo, "Undo", doc.history.undo_name),
                                       (a.redo, "Redo", doc.history.redo_name)):
                # The menu and the tooltip name the step; the toolbar keeps one word.
                action.setText(f"&{word} {name or ''}".strip())
                shown = action.shortcut().toString()
                action.setToolTip(f"{word} {name or ''}".strip() + f"  ({shown})")
        a.export_result.setEnabled(has and doc.last_result is not None)
        # Enabled for a stale result too, so that Ctrl+Enter explains why it does not apply.
        a.apply_result.setEnabled(has and doc.last_result is not None)
        a.fill_by_region.setEnabled(has and doc.regions is not None)
        a.cancel.setEnabled(self.worker.busy)
        self.setWindowTitle(self.session.title)
        self._show_tool()

    def _tool_changed(self, tool: Tool) -> None:
        action = self.acts.tools.get(tool)
        if action is not None:
            action.setChecked(True)
        else:
            for act in self.acts.tools.values():
                act.setChecked(False)
        self._show_tool()

    def _target_changed(self, target: LayoutTarget) -> None:
        labelling = LayoutTarget(target) is LayoutTarget.PHOTO
        (self.acts.label_photo if labelling else self.acts.edit_layout).setChecked(True)
        self._show_tool()
        self.canvas.update()

    def _show_tool(self) -> None:
        self.status.show_tool(tool_status_text(self.session))

    def _cursor_moved(self, x: int, y: int) -> None:
        doc = self.session.document
        shown = None if doc is None or x < 0 else doc.pick_class(
            x, y, target=self.session.layout_target)
        self.status.show_cursor(x, y, shown)

    def _job_started(self, job: Job) -> None:
        labels = {"generate": "Generating", "parse": "Parsing", "regions": "Regions"}
        self.status.busy(labels.get(job.kind, job.kind))
        self.acts.cancel.setEnabled(True)

    def _jobs_idle(self) -> None:
        if not self.worker.busy:
            self.status.idle()
            self.acts.cancel.setEnabled(False)

    def _busy_changed(self, busy: bool) -> None:
        self.acts.generate.setText("Generating…" if busy else "&Generate")
        self._refresh()

    def _preview_ready(self, image, stage: str) -> None:
        """The edit so far (the warp, then each coarse level): shown where the result will be."""
        self.canvas.renderer.set_preview(image)
        if self.canvas.mode is ViewMode.EDIT:
            self._view_before_preview = ViewMode.EDIT
            self.set_view_mode(ViewMode.RESULT)
        self.canvas.update()
        self.status.showMessage(f"Preview ({stage}) — refining…", 4000)

    def _preview_cleared(self) -> None:
        """No result will replace the preview (cancelled, failed, dropped, the layout changed):
        back to the view it switched from."""
        self.canvas.renderer.set_preview(None)
        before, self._view_before_preview = self._view_before_preview, None
        if before is not None and self.canvas.mode is ViewMode.RESULT:
            self.set_view_mode(before)
        self.canvas.update()

    def _result_ready(self, result: EditResult) -> None:
        # The canvas draws the result and its warp from the document (Layer.RESULT).
        self.canvas.renderer.set_preview(None)
        self._view_before_preview = None
        self.inspector.show_result(result)
        if self.canvas.mode is ViewMode.EDIT:
            self.set_view_mode(ViewMode.RESULT)
        self.canvas.update()
        secs = result.timings.get("total", 0.0)
        self.status.showMessage(f"Generated ({result.route}, {result.warp_backend}) in "
                                f"{secs:.1f}s — Ctrl+Enter applies it", 8000)
        self._refresh()

    def inspect_pixel(self, x: int, y: int) -> None:
        """Show the keys of photo pixel ``(x, y)`` on the canvas and in the inspector."""
        result = self.generation.current_result
        doc = self.session.document
        if result is None or doc is None:
            self.status.showMessage("Generate a result first: the inspector shows its keys.", 6000)
            return
        # A current result was made from the document's present references, in this order.
        keys = keys_at_pixel(result, x, y, references=len(doc.paste_sources()))
        self.inspector.show_pixel(keys, x, y)
        self.inspector.raise_()
        ins = None if keys is None else Inspection(
            (x, y), [(k.x, k.y, k.weight, k.source) for k in keys.keys if k.on_photo])
        self.canvas.overlays.set_inspection(ins)
        if self.canvas.mode is ViewMode.EDIT and self.canvas.renderer.has(ViewLayer.WARPED):
            self.set_view_mode(ViewMode.WARPED)

    # ---------------------------------------------------------------- dialogs
    def open_settings(self) -> None:
        from app.dialogs.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.settings, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.apply_settings(dialog.value())

    def apply_settings(self, settings: EditorSettings) -> None:
        if settings.parser != self.settings.parser:
            self.files.layouts.forget()  # a new parser: try it, ask again if it fails
        self.settings = settings
        self.acts.auto_generate.setChecked(settings.auto_generate)
        save_settings(self.store, settings)

    def open_models(self) -> None:
        from app.dialogs.model_manager import ModelManagerDialog

        ModelManagerDialog(self.settings, self).exec()

    def _fill_recent(self, paths: list[str]) -> None:
        menu = self.recent_menu
        menu.clear()
        for path in paths:
            action = menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.triggered.connect(lambda _=False, p=path: self.files.open_any(p))
        menu.setEnabled(bool(paths))

    # ---------------------------------------------------------------- window events
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            event.acceptProposedAction()
            self.files.open_any(urls[0])

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.files.confirm_discard():
            event.ignore()
            return
        save_settings(self.store, self.settings)
        self.worker.shutdown()
        event.accept()
