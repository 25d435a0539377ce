"""The Qt-free edit document: layers, operations, bounded undo/redo, events, project files.

The GUI draws an :class:`EditDocument` and calls its methods; it listens for
:class:`DocumentEvent` to repaint the changed box of the changed layer.
"""

from __future__ import annotations

from app.document.core import ResultRecord
from app.document.document import EditDocument
from app.document.events import BBox, DocumentEvent, EventEmitter, Layer, Listener
from app.document.history import ArrayDelta, History, HistoryStep, StateChange
from app.document.objects import ObjectSelection
from app.document.painting import LayoutTarget, check_class
from app.document.project import (
    FORMAT_VERSION,
    PROJECT_SUFFIX,
    load_project,
    project_bytes,
    save_project,
)
from app.document.references import Reference, ReferencePaste
from app.document.strokes import StrokeTool

__all__ = [
    "FORMAT_VERSION",
    "PROJECT_SUFFIX",
    "ArrayDelta",
    "BBox",
    "DocumentEvent",
    "EditDocument",
    "EventEmitter",
    "History",
    "HistoryStep",
    "Layer",
    "LayoutTarget",
    "Listener",
    "ObjectSelection",
    "Reference",
    "ReferencePaste",
    "ResultRecord",
    "StateChange",
    "StrokeTool",
    "check_class",
    "load_project",
    "project_bytes",
    "save_project",
]
