"""``dense``: CoCosNet's full softmax attention at 1/4 resolution (paper 003), the baseline.

Features are average-pooled to ``H/4 × W/4`` and re-normalised, the whole correlation matrix
``M(u, v) = <f_c(u), f_x(v)>`` of ``(HW/16)²`` entries is formed, and the image, also pooled to
1/4, is warped with ``softmax_v(α M(u, v))`` at ``α = 100`` (paper 003, Eq. 4: "we set its default
value as 100"); the ``H/4`` warp is then bilinearly upsampled to the output size. Excluded source
pixels (reconstruction mode) get ``-inf`` in the matrix, as paper 000's appendix E did for
CoCosNet; padding of the multi-source atlas too. CoCosNet has no class penalty, so it defaults
to 0 (``class_penalty`` switches on paper 000's).

The matrix is the method: memory is ``O((HW/16)²)``. Before allocating it the backend estimates
its size and raises :class:`MemoryBudgetError` (with the estimate) above ``memory_budget_mb``.
The :class:`Correspondence` holds the top-``top_k`` keys per query (weights renormalised over
them), at key cell centres in source pixels, nearest-upsampled to the output size.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from inference.correspondence.atlas import (
    SourceAtlas,
    check_request,
    coarse_size,
    downsample_source,
    sample_labels,
)
from inference.correspondence.base import (
    Correspondence,
    FeatureMaps,
    FeatureProvider,
    MemoryBudgetError,
    WarpRequest,
    WarpResult,
)
from inference.correspondence.features import SemanticFeatures
from inference.errors import BadInputError
from inference.networks.normalize import channel_normalize_
from inference.progress import CancelToken, ProgressFn

COCOSNET_ALPHA = 100.0


@dataclass(frozen=True)
class DenseConfig:
    factor: int = 4                 # correspondence at H/factor (paper 003: 4, 256 -> 64)
    gamma: float = COCOSNET_ALPHA
    top_k: int = 8                  # keys kept per query for visualisation
    class_penalty: float = 0.0      # paper 000's customisation; CoCosNet has none
    memory_budget_mb: int = 4096
    row_block: int = 4096           # rows per block when applying the class penalty in place
    seed: int | None = None         # unused: the method is deterministic
    device: str = "cpu"


def dense_memory_estimate(target_size: tuple[int, int], source_sizes: list[tuple[int, int]],
                          factor: int = 4) -> int:
    """Bytes of the float32 correlation matrix for these sizes (the dominant allocation)."""
    hq, wq = coarse_size(*target_size, factor)
    hk = max(coarse_size(h, w, factor)[0] for h, w in source_sizes)
    wk = sum(coarse_size(h, w, factor)[1] for h, w in source_sizes)
    return hq * wq * hk * wk * 4


class DenseBackend:
    """``dense``: paper 003's correspondence layer behind the common interface."""

    name = "dense"

    def __init__(self, config: DenseConfig | None = None,
                 features: FeatureProvider | None = None) -> None:
        self.config = config or DenseConfig()
        if self.config.factor < 1 or self.config.top_k < 1:
            raise BadInputError(f"dense: factor and top_k must be >= 1, got {self.config}")
        self.features = features if features is not None else SemanticFeatures()
        self.device = torch.device(self.config.device)

    def check_budget(self, request: WarpRequest) -> int:
        """Raise :class:`MemoryBudgetError` if the matrix would not fit; return its bytes."""
        est = dense_memory_estimate(tuple(request.target_labels.shape),
                                    [tuple(s.labels.shape) for s in request.sources],
                                    self.config.factor)
        budget = self.config.memory_budget_mb * 2**20
        if est > budget:
            raise MemoryBudgetError(self.name, "the (HW/16)² correlation matrix", est, budget)
        return est

    def warp(self, request: WarpRequest, progress: ProgressFn | None = None,
             cancel: CancelToken | None = None) -> WarpResult:
        check_request(request)
        self.check_budget(request)      # before computing anything
        t0 = time.perf_counter()
        maps = self.features(request)
        return self.warp_with_features(request, maps, progress, cancel,
                                       {"features": time.perf_counter() - t0})

    def warp_with_features(self, request: WarpRequest, maps: FeatureMaps,
                           progress: ProgressFn | None = None, cancel: CancelToken | None = None,
                           timings: dict[str, float] | None = None) -> WarpResult:
        check_request(request)
        self.check_budget(request)
        cfg, dev = self.config, self.device
        timings = dict(timings or {})
        t0 = time.perf_counter()
        with torch.no_grad():
            h, w = request.target_labels.shape
            hq, wq = coarse_size(h, w, cfg.factor)
            tl = request.target_labels.to(dev, torch.int64)
            fc = channel_normalize_(F.adaptive_avg_pool2d(maps.target.to(dev)[None], (hq, wq))[0])
            srcs, feats = [], []
            for src, f in zip(request.sources, maps.sources):
                size = coarse_size(*src.labels.shape, cfg.factor)
                moved = type(src)(src.image.to(dev), src.labels.to(dev),
                                  None if src.exclude is None else src.exclude.to(dev))
                srcs.append(downsample_source(moved, size))
                feats.append(channel_normalize_(F.adaptive_avg_pool2d(f.to(dev)[None], size)[0]))
            atlas_c = SourceAtlas.build(srcs, dev)
            if atlas_c.num_valid == 0:
                raise BadInputError("no valid source pixel to copy from: every key is excluded")
            c = fc.shape[0]
            fx = atlas_c.pack(feats).reshape(c, -1)                          # (C, Na)
            xl = atlas_c.image.reshape(3, -1).t()                            # (Na, 3)
            kcls = atlas_c.key_class.reshape(-1)                             # (Na,)
            if cancel is not None:
                cancel.raise_if_cancelled()
            corr = fc.reshape(c, -1).t() @ fx                                # (Nq, Na)
            if cfg.class_penalty:
                qcls = sample_labels(tl, (hq, wq)).reshape(-1)
                for r0 in range(0, corr.shape[0], cfg.row_block):            # in place, bounded
                    r1 = r0 + cfg.row_block
                    corr[r0:r1].sub_((qcls[r0:r1, None] != kcls[None]).float(),
                                     alpha=cfg.class_penalty)
            invalid = torch.nonzero(kcls < 0).squeeze(1)
            if invalid.numel():
                corr.index_fill_(1, invalid, float("-inf"))
            # softmax(α·M) in place: one (Nq, Na) buffer in all.
            corr.sub_(corr.amax(dim=1, keepdim=True)).mul_(cfg.gamma).exp_()
            z = corr.sum(dim=1, keepdim=True)                                # (Nq, 1)
            rl = (corr @ xl) / z                                             # (Nq, 3)
            k = min(cfg.top_k, corr.shape[1])
            top_w, top_i = corr.topk(k, dim=1)                               # (Nq, K)
            del corr
            top_w = top_w / top_w.sum(dim=1, keepdim=True).clamp_min(1e-30)
            warped_l = rl.t().reshape(1, 3, hq, wq)
            warped = F.interpolate(warped_l, size=(h, w), mode="bilinear", align_corners=False)
            correspondence = self._correspondence(atlas_c, request, top_i, top_w, (hq, wq), (h, w))
        if progress is not None:
            progress(1, 1)
        timings["warp"] = time.perf_counter() - t0
        return WarpResult(warped=warped[0].clamp_(0.0, 1.0), correspondence=correspondence,
                          backend=self.name, corr_resolution=(hq, wq), timings=timings)

    def _correspondence(self, atlas_c: SourceAtlas, request: WarpRequest, top_i: torch.Tensor,
                        top_w: torch.Tensor, coarse: tuple[int, int],
                        out: tuple[int, int]) -> Correspondence:
        """Top-K coarse keys -> source pixel coordinates at cell centres, at output size."""
        dev = top_i.device
        hq, wq = coarse
        h, w = out
        k = top_i.shape[1]
        sc = atlas_c.source_coords(top_i.t().reshape(k, hq, wq))             # (K, hq, wq, 3)
        s = sc[..., 0]
        full = torch.tensor([tuple(x.labels.shape) for x in request.sources], device=dev)
        small = torch.tensor(atlas_c.sizes, device=dev)
        ky = ((sc[..., 1] * 2 + 1) * full[s, 0]) // (2 * small[s, 0])        # cell centre
        kx = ((sc[..., 2] * 2 + 1) * full[s, 1]) // (2 * small[s, 1])
        keys_c = torch.stack([s, ky, kx], dim=1)                             # (K, 3, hq, wq)
        cy = ((torch.arange(h, device=dev) + 0.5) * hq / h).long().clamp_(max=hq - 1)
        cx = ((torch.arange(w, device=dev) + 0.5) * wq / w).long().clamp_(max=wq - 1)
        keys = keys_c[:, :, cy[:, None], cx[None, :]]                        # (K, 3, H, W)
        weights = top_w.t().reshape(k, hq, wq)[:, cy[:, None], cx[None, :]]  # (K, H, W)
        return Correspondence(keys=keys.contiguous(), weights=weights.contiguous(),
                              source_coords=keys[0].float())
