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


def resample_full_resolution(
    corr: Correspondence,
    sources: list[np.ndarray],        # full-resolution RGB uint8 of each source
    source_scales: list[float],       # working px per full-res px, per source
    out_size: tuple[int, int],        # (H, W) of the full-resolution target crop
    top_k: int = 8,
    rows_per_chunk: int = 256,
) -> np.ndarray:
    """Full-resolution warped image ``(H, W, 3)`` float32 in [0, 1]."""
    H, W = out_size
    k_all, _, h, w = corr.keys.shape
    k = min(top_k, k_all)
    weights, order = torch.topk(corr.weights.float().cpu(), k, dim=0)       # (k, h, w)
    weights = weights / weights.sum(0, keepdim=True).clamp_min(1e-8)
    keys = torch.gather(corr.keys.cpu(), 0, order[:, None].expand(k, 3, h, w))  # (k, 3, h, w)
    src_t = [torch.tensor(s).permute(2, 0, 1)[None].float() / 255.0 for s in sources]
    sy, sx = h / H, w / W
    out = np.empty((H, W, 3), np.float32)
    xs = (torch.arange(W, dtype=torch.float32) + 0.5) * sx - 0.5           # working x of columns
    x0 = xs.round().clamp(0, w - 1).long()
    dx = xs - x0
    for r0 in range(0, H, rows_per_chunk):
        r1 = min(H, r0 + rows_per_chunk)
        ys = (torch.arange(r0, r1, dtype=torch.float32) + 0.5) * sy - 0.5
        y0 = ys.round().clamp(0, h - 1).long()
        dy = ys - y0
        kk = keys[:, :, y0][:, :, :, x0]                                     # (k, 3, R, W)
        ww = weights[:, y0][:, :, x0]                                        # (k, R, W)
        acc = torch.zeros(3, r1 - r0, W)
        for s, (img, scale) in enumerate(zip(src_t, source_scales)):
            sel = kk[:, 0] == s
            if not sel.any():
                continue
            hs, ws = img.shape[-2:]
            # working source coordinate + sub-pixel offset -> full-res source coordinate
            fy = (kk[:, 1].float() + dy[None, :, None] + 0.5) / scale - 0.5
            fx = (kk[:, 2].float() + dx[None, None, :] + 0.5) / scale - 0.5
            grid = torch.stack([(fx + 0.5) / ws * 2 - 1, (fy + 0.5) / hs * 2 - 1], -1)
            # One batch-1 call over all k keys (stacked along rows), never k copies of the image.
            grid = grid.reshape(1, k * (r1 - r0), W, 2)
            sampled = F.grid_sample(img, grid, mode="bilinear", padding_mode="border",
                                    align_corners=False).reshape(3, k, r1 - r0, W)
            acc += (sampled * (ww * sel)[None]).sum(1)
        out[r0:r1] = acc.permute(1, 2, 0).numpy()
    return np.clip(out, 0.0, 1.0)
