"""``hrs``: HRS-Att (paper 000, section 3.2) at the full working resolution.

Key index sampling (:mod:`inference.correspondence.sampling`) then sparse attentive warping
(:mod:`inference.correspondence.sparse_warp`). :class:`SparseAttentionBackend` is the plumbing
``hrs`` shares with its coarse-to-fine twin ``hrs-ms`` (:mod:`.hrs_ms`): features, validation,
device, atlas, warp and correspondence; a subclass only says how the keys are sampled.

Computes on ``config.device`` and returns tensors there (the caller moves them if needed).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from inference.correspondence.atlas import SourceAtlas, check_request
from inference.correspondence.base import (
    FeatureMaps,
    FeatureProvider,
    WarpRequest,
    WarpResult,
)
from inference.correspondence.features import SemanticFeatures
from inference.correspondence.sampling import (
    KeyIndexSampler,
    SamplerConfig,
    default_chunk_size,
    key_rows,
)
from inference.correspondence.sparse_warp import DEFAULT_GAMMA, sparse_attentive_warp
from inference.errors import BadInputError
from inference.progress import CancelToken, ProgressFn

CoarseFn = Callable[[torch.Tensor], None]      # a first estimate (3, H, W) of the warp


@dataclass(frozen=True)
class HRSConfig:
    """``hrs`` settings. ``sampler.chunk_size`` also bands the attentive warp; None (the
    default) picks it by device (:func:`~inference.correspondence.sampling.default_chunk_size`).
    """

    sampler: SamplerConfig = field(default_factory=lambda: SamplerConfig(chunk_size=None))
    gamma: float = DEFAULT_GAMMA
    seed: int | None = None         # None: use the request's seed
    device: str = "cpu"


@dataclass
class PreparedSources:
    """A warp's source side: the atlas, its features ``(C, Ha, Wa)`` and the same as rows
    (``(Ha·Wa, C)`` features, ``(Ha·Wa, 3)`` colours: what the sampler and the warp gather);
    ``coarse`` holds the multi-scale backend's coarse atlas and its feature rows."""

    atlas: SourceAtlas
    ux: torch.Tensor
    rows: torch.Tensor
    values: torch.Tensor
    coarse: tuple[SourceAtlas, torch.Tensor] | None = None


class SparseAttentionBackend:
    """Shared plumbing: features, validation, device, atlas, warp, correspondence."""

    name = ""

    def __init__(self, config, features: FeatureProvider | None) -> None:
        self.device = torch.device(config.device)
        if config.sampler.chunk_size is None:
            chunk = default_chunk_size(self.device)
            config = dataclasses.replace(
                config, sampler=dataclasses.replace(config.sampler, chunk_size=chunk))
        self.config = config
        self.features = features if features is not None else SemanticFeatures()

    def warp(
        self,
        request: WarpRequest,
        progress: ProgressFn | None = None,
        cancel: CancelToken | None = None,
    ) -> WarpResult:
        check_request(request)
        t0 = time.perf_counter()
        maps = self.features(request)
        timings = {"features": time.perf_counter() - t0}
        return self.warp_with_features(request, maps, progress, cancel, timings)

    @torch.no_grad()
    def prepare(self, request: WarpRequest, maps: FeatureMaps) -> PreparedSources:
        """The source side of a warp: the atlas and its feature and value tables. Several
        targets warped from the same sources (the editor's boxes) share one."""
        dev = self.device
        atlas = SourceAtlas.build(request.sources, dev)
        rows = atlas.pack_rows([f.to(dev, torch.float32) for f in maps.sources])  # (Ha·Wa, C)
        ux = rows.view(atlas.height, atlas.width, -1).permute(2, 0, 1)          # (C, Ha, Wa)
        return PreparedSources(atlas, ux, rows, key_rows(atlas.image))

    def warp_with_features(
        self,
        request: WarpRequest,
        maps: FeatureMaps,
        progress: ProgressFn | None = None,
        cancel: CancelToken | None = None,
        timings: dict[str, float] | None = None,
        prepared: PreparedSources | None = None,
        coarse: CoarseFn | None = None,
    ) -> WarpResult:
        """Warp with precomputed features (learned ones, or cached across calls) and, when
        given, the sources :meth:`prepare` made for these ``request.sources`` and ``maps``.
        ``coarse(image)`` receives a first estimate ``(3, H, W)`` -- each target pixel copied
        from where the coarse stage points -- as soon as a backend with one has it."""
        check_request(request)
        _check_maps(request, maps)
        timings = dict(timings or {})
        dev = self.device
        with torch.no_grad():
            t0 = time.perf_counter()
            src = prepared if prepared is not None else self.prepare(request, maps)
            atlas = src.atlas
            uc = maps.target.to(dev, torch.float32)                             # (C, H, W)
            tl = request.target_labels.to(dev, torch.int64)                     # (H, W)
            gen = torch.Generator(device=dev)
            gen.manual_seed(self.config.seed if self.config.seed is not None else request.seed)
            keys = self._sample(request, src, uc, tl, gen, progress, cancel, coarse)
            _sync(dev)
            timings["sampling"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            out = sparse_attentive_warp(
                uc[None], src.ux[None], atlas.image[None], keys[None], gamma=self.config.gamma,
                target_classes=tl[None], source_classes=atlas.key_class[None],
                class_penalty=self.config.sampler.class_penalty,
                chunk_size=self.config.sampler.chunk_size, source_rows=(src.rows, src.values))
            corr = atlas.correspondence(keys, out.weights[0])
            _sync(dev)
            timings["warp"] = time.perf_counter() - t0
        h, w = tl.shape
        return WarpResult(warped=out.warped[0].clamp_(0.0, 1.0), correspondence=corr,
                          backend=self.name, corr_resolution=(int(h), int(w)), timings=timings)

    def _sample(self, request, src: PreparedSources, uc, tl, gen, progress,
                cancel, coarse: CoarseFn | None = None) -> torch.Tensor:
        raise NotImplementedError


class HRSBackend(SparseAttentionBackend):
    """``hrs``: paper 000's HRS-Att at the full working resolution."""

    name = "hrs"

    def __init__(self, config: HRSConfig | None = None,
                 features: FeatureProvider | None = None) -> None:
        super().__init__(config or HRSConfig(), features)
        self.sampler = KeyIndexSampler(self.config.sampler)

    def _sample(self, request, src: PreparedSources, uc, tl, gen, progress,
                cancel, coarse: CoarseFn | None = None) -> torch.Tensor:
        # one stage at full resolution: no earlier estimate to offer ``coarse``
        return self.sampler.sample(uc, tl, None, src.atlas.key_class, gen, progress=progress,
                                   cancel=cancel, atlas_rows=src.rows).keys


def _check_maps(request: WarpRequest, maps: FeatureMaps) -> None:
    h, w = request.target_labels.shape
    if maps.target.dim() != 3 or tuple(maps.target.shape[1:]) != (h, w):
        raise BadInputError(f"target features {tuple(maps.target.shape)} do not match {(h, w)}")
    if len(maps.sources) != len(request.sources):
        raise BadInputError(
            f"{len(maps.sources)} source feature maps for {len(request.sources)} sources")
    for i, (f, s) in enumerate(zip(maps.sources, request.sources)):
        if tuple(f.shape) != (maps.target.shape[0], *s.labels.shape):
            raise BadInputError(f"source {i} features {tuple(f.shape)} do not match its labels "
                                f"{tuple(s.labels.shape)} / {maps.target.shape[0]} channels")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
