"""Shared plumbing of the baseline backends (``patchmatch-gru``, ``bilevel``, ``msca``).

A :class:`KeyBank` flattens every source of a request, at one resolution, into a single index
space: key ``i`` is ``(source, y, x)``. Backends search that space for the best keys of each
query, then :func:`finish_warp` turns ``(K, H, W)`` key indices plus scores into the
:class:`~inference.correspondence.base.Correspondence` and the warped image at the output
resolution.

Exclusion is conservative under downsampling: a coarse cell is a valid key only when *every*
full-resolution pixel it covers is valid, so a coarse key mapped back to full resolution inside
its cell never lands on an excluded pixel (paper 000, appendix E: masked pixels must not be
warped from).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from inference.correspondence.base import (
    Correspondence,
    FeatureMaps,
    FeatureProvider,
    WarpRequest,
)
from inference.errors import BadInputError

NEG = -1e4  # score of an invalid key; finite so that softmax over an all-invalid row stays finite


@dataclass
class KeyBank:
    """All source pixels at one resolution, flattened into one index space."""

    feats: torch.Tensor          # (N, C) float, unit L2 norm per key (zeros where invalid);
                                 # row-major so that gathering keys reads contiguous rows
    valid: torch.Tensor          # (N,) bool
    colors: torch.Tensor | None  # (3, N) float [0, 1], only for banks used to warp
    offsets: torch.Tensor        # (S + 1,) int64: source s owns indices offsets[s]..offsets[s+1]
    sizes: list[tuple[int, int]]  # (h, w) of each source at this resolution

    @property
    def heights(self) -> torch.Tensor:  # (S,) int64
        return torch.tensor([h for h, _ in self.sizes], device=self.offsets.device)

    @property
    def widths(self) -> torch.Tensor:  # (S,) int64
        return torch.tensor([w for _, w in self.sizes], device=self.offsets.device)

    def coords(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Flat indices (any shape, all >= 0) -> ``(source, y, x)`` tensors of the same shape."""
        src = torch.searchsorted(self.offsets[1:], idx.contiguous(), right=True)
        src = src.clamp_max(len(self.sizes) - 1)
        local = idx - self.offsets[src]
        w = self.widths[src]
        return src, torch.div(local, w, rounding_mode="floor"), local % w

    def index(self, src: torch.Tensor, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``(source, y, x)`` -> flat indices; out-of-bounds coordinates give -1."""
        h, w = self.heights[src], self.widths[src]
        inside = (y >= 0) & (y < h) & (x >= 0) & (x < w)
        idx = self.offsets[src] + y.clamp(min=0) * w + x.clamp(min=0)
        return torch.where(inside, idx, torch.full_like(idx, -1))


def normalize(feats: torch.Tensor, dim: int = 0) -> torch.Tensor:
    """Zero-safe L2 normalisation along ``dim``."""
    return feats / feats.norm(dim=dim, keepdim=True).clamp_min(1e-6)


def scaled_size(hw: tuple[int, int], scale: float) -> tuple[int, int]:
    return max(1, math.ceil(hw[0] * scale - 1e-9)), max(1, math.ceil(hw[1] * scale - 1e-9))


def resize_features(feats: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
    """(C, H, W) -> (C, h, w): area/bilinear resize, then re-normalise per pixel."""
    if tuple(feats.shape[-2:]) == tuple(hw):
        return feats
    shrink = hw[0] <= feats.shape[-2] and hw[1] <= feats.shape[-1]
    out = F.interpolate(feats[None], size=hw, mode="area" if shrink else "bilinear",
                        **({} if shrink else {"align_corners": False}))[0]
    return normalize(out)


def valid_cells(exclude: torch.Tensor | None, full_hw: tuple[int, int], hw: tuple[int, int],
                device: torch.device) -> torch.Tensor:
    """(h, w) bool: True where no full-resolution pixel under the cell is excluded."""
    if exclude is None:
        return torch.ones(hw, dtype=torch.bool, device=device)
    ex = exclude.to(device=device, dtype=torch.float32)[None, None]
    if tuple(hw) != tuple(full_hw):
        ex = F.adaptive_max_pool2d(ex, hw)
    return ex[0, 0] < 0.5


def build_bank(request: WarpRequest, feature_maps: FeatureMaps, scale: float,
               device: torch.device, with_colors: bool = False) -> KeyBank:
    """A bank of every source at ``scale`` of its own size (1.0 = full resolution)."""
    feats, valid, colors, sizes = [], [], [], []
    for i, (src, f) in enumerate(zip(request.sources, feature_maps.sources)):
        full_hw = (int(src.image.shape[-2]), int(src.image.shape[-1]))
        hw = scaled_size(full_hw, scale)
        fi = resize_features(f.to(device=device, dtype=torch.float32), hw)    # (C, h, w)
        vi = valid_cells(src.exclude, full_hw, hw, device)                    # (h, w)
        feats.append((fi * vi).flatten(1).T)
        valid.append(vi.flatten())
        if with_colors:
            img = src.image.to(device=device, dtype=torch.float32)
            if tuple(img.shape[-2:]) != hw:
                img = F.interpolate(img[None], size=hw, mode="area")[0]
            colors.append(img.flatten(1))
        sizes.append(hw)
        if f.shape[-2:] != src.image.shape[-2:]:
            raise BadInputError(f"features of source {i} are {tuple(f.shape[-2:])}, "
                                f"its image is {full_hw}")
    all_valid = torch.cat(valid)
    if not bool(all_valid.any()):
        raise BadInputError("every source pixel is excluded: there is nothing to warp from")
    counts = torch.tensor([0] + [h * w for h, w in sizes], device=device)
    return KeyBank(feats=torch.cat(feats).contiguous(), valid=all_valid,
                   colors=torch.cat(colors, dim=1) if with_colors else None,
                   offsets=torch.cumsum(counts, 0), sizes=sizes)


def query_grid(hw: tuple[int, int], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Row and column index grids ``(h, w)`` int64."""
    ys = torch.arange(hw[0], device=device)[:, None].expand(hw)
    xs = torch.arange(hw[1], device=device)[None, :].expand(hw)
    return ys, xs


def coarse_cells(fine_hw: tuple[int, int], coarse_hw: tuple[int, int], device: torch.device
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """For every fine query (H, W): the row and column of the coarse cell that contains it."""
    ys, xs = query_grid(fine_hw, device)
    return (torch.div(ys * coarse_hw[0], fine_hw[0], rounding_mode="floor"),
            torch.div(xs * coarse_hw[1], fine_hw[1], rounding_mode="floor"))


def upsample_keys(idx: torch.Tensor, coarse: KeyBank, fine: KeyBank,
                  fine_hw: tuple[int, int]) -> torch.Tensor:
    """Offset-preserving upsampling of a key field (the classic NNF upsampling).

    ``idx`` (K, h, w) indexes ``coarse``; the result (K, H, W) indexes ``fine``. A fine query keeps
    its sub-cell position: query (2y + d) of key ky maps to key (2ky + d), so a coherent
    (e.g. translated) field stays pixel-exact instead of snapping to the coarse grid.
    """
    _, h, w = idx.shape
    big_h, big_w = fine_hw
    ys, xs = query_grid(fine_hw, idx.device)
    cy, cx = coarse_cells(fine_hw, (h, w), idx.device)                     # (H, W) coarse query
    fy = (ys.double() + 0.5) * h / big_h - cy                              # sub-cell position
    fx = (xs.double() + 0.5) * w / big_w - cx
    c_idx = idx[:, cy, cx]                                                 # (K, H, W)
    src, ky, kx = coarse.coords(c_idx)
    ratio_y = (fine.heights.double() / coarse.heights.double())[src]
    ratio_x = (fine.widths.double() / coarse.widths.double())[src]
    ny = torch.minimum(((ky + fy) * ratio_y).floor().long(), fine.heights[src] - 1)
    nx = torch.minimum(((kx + fx) * ratio_x).floor().long(), fine.widths[src] - 1)
    return fine.index(src, ny, nx)


def key_scores(bank: KeyBank, idx: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
    """Cosine scores of keys ``idx`` (K, P) against queries ``query`` (C, P) -> (K, P).

    Invalid or missing (-1) keys score ``NEG``.
    """
    safe = idx.clamp_min(0)
    keys = bank.feats[safe]                                     # (K, P, C)
    s = (keys * query.T[None]).sum(-1)                          # (K, P)
    ok = (idx >= 0) & bank.valid[safe]
    return torch.where(ok, s, torch.full_like(s, NEG))


def fill_invalid(idx: torch.Tensor, scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Replace invalid keys (score NEG) by the query's best key, so every key is addressable.

    ``idx``/``scores`` (K, ...) sorted best first; the copies keep score NEG (weight ~0).
    """
    bad = scores <= NEG / 2
    return torch.where(bad, idx[:1].expand_as(idx), idx), scores


def finish_warp(idx: torch.Tensor, weights: torch.Tensor, bank: KeyBank
                ) -> tuple[torch.Tensor, Correspondence]:
    """Warp with keys ``idx`` (K, H, W) into ``bank`` (full resolution, with colours).

    ``weights`` (K, H, W) sum to 1 over K. Returns the warped image (3, H, W) and the
    :class:`Correspondence`.
    """
    if bank.colors is None:
        raise ValueError("finish_warp needs a bank built with colours")
    k, h, w = idx.shape
    warped = torch.zeros(3, h, w, device=idx.device)
    for j in range(k):  # one key at a time keeps the gather at (3, H, W)
        warped += bank.colors[:, idx[j]] * weights[j]
    src, ky, kx = bank.coords(idx)                                       # (K, H, W) each
    keys = torch.stack([src, ky, kx], dim=1)                             # (K, 3, H, W)
    best = weights.argmax(0, keepdim=True)                               # (1, H, W)
    top = keys.gather(0, best[:, None].expand(1, 3, h, w))[0]            # (3, H, W)
    return warped.clamp(0.0, 1.0), Correspondence(keys=keys, weights=weights,
                                                  source_coords=top.float())


def default_feature_provider() -> FeatureProvider:
    """The hand-made semantic features (no checkpoint needed)."""
    from inference.correspondence.features import SemanticFeatures

    return SemanticFeatures()


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``"auto"`` (or None) picks CUDA when available."""
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)
