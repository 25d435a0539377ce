"""Menus and toolbars of the main window, built from the action bundle."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QMenu,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QToolBar,
    QToolButton,
    QWidget,
)

from app.actions import EditorActions


def build_menus(window: QMainWindow, a: EditorActions) -> QMenu:
    """All menus; returns the (empty) recent-files menu for the window to fill."""
    bar = window.menuBar()
    file = bar.addMenu("&File")
    file.addActions([a.open, a.open_project])
    recent = file.addMenu("Open &Recent")
    file.addSeparator()
    file.addActions([a.save, a.save_as])
    file.addSeparator()
    file.addActions([a.open_reference, a.import_labels])
    file.addSeparator()
    file.addActions([a.export_result, a.export_labels, a.export_labels_color, a.export_mask])
    file.addSeparator()
    file.addAction(a.quit)
    edit = bar.addMenu("&Edit")
    edit.addActions([a.undo, a.redo])
    edit.addSeparator()
    edit.addActions([a.label_photo, a.edit_layout, a.adopt_layout])
    edit.addSeparator()
    edit.addActions([a.brush_bigger, a.brush_smaller, a.fill_by_region])
    edit.addSeparator()
    edit.addActions([a.clear_mask, a.clear_edits, a.settings])
    tools = bar.addMenu("&Tools")
    tools.addActions(list(a.tools.values()))
    obj = bar.addMenu("&Object")
    obj.addActions([a.delete_object, a.flip_horizontal, a.flip_vertical, a.rotate_left,
                    a.rotate_right, a.scale_up, a.scale_down])
    view = bar.addMenu("&View")
    view.addActions([a.zoom_in, a.zoom_out, a.fit, a.actual_size])
    view.addSeparator()
    view.addActions([a.view_edit, a.view_result, a.view_compare, a.view_warped, a.before_after])
    view.addSeparator()
    view.addActions([a.show_labels, a.show_mask, a.show_regions])
    engine = bar.addMenu("E&ngine")
    engine.addActions([a.generate, a.cancel, a.apply_result, a.auto_generate])
    engine.addSeparator()
    engine.addActions([a.settings, a.models])
    return recent


def build_tool_bar(window: QMainWindow, a: EditorActions) -> QToolBar:
    bar = QToolBar("Tools", window)
    bar.setObjectName("tools")
    bar.setMovable(False)
    bar.setOrientation(Qt.Orientation.Vertical)
    bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
    for action in a.tools.values():
        bar.addAction(action)
    window.addToolBar(Qt.ToolBarArea.LeftToolBarArea, bar)
    return bar


def _slider(minimum: int, maximum: int, value: int, width: int,
            on_change: Callable[[int], None]) -> QSlider:
    slider = QSlider(Qt.Orientation.Horizontal)
    slider.setRange(minimum, maximum)
    slider.setValue(value)
    slider.setFixedWidth(width)
    slider.valueChanged.connect(on_change)
    return slider


def _caption(text: str) -> QLabel:
    label = QLabel(text)
    label.setStyleSheet("color: #8b8f98; padding: 0 4px 0 10px;")
    return label


@dataclass
class MainBar:
    """The main toolbar and the controls on it that the window reads or sets."""

    bar: QToolBar
    opacity: QSlider
    split: QSlider
    tolerance: QSpinBox


def build_main_bar(window: QMainWindow, a: EditorActions, opacity: Callable[[int], None],
                   split: Callable[[int], None], tolerance: Callable[[int], None]) -> MainBar:
    bar = QToolBar("Main", window)
    bar.setObjectName("main")
    bar.setMovable(False)
    bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    bar.addActions([a.open, a.save])
    bar.addSeparator()
    # The toolbar shows a fixed word; the step name ("Undo Paint") is in the menu and tooltip,
    # so the toolbar does not shift under the pointer with every edit.
    a.undo.setIconText("Undo")
    a.redo.setIconText("Redo")
    bar.addActions([a.undo, a.redo])
    bar.addSeparator()
    a.label_photo.setIconText("Label photo")
    a.edit_layout.setIconText("Edit layout")
    bar.addActions([a.label_photo, a.edit_layout])
    for action, name in ((a.label_photo, "labelStep"), (a.edit_layout, "editStep")):
        button = bar.widgetForAction(action)
        if isinstance(button, QToolButton):
            button.setObjectName(name)
    bar.addSeparator()
    bar.addActions([a.view_edit, a.view_result, a.view_compare, a.view_warped])
    bar.addWidget(_caption("Overlay"))
    opacity_slider = _slider(0, 100, 55, 90, opacity)
    opacity_slider.setToolTip("Label overlay opacity")
    bar.addWidget(opacity_slider)
    bar.addWidget(_caption("Split"))
    split_slider = _slider(0, 100, 50, 90, split)
    split_slider.setToolTip("Before | after split position (Compare view; or drag on the photo)")
    bar.addWidget(split_slider)
    bar.addWidget(_caption("Fill tolerance"))
    spin = QSpinBox()
    spin.setRange(0, 200)
    spin.setSingleStep(5)
    spin.setSpecialValueText("off")
    spin.setToolTip("0 (off): the fill takes the whole area or region. Above 0: only the part "
                    "whose photo colour is within this RGB distance of the clicked pixel, "
                    "which splits a region where the photo changes")
    spin.valueChanged.connect(tolerance)
    bar.addWidget(spin)
    spacer = QWidget()
    spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
    bar.addWidget(spacer)
    bar.addAction(a.auto_generate)
    bar.addAction(a.apply_result)
    bar.addAction(a.generate)
    button = bar.widgetForAction(a.generate)
    if isinstance(button, QToolButton):
        button.setObjectName("generate")
    window.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
    return MainBar(bar, opacity_slider, split_slider, spin)
