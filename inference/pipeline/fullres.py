"""Apply a working-resolution correspondence to full-resolution pixels.

When a large crop is warped at the working resolution (512 long side by default), upsampling the
warped image would throw away the photo's own detail -- the very thing HRS-Att is for. The
correspondence, though, is resolution-free: each full-resolution pixel takes the keys of its
nearest working-resolution query, shifted by its sub-pixel offset, and samples the *full-
resolution* sources there (bilinear), weighted as at the working resolution.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from inference.correspondence.base import Correspondence
from inference.synthesis.nnf import component_boxes


def resample_full_resolution(
    corr: Correspondence,
    sources: list[np.ndarray],        # full-resolution RGB uint8 of each source
    source_scales: list[float],       # working px per full-res px, per source
    out_size: tuple[int, int],        # (H, W) of the full-resolution target crop
    top_k: int = 8,
    rows_per_chunk: int = 256,
    want: np.ndarray | None = None,   # (H, W) bool: only these pixels' values matter
) -> np.ndarray:
    """Full-resolution warped image ``(H, W, 3)`` float32 in [0, 1]. With ``want``, only the
    boxes around its parts are resampled (the rest is left black: the caller composites it
    away), so an edit pays for its mask, not for the crop's context."""
    H, W = out_size
    k_all, _, h, w = corr.keys.shape
    k = min(top_k, k_all)
    weights, order = torch.topk(corr.weights.float().cpu(), k, dim=0)       # (k, h, w)
    weights = weights / weights.sum(0, keepdim=True).clamp_min(1e-8)
    keys = torch.gather(corr.keys.cpu(), 0, order[:, None].expand(k, 3, h, w))  # (k, 3, h, w)
    src_t = [torch.from_numpy(np.require(s, requirements=["C", "W"])).permute(2, 0, 1)[None]
             .float() / 255.0 for s in sources]
    sy, sx = h / H, w / W
    out = np.zeros((H, W, 3), np.float32)
    boxes = [(0, H, 0, W)] if want is None else [
        (b.y0, b.y1, b.x0, b.x1) for b in component_boxes(want, 0)]
    for by0, by1, bx0, bx1 in boxes:
        xs = (torch.arange(bx0, bx1, dtype=torch.float32) + 0.5) * sx - 0.5  # working x
        x0 = xs.round().clamp(0, w - 1).long()
        dx = xs - x0
        for r0 in range(by0, by1, rows_per_chunk):
            r1 = min(by1, r0 + rows_per_chunk)
            ys = (torch.arange(r0, r1, dtype=torch.float32) + 0.5) * sy - 0.5
            y0 = ys.round().clamp(0, h - 1).long()
            dy = ys - y0
            kk = keys[:, :, y0][:, :, :, x0]                                 # (k, 3, R, C)
            ww = weights[:, y0][:, :, x0]                                    # (k, R, C)
            acc = torch.zeros(3, r1 - r0, bx1 - bx0)
            for s, (img, scale) in enumerate(zip(src_t, source_scales)):
                sel = kk[:, 0] == s
                if not sel.any():
                    continue
                hs, ws = img.shape[-2:]
                # working source coordinate + sub-pixel offset -> full-res source coordinate
                fy = (kk[:, 1].float() + dy[None, :, None] + 0.5) / scale - 0.5
                fx = (kk[:, 2].float() + dx[None, None, :] + 0.5) / scale - 0.5
                grid = torch.stack([(fx + 0.5) / ws * 2 - 1, (fy + 0.5) / hs * 2 - 1], -1)
                # One batch-1 call over all k keys (stacked along rows), never k image copies.
                grid = grid.reshape(1, k * (r1 - r0), bx1 - bx0, 2)
                sampled = F.grid_sample(img, grid, mode="bilinear", padding_mode="border",
                                        align_corners=False).reshape(3, k, r1 - r0, bx1 - bx0)
                acc += (sampled * (ww * sel)[None]).sum(1)
            out[r0:r1, bx0:bx1] = acc.permute(1, 2, 0).numpy()
    return np.clip(out, 0.0, 1.0)
