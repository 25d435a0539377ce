"""Where did this pixel come from? Maps an engine result's correspondence to source pixels.

The engine stores keys at the crop's working resolution, as ``(source, y, x)`` in each source's
own working grid: the crop of the photo, the whole photo, then each reference (see
``LayoutEditor.edit``). This module (no Qt) maps a full-resolution photo pixel to its query and
each key back to full-resolution pixels of its source, for the inspector (paper 000, Fig. 6).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the engine (torch) loads on first generate, not at start-up
    from inference.pipeline.editor import EditResult


@dataclass(frozen=True)
class SourceKey:
    source: int  # index into ``EditResult.sources``
    name: str
    x: float  # full-resolution pixel of that source
    y: float
    weight: float


@dataclass(frozen=True)
class PixelKeys:
    query: tuple[int, int]  # the photo pixel asked about
    working: tuple[int, int]  # (x, y) of its query at the working resolution
    in_mask: bool
    keys: tuple[SourceKey, ...]


def whole_scale(shape: tuple[int, ...], working_size: int) -> tuple[float, float]:
    """(x, y) working pixels per full pixel for a whole-image source (as the engine sizes it)."""
    h, w = shape[:2]
    s = min(1.0, working_size / max(h, w))
    return max(8, round(w * s)) / w, max(8, round(h * s)) / h


def keys_at_pixel(result: EditResult, x: int, y: int, source_shapes: list[tuple[int, ...]],
                  working_size: int) -> PixelKeys | None:
    """Keys of photo pixel ``(x, y)``; ``None`` when it lies outside the edited crop.

    ``source_shapes[i]`` is the full-resolution shape of source ``i`` (photo shapes for the
    photo sources, each reference's shape after them).
    """
    win, corr = result.window, result.correspondence
    if win is None or corr is None:
        return None
    if not (win.x0 <= x < win.x1 and win.y0 <= y < win.y1):
        return None
    sx, sy = win.work_w / win.width, win.work_h / win.height
    wx = min(max(round((x - win.x0 + 0.5) * sx - 0.5), 0), win.work_w - 1)
    wy = min(max(round((y - win.y0 + 0.5) * sy - 0.5), 0), win.work_h - 1)
    keys = []
    for source, ky, kx, weight in corr.keys_at(wy, wx):
        name = result.sources[source] if source < len(result.sources) else f"source {source}"
        if source == 0:  # the crop around the mask
            fx = win.x0 + (kx + 0.5) / sx - 0.5
            fy = win.y0 + (ky + 0.5) / sy - 0.5
        elif source < len(source_shapes):
            ax, ay = whole_scale(source_shapes[source], working_size)
            fx, fy = (kx + 0.5) / ax - 0.5, (ky + 0.5) / ay - 0.5
        else:
            continue
        keys.append(SourceKey(source, name, fx, fy, weight))
    in_mask = bool(result.mask[y, x])
    return PixelKeys((x, y), (wx, wy), in_mask, tuple(keys))
