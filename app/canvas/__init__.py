"""The editing canvas, split into view (:mod:`.view`), rendering (:mod:`.rendering`),
interaction (:mod:`.interaction`) and previews (:mod:`.overlays`)."""

from __future__ import annotations

from app.canvas.view import CanvasView, ViewMode

__all__ = ["CanvasView", "ViewMode"]
