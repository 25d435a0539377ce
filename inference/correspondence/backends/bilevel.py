"""``bilevel``: RABIT's bi-level feature alignment, ranking + attention (paper 001, sec. 3).

The correspondence is computed at half the output resolution (paper 001, sec. 4: 128² for a 256²
output) in two levels:

1. **Top-k block ranking.** Features are grouped into ``block × block`` blocks (2×2, so b = 4
   features); a block's descriptor is the concatenation of its b features (``X_i ∈ R^{bd}``),
   compared by cosine similarity. Every query block retrieves its k = 3 most similar source
   blocks, over all sources at once. (The paper makes top-k differentiable with an optimal
   transport relaxation for training; at inference the hard top-k is what it computes.)
2. **Dense attention inside the retrieved blocks.** Each of the b query features attends to the
   k·b = 12 features of its retrieved blocks: softmax of cosine similarity with sharpness
   α = 100 (CoCosNet's, paper 003, whose dense attention RABIT restricts).

Memory is ``O(N² + HW·kb)`` in the paper; the ranking is evaluated in chunks of query blocks so
here it is ``O(chunk·N + HW·kb)``.

The 12 keys of each correspondence-resolution query are brought to the output resolution by
offset-preserving upsampling (a query's sub-cell position is kept in its keys), and the warp
copies full-resolution source pixels -- the same convention as ``patchmatch-gru``'s levels.
Excluded source pixels (reconstruction mode) never get weight: a block is ranked only if it has
a valid feature, and invalid features inside a retrieved block score ``NEG``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from inference.correspondence.atlas import check_request
from inference.correspondence.base import FeatureProvider, WarpRequest, WarpResult
from inference.correspondence.keybank import (
    NEG,
    KeyBank,
    build_bank,
    coarse_cells,
    default_feature_provider,
    fill_invalid,
    finish_warp,
    normalize,
    resize_features,
    resolve_device,
    scaled_size,
    upsample_keys,
)
from inference.progress import CancelToken, ProgressFn


@dataclass(frozen=True)
class BilevelConfig:
    corr_scale: float = 0.5         # correspondence at 1/2 of the output (128² for 256²)
    block: int = 2                  # block side: 2×2 blocks, b = 4 (paper 001, sec. 4)
    top_k: int = 3                  # retrieved blocks per query block (paper 001, sec. 4)
    temperature: float = 0.01       # softmax sharpness 1/α, α = 100 (paper 003, Eq. 4)
    chunk_elements: int = 1 << 24   # similarity entries held at once (bounds peak memory)
    seed: int | None = None         # unused: nothing here is random
    device: str = "cpu"


class BilevelBackend:
    """Warp backend ``bilevel`` (see the module doc)."""

    name = "bilevel"

    def __init__(self, config: BilevelConfig | None = None,
                 features: FeatureProvider | None = None) -> None:
        self.config = config or BilevelConfig()
        self.features = features
        self.device = resolve_device(self.config.device)

    def warp(self, request: WarpRequest, progress: ProgressFn | None = None,
             cancel: CancelToken | None = None) -> WarpResult:
        check_request(request)
        cfg, dev = self.config, self.device
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        fmaps = (self.features or default_feature_provider())(request)
        target = fmaps.target.to(device=dev, dtype=torch.float32)             # (C, H, W)
        big_hw = (int(request.target_labels.shape[0]), int(request.target_labels.shape[1]))
        hw = scaled_size(big_hw, cfg.corr_scale)
        query = resize_features(target, hw)                                   # (C, h, w)
        bank = build_bank(request, fmaps, cfg.corr_scale, dev)
        timings["features"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        idx, scores = rank_and_attend(bank, query, cfg, progress, cancel)    # (kb, h, w)
        timings["rank_attend"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        idx, scores = fill_invalid(idx, scores)
        weights = torch.softmax(scores / cfg.temperature, dim=0)              # (kb, h, w)
        fine = build_bank(request, fmaps, 1.0, dev, with_colors=True)
        idx = upsample_keys(idx, bank, fine, big_hw)                          # (kb, H, W)
        cy, cx = coarse_cells(big_hw, hw, dev)
        warped, corr = finish_warp(idx, weights[:, cy, cx], fine)
        timings["warp"] = time.perf_counter() - t0
        return WarpResult(warped=warped, correspondence=corr, backend=self.name,
                          corr_resolution=hw, timings=timings)


def to_blocks(feats: torch.Tensor, block: int, fill: float = 0.0) -> torch.Tensor:
    """(C, h, w) -> (nby * nbx, block², C), padding h and w up to multiples of ``block``."""
    c, h, w = feats.shape
    ph, pw = (-h) % block, (-w) % block
    x = F.pad(feats, (0, pw, 0, ph), value=fill)
    nby, nbx = x.shape[1] // block, x.shape[2] // block
    x = x.view(c, nby, block, nbx, block).permute(1, 3, 2, 4, 0)            # (nby, nbx, b, b, C)
    return x.reshape(nby * nbx, block * block, c)


def source_blocks(bank: KeyBank, block: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Blocks of every source: features (Nk, b², C) and flat key indices (Nk, b², -1 = padding)."""
    feats, index = [], []
    for s, (h, w) in enumerate(bank.sizes):
        lo = int(bank.offsets[s])
        f = bank.feats[lo:lo + h * w].T.reshape(-1, h, w)                     # (C, h, w)
        ids = torch.arange(lo, lo + h * w, device=f.device).view(1, h, w)
        feats.append(to_blocks(f, block))
        index.append(to_blocks(ids, block, fill=-1)[..., 0])
    return torch.cat(feats), torch.cat(index)


