"""Nearest-neighbour fields across resolutions: from the semantic warp to the coarsest level, and
from each level to the next.

A field is ``(3, h, w)`` int64 ``(source, y, x)`` over a rectangle of the target at some level,
in each source's pixel grid at that level. Moving to another grid keeps every query's offset
inside its coarse cell, scaled by the source's own ratio, so a coherent coarse copy becomes a
coherent fine one (PatchMatch's upsampling; the same rule as ``hrs-ms``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class Box:
    """``[y0, y1) × [x0, x1)`` in a target grid."""

    y0: int
    y1: int
    x0: int
    x1: int

    @property
    def shape(self) -> tuple[int, int]:
        return self.y1 - self.y0, self.x1 - self.x0

    @staticmethod
    def of_mask(mask: torch.Tensor, margin: int) -> Box | None:
        ys = torch.nonzero(mask.any(1)).squeeze(1)
        xs = torch.nonzero(mask.any(0)).squeeze(1)
        if ys.numel() == 0:
            return None
        h, w = mask.shape
        return Box(max(0, int(ys[0]) - margin), min(h, int(ys[-1]) + 1 + margin),
                   max(0, int(xs[0]) - margin), min(w, int(xs[-1]) + 1 + margin))

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y1), slice(self.x0, self.x1)


def component_boxes(mask: np.ndarray, margin: int) -> list[Box]:
    """Boxes around ``mask``'s separate parts, each grown by ``margin`` (clipped to the map);
    overlapping boxes merge. A move's old and new places are two small problems, not one box
    spanning both."""
    import cv2

    grown = mask.astype(np.uint8)
    if margin > 0:
        grown = cv2.dilate(grown, np.ones((2 * margin + 1, 2 * margin + 1), np.uint8))
    _n, _, stats, _ = cv2.connectedComponentsWithStats(grown, connectivity=8)
    boxes = [Box(int(y), int(y + h), int(x), int(x + w)) for x, y, w, h, _a in stats[1:]]
    merged = True
    while merged and len(boxes) > 1:
        merged = False
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                a, b = boxes[i], boxes[j]
                if a.y0 < b.y1 and b.y0 < a.y1 and a.x0 < b.x1 and b.x0 < a.x1:
                    boxes[i] = Box(min(a.y0, b.y0), max(a.y1, b.y1), min(a.x0, b.x0),
                                   max(a.x1, b.x1))
                    del boxes[j]
                    merged = True
                    break
            if merged:
                break
    return boxes


def remap_field(
    field: torch.Tensor,                    # (3, hp, wp) on box_prev of target grid (Hp, Wp)
    box_prev: Box,
    target_prev: tuple[int, int],
    sizes_prev: list[tuple[int, int]],      # each source's grid at the previous level
    box_new: Box,
    target_new: tuple[int, int],
    sizes_new: list[tuple[int, int]],
    grids: tuple[tuple[float, float], tuple[float, float]] | None = None,
) -> torch.Tensor:
    """The field on ``box_new`` of the target grid ``target_new``: ``(3, hn, wn)`` int64.

    Both targets are taken to cover the same extent, unless ``grids = ((oy, ox) of the previous
    target window, (oy, ox) of the new one)`` place them as windows of a grid that halves or
    doubles with the sizes ratio (the photo's level grids).
    """
    dev = field.device
    ry = target_prev[0] / target_new[0]
    rx = target_prev[1] / target_new[1]
    (oyp, oxp), (oyn, oxn) = grids if grids is not None else ((0.0, 0.0), (0.0, 0.0))
    ys = torch.arange(box_new.y0, box_new.y1, device=dev, dtype=torch.float64)
    xs = torch.arange(box_new.x0, box_new.x1, device=dev, dtype=torch.float64)
    py = (ys + oyn + 0.5) * ry - oyp
    px = (xs + oxn + 0.5) * rx - oxp
    cy = py.floor().long().clamp_(box_prev.y0, box_prev.y1 - 1)
    cx = px.floor().long().clamp_(box_prev.x0, box_prev.x1 - 1)
    dy = py - (cy + 0.5)                                                     # cell offset
    dx = px - (cx + 0.5)
    f = field[:, (cy - box_prev.y0)[:, None], (cx - box_prev.x0)[None, :]]  # (3, hn, wn)
    s = f[0]
    hp = torch.tensor([sz[0] for sz in sizes_prev], device=dev, dtype=torch.float64)[s]
    wp = torch.tensor([sz[1] for sz in sizes_prev], device=dev, dtype=torch.float64)[s]
    hn = torch.tensor([sz[0] for sz in sizes_new], device=dev, dtype=torch.float64)[s]
    wn = torch.tensor([sz[1] for sz in sizes_new], device=dev, dtype=torch.float64)[s]
    # The offset is in target-grid cells of the previous level; in the source it spans the
    # same fraction of a cell (source and target cells shrink by the same factor).
    fy = ((f[1] + 0.5 + dy[:, None]) * hn / hp - 0.5).round()
    fx = ((f[2] + 0.5 + dx[None, :]) * wn / wp - 0.5).round()
    fy = torch.minimum(fy.clamp_(min=0), hn - 1).long()
    fx = torch.minimum(fx.clamp_(min=0), wn - 1).long()
    return torch.stack([s, fy, fx])
