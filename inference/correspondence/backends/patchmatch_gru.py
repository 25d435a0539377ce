"""``patchmatch-gru``: CoCosNet v2's hierarchical GRU-assisted PatchMatch (paper 004).

Levels run from 1/8 of the output resolution up to the output resolution itself, doubling each
time (paper 004, appendix B: 64, 128, 256, 512 for a 512 output). At the coarsest level every
query gets its K = 16 best keys from *dense* attention (all pair-wise similarities). At each finer
level the candidate field is upsampled (offset-preserving NNF upsampling) and improved by
iterations of

* **propagation** (paper 004 Eq. 5): each query also tries the candidates of its neighbours,
  shifted by the neighbour's offset (coherent matches), done with tensor shifts over row bands --
  never a Python loop over pixels; scan directions alternate as in PatchMatch;
* **refinement**: with trained weights, one ConvGRU step predicts a correction ``ΔH`` of every
  candidate (Eq. 6-7, :mod:`inference.networks.convgru`). Without weights the GRU is off
  (``timings["gru_enabled"] == 0``) and a *deterministic, non-learned* stand-in refines instead:
  the ``(2r+1)² - 1`` keys around each query's best key are evaluated (a local search of radius
  ``local_search_radius``, which fixes the ±1 px error that upsampling leaves).

Each step keeps the K best distinct candidates by cosine score. The warp is the softmax-weighted
sum over the K candidates (Eq. 8) with the sharpness of paper 003 (``α = 100``, i.e.
temperature 0.01): Eq. 8 prints a bare softmax, which over cosines in [-1, 1] is nearly uniform.

Nothing here is random, so the result is deterministic for any ``request.seed``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch

from inference.correspondence.atlas import check_request
from inference.correspondence.base import FeatureProvider, WarpRequest, WarpResult
from inference.correspondence.keybank import (
    NEG,
    KeyBank,
    build_bank,
    default_feature_provider,
    fill_invalid,
    finish_warp,
    key_scores,
    query_grid,
    resize_features,
    resolve_device,
    scaled_size,
    upsample_keys,
)
from inference.errors import CheckpointError
from inference.networks.convgru import (
    CHECKPOINT_NAME,
    ConvGRURefiner,
    ConvGRURefinerConfig,
)
from inference.progress import CancelToken, ProgressFn


@dataclass(frozen=True)
class PatchMatchGRUConfig:
    candidates: int = 16            # K nearest neighbours kept per query (paper 004, appx. B)
    coarsest_divisor: int = 8       # coarsest level = output / 8 (64² for a 512² output)
    min_coarse_side: int = 8        # never start coarser than this many pixels
    iterations: int = 5             # at most this many iterations per fine level
    converged_fraction: float = 1e-3  # stop a level once fewer queries change their best key
    temperature: float = 0.01       # softmax sharpness 1/α, α = 100 (paper 003, Eq. 4)
    local_search_radius: int = 1    # deterministic refinement used when the GRU is off
    chunk_elements: int = 1 << 24   # floats gathered at once (bounds peak memory)
    checkpoint: str | None = None   # folder/hf: location with a 'patchmatch_gru' network
    seed: int | None = None         # unused: nothing here is random
    device: str = "cpu"


class PatchMatchGRUBackend:
    """Warp backend ``patchmatch-gru`` (see the module doc)."""

    name = "patchmatch-gru"

    def __init__(
        self,
        config: PatchMatchGRUConfig | None = None,
        features: FeatureProvider | None = None,
        refiner: ConvGRURefiner | None = None,
    ) -> None:
        self.config = config or PatchMatchGRUConfig()
        self.features = features
        self.device = resolve_device(self.config.device)
        if self.config.checkpoint is not None and refiner is None:
            refiner = load_refiner(self.config.checkpoint)
        if refiner is not None and refiner.config.candidates != self.config.candidates:
            raise CheckpointError(
                f"patchmatch-gru refiner was trained for K={refiner.config.candidates} "
                f"candidates, the backend uses K={self.config.candidates}")
        self.refiner = refiner.to(self.device).eval() if refiner is not None else None

    # -- levels -----------------------------------------------------------------------------
    def level_scales(self, height: int, width: int) -> list[float]:
        """Scales of the levels, coarsest first, ending at 1.0 (the output resolution)."""
        cfg = self.config
        n = round(math.log2(cfg.coarsest_divisor))
        while n > 0 and min(height, width) / 2 ** n < cfg.min_coarse_side:
            n -= 1
        return [1.0 / 2 ** i for i in range(n, -1, -1)]

    # -- the warp ---------------------------------------------------------------------------
    def warp(self, request: WarpRequest, progress: ProgressFn | None = None,
             cancel: CancelToken | None = None) -> WarpResult:
        check_request(request)
        cfg, dev = self.config, self.device
        timings: dict[str, float] = {"gru_enabled": float(self.refiner is not None)}
        t0 = time.perf_counter()
        provider = self.features or default_feature_provider()
        fmaps = provider(request)
        target = fmaps.target.to(device=dev, dtype=torch.float32)            # (C, H, W)
        if self.refiner is not None and target.shape[0] != self.refiner.config.feat_channels:
            raise CheckpointError(
                f"patchmatch-gru refiner expects {self.refiner.config.feat_channels}-channel "
                f"features, the feature provider gives {target.shape[0]}")
        big_h, big_w = int(request.target_labels.shape[0]), int(request.target_labels.shape[1])
        timings["features"] = time.perf_counter() - t0

        scales = self.level_scales(big_h, big_w)
        total = 1 + (len(scales) - 1) * cfg.iterations
        done = 0
        t0 = time.perf_counter()
        bank = build_bank(request, fmaps, scales[0], dev, with_colors=len(scales) == 1)
        hw = scaled_size((big_h, big_w), scales[0])
        idx, scores = dense_topk(bank, resize_features(target, hw), cfg.candidates,
                                 cfg.chunk_elements)
        timings["coarse_dense"] = time.perf_counter() - t0
        done += 1
        if progress:
            progress(done, total)
        for level, scale in enumerate(scales[1:], start=1):
            t0 = time.perf_counter()
            fine = build_bank(request, fmaps, scale, dev, with_colors=scale == 1.0)
            hw = scaled_size((big_h, big_w), scale)
            query = resize_features(target, hw)                              # (C, h, w)
            idx = upsample_keys(idx, bank, fine, hw)                         # (K, h, w)
            bank = fine
            scores = key_scores(bank, idx.flatten(1), query.flatten(1)).view_as(idx)
            idx, scores = sort_by_score(idx, scores)
            hidden = None
            for t in range(cfg.iterations):
                if cancel:
                    cancel.raise_if_cancelled()
                prev = idx
                idx, scores = self._propagate(bank, query, idx, scores, t)
                if self.refiner is not None:
                    idx, scores, hidden = self._refine(bank, query, idx, scores, hidden)
                done += 1
                if progress:
                    progress(done, total)
                # "until convergence or a fixed number of iterations" (paper 004, sec. 3.2);
                # both scan directions must have had their turn before the field can be final.
                changed = (prev[0] != idx[0]).float().mean().item()
                if t >= 1 and changed < cfg.converged_fraction:
                    break
            timings[f"level_{hw[0]}x{hw[1]}"] = time.perf_counter() - t0
            timings[f"iterations_{hw[0]}x{hw[1]}"] = float(t + 1)
            done = 1 + level * cfg.iterations     # a converged level skips its remaining steps
            if progress:
                progress(done, total)

        t0 = time.perf_counter()
        idx, scores = fill_invalid(idx, scores)
        weights = torch.softmax(scores / cfg.temperature, dim=0)            # (K, H, W)
        warped, corr = finish_warp(idx, weights, bank)
        timings["warp"] = time.perf_counter() - t0
        return WarpResult(warped=warped, correspondence=corr, backend=self.name,
                          corr_resolution=(big_h, big_w), timings=timings)

    def _propagate(self, bank: KeyBank, query: torch.Tensor, idx: torch.Tensor,
                   scores: torch.Tensor, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """One parallel propagation step over row bands; returns the new (K, h, w) field."""
        cfg = self.config
        k, h, w = idx.shape
        # Alternate the scan direction as PatchMatch does: left/up, then right/down.
        dirs = [(0, -1), (-1, 0)] if step % 2 == 0 else [(0, 1), (1, 0)]
        r = cfg.local_search_radius if self.refiner is None else 0
        n_cand = k * (1 + len(dirs)) + (2 * r + 1) ** 2 - 1
        band = max(1, cfg.chunk_elements // max(1, n_cand * w * query.shape[0]))
        new_idx, new_scores = torch.empty_like(idx), torch.empty_like(scores)
        c = query.shape[0]
        # Pixel-major (P, Kc) inside a band: the gather reads contiguous rows, the per-pixel
        # scores are one batched matrix product and the sort runs along contiguous memory.
        for r0 in range(0, h, band):
            r1 = min(h, r0 + band)
            cand = band_candidates(bank, idx, r0, r1, dirs, r)                # (b, w, Kc)
            cand = cand.view(-1, cand.shape[-1])                              # (P, Kc)
            q = query[:, r0:r1].reshape(c, -1).T.contiguous()                 # (P, C)
            new = cand[:, k:].contiguous()
            g = bank.feats.index_select(0, new.clamp_min(0).flatten()).view(*new.shape, c)
            sc_new = torch.bmm(g, q[:, :, None])[..., 0]                      # (P, Kc-K)
            ok = (new >= 0) & bank.valid[new.clamp_min(0)]
            sc_new = torch.where(ok, sc_new, torch.full_like(sc_new, NEG))
            # The first K candidates are the queries' own keys: their scores are known.
            own = scores[:, r0:r1].reshape(k, -1).T                           # (P, K)
            top_i, top_s = select_distinct(cand, torch.cat([own, sc_new], dim=1), k)
            new_idx[:, r0:r1] = top_i.T.reshape(k, r1 - r0, w)
            new_scores[:, r0:r1] = top_s.T.reshape(k, r1 - r0, w)
        return new_idx, new_scores

    def _refine(self, bank: KeyBank, query: torch.Tensor, idx: torch.Tensor,
                scores: torch.Tensor, hidden: torch.Tensor | None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One ConvGRU step (paper 004, Eq. 6-7): H_{t+1} = H'_t + ΔH."""
        k, h, w = idx.shape
        src, ky, kx = bank.coords(idx.clamp_min(0))
        qy, qx = query_grid((h, w), idx.device)
        hs, ws = bank.heights[src].double(), bank.widths[src].double()
        # Offsets O_t = H'_t - p, with p mapped into the key's source frame; normalised by size.
        oy = (ky - (qy * hs / h).floor()) / hs
        ox = (kx - (qx * ws / w).floor()) / ws
        weights = torch.softmax(scores / self.config.temperature, dim=0)   # (K, h, w)
        fy = torch.zeros_like(query)
        for j in range(k):
            fy += bank.feats[idx[j].clamp_min(0)].permute(2, 0, 1) * weights[j]
        if hidden is None:
            hidden = self.refiner.initial_state(1, h, w, idx.device)
        offsets = torch.cat([oy, ox], dim=0).float()[None]                 # (1, 2K, h, w)
        with torch.no_grad():
            hidden, delta = self.refiner(hidden, query[None], fy[None], offsets, scores[None])
        dy = (delta[0, :k] * hs).round().long()
        dx = (delta[0, k:] * ws).round().long()
        ny = torch.minimum((ky + dy).clamp_min(0), bank.heights[src] - 1)
        nx = torch.minimum((kx + dx).clamp_min(0), bank.widths[src] - 1)
        moved = torch.where(idx >= 0, bank.index(src, ny, nx), idx)
        new_scores = key_scores(bank, moved.flatten(1), query.flatten(1)).view_as(scores)
        cand = torch.cat([idx, moved]).flatten(1).T                        # (P, 2K)
        top_i, top_s = select_distinct(cand, torch.cat([scores, new_scores]).flatten(1).T, k)
        return top_i.T.reshape(k, h, w), top_s.T.reshape(k, h, w), hidden