def rank_and_attend(bank: KeyBank, query: torch.Tensor, cfg: BilevelConfig,
                    progress: ProgressFn | None = None, cancel: CancelToken | None = None
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """Keys and scores (k·b, h, w) of every query at the correspondence resolution."""
    c, h, w = query.shape
    b, bb = cfg.block, cfg.block * cfg.block
    qb = to_blocks(query, b)                                                  # (Nq, bb, C)
    kb, kidx = source_blocks(bank, b)                                         # (Nk, bb, C)
    key_ok = (kidx >= 0) & bank.valid[kidx.clamp_min(0)]                      # (Nk, bb)
    block_ok = key_ok.any(1)                                                  # (Nk,)
    q_desc = normalize(qb.flatten(1), dim=1)                                  # (Nq, bb*C)
    k_desc = normalize(kb.flatten(1), dim=1)                                  # (Nk, bb*C)
    k = min(cfg.top_k, kb.shape[0])
    nq = qb.shape[0]
    out_idx = torch.empty(nq, bb, k * bb, dtype=torch.long, device=query.device)
    out_sc = torch.empty(nq, bb, k * bb, device=query.device)
    rows = max(1, cfg.chunk_elements // max(kb.shape[0], k * bb * bb * c))
    for q0 in range(0, nq, rows):
        if cancel:
            cancel.raise_if_cancelled()
        q1 = min(nq, q0 + rows)
        sim = q_desc[q0:q1] @ k_desc.T                                        # (n, Nk)
        sim.masked_fill_(~block_ok[None], NEG)
        top = sim.topk(k, dim=1).indices                                      # (n, k)
        keys = kidx[top].flatten(1)                                           # (n, k*bb)
        ok = key_ok[top].flatten(1)                                           # (n, k*bb)
        kf = kb[top].flatten(1, 2)                                            # (n, k*bb, C)
        att = qb[q0:q1] @ kf.transpose(1, 2)                                  # (n, bb, k*bb)
        att.masked_fill_(~ok[:, None], NEG)
        out_idx[q0:q1] = keys[:, None].expand(-1, bb, -1)
        out_sc[q0:q1] = att
        if progress:
            progress(q1, nq)
    # Blocks back to the (padded) grid, then crop: (Nq, bb, K) -> (K, h, w).
    nby, nbx = -(-h // b), -(-w // b)
    kk = k * bb

    def unblock(t: torch.Tensor) -> torch.Tensor:
        t = t.view(nby, nbx, b, b, kk).permute(4, 0, 2, 1, 3)                 # (K, nby, b, nbx, b)
        return t.reshape(kk, nby * b, nbx * b)[:, :h, :w]

    idx, scores = unblock(out_idx), unblock(out_sc)
    order = scores.argsort(dim=0, descending=True, stable=True)
    return idx.gather(0, order), scores.gather(0, order)
