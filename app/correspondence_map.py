"""Where did this pixel come from? Maps an engine result's correspondence to source pixels.

The engine stores keys at the crop's working resolution, as ``(source, y, x)`` in each source's
own working grid: the crop of the photo, the whole photo, then each reference; the result
carries each source's window (``EditResult.source_windows``). This module (no Qt) maps a
full-resolution photo pixel to its query and each key back to full-resolution pixels of its
source, for the inspector (paper 000, Fig. 6).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the engine (torch) loads on first generate, not at start-up
    from inference.pipeline.cropping import CropWindow
    from inference.pipeline.editor import EditResult


@dataclass(frozen=True)
class SourceKey:
    source: int  # index into ``EditResult.sources``
    name: str
    x: float  # full-resolution pixel of that source
    y: float
    weight: float
    on_photo: bool = True  # in the photo (its crop or the whole photo), not a reference


@dataclass(frozen=True)
class PixelKeys:
    query: tuple[int, int]  # the photo pixel asked about
    working: tuple[int, int]  # (x, y) of its query at the working resolution
    in_mask: bool
    keys: tuple[SourceKey, ...]


def _to_full(window: CropWindow, wx: float, wy: float) -> tuple[float, float]:
    """Full-resolution pixel of working pixel ``(wx, wy)`` of ``window`` (pixel centres)."""
    return (window.x0 + (wx + 0.5) * window.width / window.work_w - 0.5,
            window.y0 + (wy + 0.5) * window.height / window.work_h - 0.5)


def keys_at_pixel(result: EditResult, x: int, y: int, references: int = 0) -> PixelKeys | None:
    """Keys of photo pixel ``(x, y)``; ``None`` when it lies outside the edited crop.

    Each key is mapped through the window its source was warped at (``result.source_windows``,
    the sizes the result was made with, whatever the settings say now). ``references`` is how
    many reference photos the result was made with: the engine lists them last.
    """
    win, corr = result.window, result.correspondence
    if win is None or corr is None:
        return None
    if not (win.x0 <= x < win.x1 and win.y0 <= y < win.y1):
        return None
    sx, sy = win.work_w / win.width, win.work_h / win.height
    wx = min(max(round((x - win.x0 + 0.5) * sx - 0.5), 0), win.work_w - 1)
    wy = min(max(round((y - win.y0 + 0.5) * sy - 0.5), 0), win.work_h - 1)
    windows = result.source_windows
    photo_sources = len(windows) - references
    keys = []
    for source, ky, kx, weight in corr.keys_at(wy, wx):
        if source >= len(windows):
            continue
        name = result.sources[source] if source < len(result.sources) else f"source {source}"
        fx, fy = _to_full(windows[source], kx, ky)
        keys.append(SourceKey(source, name, fx, fy, weight, source < photo_sources))
    in_mask = bool(result.mask[y, x])
    return PixelKeys((x, y), (wx, wy), in_mask, tuple(keys))