# -- building blocks (module level so the tests can exercise them) ----------------------------

def dense_topk(bank: KeyBank, query: torch.Tensor, k: int, chunk_elements: int
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """Dense attention top-k: query (C, h, w) against every key -> idx, scores (K, h, w)."""
    c, h, w = query.shape
    q = query.reshape(c, -1)                                              # (C, P)
    n = bank.feats.shape[0]
    kk = min(k, n)
    rows = max(1, chunk_elements // max(1, n))
    idx = torch.empty(k, h * w, dtype=torch.long, device=query.device)
    scores = torch.empty(k, h * w, device=query.device)
    for p0 in range(0, h * w, rows):
        sim = q[:, p0:p0 + rows].T @ bank.feats.T                         # (p, N)
        sim.masked_fill_(~bank.valid[None], NEG)
        top = sim.topk(kk, dim=1)
        ti, ts = top.indices.T, top.values.T                              # (kk, p)
        if kk < k:  # fewer keys than K: repeat the best with an invalid score
            ti = torch.cat([ti, ti[:1].expand(k - kk, -1)])
            ts = torch.cat([ts, torch.full_like(ts[:1], NEG).expand(k - kk, -1)])
        idx[:, p0:p0 + rows], scores[:, p0:p0 + rows] = ti, ts
    return idx.view(k, h, w), scores.view(k, h, w)


def band_candidates(bank: KeyBank, idx: torch.Tensor, r0: int, r1: int,
                    dirs: list[tuple[int, int]], radius: int) -> torch.Tensor:
    """Candidates (r1-r0, w, Kc) of the queries in rows r0..r1: own keys (first K), the
    neighbours' keys in ``dirs`` shifted by the neighbour offset, and the keys within ``radius``
    of the best key."""
    k, h, w = idx.shape
    b = r1 - r0
    lo, hi = max(r0 - 1, 0), min(r1 + 1, h)
    pad = torch.full((k, b + 2, w + 2), -1, dtype=idx.dtype, device=idx.device)
    pad[:, lo - (r0 - 1):hi - (r0 - 1), 1:w + 1] = idx[:, lo:hi]      # pad row j = image row r0-1+j
    src, ky, kx = bank.coords(pad.clamp_min(0))
    cands = [idx[:, r0:r1]]
    for dy, dx in dirs:
        # Neighbour (y+dy, x+dx) matched key q; the coherent match for (y, x) is q - (dy, dx).
        sl = (slice(None), slice(1 + dy, 1 + dy + b), slice(1 + dx, 1 + dx + w))
        shifted = bank.index(src[sl], ky[sl] - dy, kx[sl] - dx)
        cands.append(torch.where(pad[sl] >= 0, shifted, torch.full_like(shifted, -1)))
    if radius > 0:
        s1, y1, x1 = src[0, 1:b + 1, 1:w + 1], ky[0, 1:b + 1, 1:w + 1], kx[0, 1:b + 1, 1:w + 1]
        own = idx[0, r0:r1] >= 0
        for ay in range(-radius, radius + 1):
            for ax in range(-radius, radius + 1):
                if ay == 0 and ax == 0:
                    continue
                near = bank.index(s1, y1 + ay, x1 + ax)
                cands.append(torch.where(own, near, torch.full_like(near, -1))[None])
    return torch.cat([t.permute(1, 2, 0) for t in cands], dim=2)


def select_distinct(cand: torch.Tensor, scores: torch.Tensor, k: int
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """The k best *distinct* candidates of every row: cand, scores (P, Kc) -> (P, k)."""
    c_sorted, order = cand.sort(dim=1, stable=True)
    s_sorted = scores.gather(1, order)
    dup = torch.zeros_like(c_sorted, dtype=torch.bool)
    dup[:, 1:] = c_sorted[:, 1:] == c_sorted[:, :-1]
    s_sorted = s_sorted.masked_fill(dup, 2 * NEG)
    top = s_sorted.topk(k, dim=1)
    return c_sorted.gather(1, top.indices), top.values


def sort_by_score(idx: torch.Tensor, scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    order = scores.argsort(dim=0, descending=True, stable=True)
    return idx.gather(0, order), scores.gather(0, order)


def load_refiner(checkpoint: str) -> ConvGRURefiner:
    """The trained ConvGRU refiner from a checkpoint folder (network ``patchmatch_gru``)."""
    from inference.checkpoint import load_checkpoint

    return load_checkpoint(checkpoint).build(CHECKPOINT_NAME, ConvGRURefinerConfig,
                                             ConvGRURefiner)
