"""The editor's actions: one typed bundle, built once, shared by menus, toolbars and shortcuts.

Building every ``QAction`` in one place keeps shortcuts unique and lets tests trigger exactly
what a user's key press triggers (``window.actions.undo.trigger()``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QWidget

from app.icons import tool_icon
from app.session import Tool

TOOL_SHORTCUTS: dict[Tool, str] = {
    Tool.BRUSH: "B", Tool.ERASER: "E", Tool.FILL: "G", Tool.PICKER: "I", Tool.MOVE: "V",
    Tool.MASK: "M", Tool.INSPECT: "K",
}


@dataclass
class EditorActions:
    # files
    open: QAction
    open_project: QAction
    save: QAction
    save_as: QAction
    export_result: QAction
    import_labels: QAction
    export_labels: QAction
    export_labels_color: QAction
    export_mask: QAction
    open_reference: QAction
    quit: QAction
    # edit
    undo: QAction
    redo: QAction
    clear_mask: QAction
    clear_edits: QAction
    brush_bigger: QAction
    brush_smaller: QAction
    fill_by_region: QAction
    # which layout the tools write
    label_photo: QAction
    edit_layout: QAction
    adopt_layout: QAction
    # objects
    delete_object: QAction
    flip_horizontal: QAction
    flip_vertical: QAction
    rotate_left: QAction
    rotate_right: QAction
    scale_up: QAction
    scale_down: QAction
    # view
    zoom_in: QAction
    zoom_out: QAction
    fit: QAction
    actual_size: QAction
    show_labels: QAction
    show_mask: QAction
    show_regions: QAction
    view_edit: QAction
    view_result: QAction
    view_compare: QAction
    view_warped: QAction
    before_after: QAction
    # engine
    generate: QAction
    cancel: QAction
    apply_result: QAction
    auto_generate: QAction
    settings: QAction
    models: QAction
    # tools, by Tool
    tools: dict[Tool, QAction]

    def all(self) -> list[QAction]:
        out = []
        for f in fields(self):
            value = getattr(self, f.name)
            out.extend(value.values() if isinstance(value, dict) else [value])
        return out


def _act(parent: QWidget, text: str, shortcut: str | QKeySequence.StandardKey | None = None,
         tip: str = "", checkable: bool = False, checked: bool = False) -> QAction:
    action = QAction(text, parent)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    shown = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
    action.setToolTip(f"{tip or text.replace('…', '')}" + (f"  ({shown})" if shown else ""))
    action.setStatusTip(tip or text)
    if checkable:
        action.setCheckable(True)
        action.setChecked(checked)
    return action


def build_actions(parent: QWidget) -> EditorActions:
    """All actions, unconnected (the window connects them)."""
    a = _act
    tools = {}
    group = QActionGroup(parent)
    group.setExclusive(True)
    for tool, key in TOOL_SHORTCUTS.items():
        action = a(parent, tool.title, key, tool.title, checkable=True,
                   checked=tool is Tool.BRUSH)
        action.setIcon(tool_icon(tool))
        action.setData(tool.value)
        group.addAction(action)
        tools[tool] = action
    view_group = QActionGroup(parent)
    views = {}
    for name, key, tip in (("Layout", "1", "Edit the layout over the photo"),
                           ("Result", "2", "Show the generated result"),
                           ("Compare", "3", "Before | after with a split slider"),
                           ("Warped", "4", "The warped pixels (Eq. 7) before refinement")):
        views[name] = a(parent, name, key, tip, checkable=True, checked=name == "Layout")
        view_group.addAction(views[name])
    target_group = QActionGroup(parent)
    label_photo = a(parent, "&Label the Photo", "F2",
                    "Brush, eraser and fill describe the photo as it is (not an edit)",
                    checkable=True)
    edit_layout = a(parent, "&Edit the Layout", "F3",
                    "Brush, eraser and fill change the layout: Generate re-synthesises them",
                    checkable=True, checked=True)
    for action in (label_photo, edit_layout):
        target_group.addAction(action)
    return EditorActions(
        open=a(parent, "&Open…", QKeySequence.StandardKey.Open, "Open a photo or project"),
        open_project=a(parent, "Open &Project…", "Ctrl+Shift+O"),
        save=a(parent, "&Save Project", QKeySequence.StandardKey.Save),
        save_as=a(parent, "Save Project &As…", "Ctrl+Shift+S"),
        export_result=a(parent, "&Export Result…", "Ctrl+E", "Export the result (PNG/JPEG/WebP)"),
        import_labels=a(parent, "&Import Label Map…", "Ctrl+L"),
        export_labels=a(parent, "Export &Label Map…", "Ctrl+Shift+L"),
        export_labels_color=a(parent, "Export Label Map (&Colour)…"),
        export_mask=a(parent, "Export Edit &Mask…"),
        open_reference=a(parent, "Open &Reference Photo…", "Ctrl+R"),
        quit=a(parent, "&Quit", QKeySequence.StandardKey.Quit),
        undo=a(parent, "&Undo", "Ctrl+Z"),
        redo=a(parent, "&Redo", "Ctrl+Shift+Z"),
        clear_mask=a(parent, "Clear User Mask"),
        clear_edits=a(parent, "Revert All Layout Edits"),
        brush_bigger=a(parent, "Bigger Brush", "]"),
        brush_smaller=a(parent, "Smaller Brush", "["),
        fill_by_region=a(parent, "Fill Automatic Regions", "Shift+G",
                         "G fills a whole automatic region", checkable=True),
        label_photo=label_photo,
        edit_layout=edit_layout,
        adopt_layout=a(parent, "&Use as the Photo's Layout",
                       tip="Make the edited layout the photo's own layout (undoable): what "
                           "was painted as edits becomes labelling"),
        delete_object=a(parent, "&Delete Object", "Delete", "Remove the selected object"),
        flip_horizontal=a(parent, "Flip &Horizontally", "H"),
        flip_vertical=a(parent, "Flip &Vertically", "Shift+H"),
        rotate_left=a(parent, "Rotate Left 15°", "Shift+R"),
        rotate_right=a(parent, "Rotate Right 15°", "R"),
        scale_up=a(parent, "Enlarge 10%", "."),
        scale_down=a(parent, "Shrink 10%", ","),
        zoom_in=a(parent, "Zoom &In", QKeySequence.StandardKey.ZoomIn),
        zoom_out=a(parent, "Zoom &Out", QKeySequence.StandardKey.ZoomOut),
        fit=a(parent, "&Fit to Window", "Ctrl+0"),
        actual_size=a(parent, "&Actual Size (100%)", "Ctrl+1"),
        show_labels=a(parent, "Label Overlay", "L", checkable=True, checked=True),
        show_mask=a(parent, "Mask Overlay", "Shift+M", checkable=True, checked=True),
        show_regions=a(parent, "Region Borders", "Shift+B", checkable=True, checked=True),
        view_edit=views["Layout"],
        view_result=views["Result"],
        view_compare=views["Compare"],
        view_warped=views["Warped"],
        before_after=a(parent, "Show Before", "\\", "Toggle before / after", checkable=True),
        generate=a(parent, "&Generate", "Ctrl+G", "Re-synthesise the photo for this layout"),
        cancel=a(parent, "&Cancel", "Ctrl+.", "Cancel the running job"),
        apply_result=a(parent, "&Apply Result", "Ctrl+Return",
                       "Make the result the new photo (undoable)"),
        auto_generate=a(parent, "Auto-generate", None, "Generate after each edit",
                        checkable=True),
        settings=a(parent, "&Settings…", "Ctrl+,"),
        models=a(parent, "&Model Manager…"),
        tools=tools,
    )
