"""``hrs-ms``: HRS-Att coarse-to-fine.

Paper 000's stated future work ("a multi-scale correspondence finding design that propagates
correspondence from initialized correspondence at a lower resolution"): solve at 1/4 resolution
with the full schedule, upsample the particles ×4 keeping each fine query's sub-cell
displacement, then refine at full resolution with a few iterations in a small window. The coarse
solve costs 1/16 of a full-resolution one. For an edit (``target_known`` given) the fine stage
refines only the unknown pixels and a rim of ``fine_rim`` px: the known ones are read only as
context, and keep the coarse solution. The rest is ``hrs``'s
(:class:`~inference.correspondence.backends.hrs.SparseAttentionBackend`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F

from inference.correspondence.atlas import (
    SourceAtlas,
    coarse_size,
    downsample_source,
    sample_labels,
)
from inference.correspondence.backends.hrs import (
    CoarseFn,
    PreparedSources,
    SparseAttentionBackend,
)
from inference.correspondence.base import FeatureMaps, FeatureProvider, WarpRequest
from inference.correspondence.sampling import (
    KeyIndexSampler,
    Propagate,
    SamplerConfig,
    dilate,
)
from inference.correspondence.sparse_warp import DEFAULT_GAMMA
from inference.errors import BadInputError
from inference.networks.normalize import channel_normalize_


@dataclass(frozen=True)
class HRSMultiScaleConfig:
    """``hrs-ms`` settings: ``sampler``'s full schedule at 1/``factor``, then a short one at full
    resolution that keeps the sampler's particles, samples, class penalty and band size (M must
    match for the coarse particles to seed the fine ones)."""

    factor: int = 4
    # measured: "particles" propagation is as good as "pools" here, and 1.5x faster
    sampler: SamplerConfig = field(
        default_factory=lambda: SamplerConfig(propagate="particles", chunk_size=None))
    fine_iterations: int = 3        # keys per query = particles · fine_iterations
    fine_window: float = 3.0        # pixels, first fine window half-size
    fine_window_decay: float = 0.5
    fine_extra_rounds: int = 1
    fine_propagate: Propagate = "particles"
    # With ``target_known`` (an edit), the fine stage searches only the unknown pixels and this
    # many px around them; the known ones keep the coarse solution, which is all that reads
    # them (context for propagation). None: everywhere.
    fine_rim: int | None = 4
    gamma: float = DEFAULT_GAMMA
    seed: int | None = None
    device: str = "cpu"

    def fine_sampler(self) -> SamplerConfig:
        return replace(self.sampler, iterations=self.fine_iterations,
                       window_decay=self.fine_window_decay, extra_rounds=self.fine_extra_rounds,
                       propagate=self.fine_propagate)


class HRSMultiScaleBackend(SparseAttentionBackend):
    """``hrs-ms``: solve at 1/4, upsample particles, refine at full resolution."""

    name = "hrs-ms"

    def __init__(self, config: HRSMultiScaleConfig | None = None,
                 features: FeatureProvider | None = None) -> None:
        super().__init__(config or HRSMultiScaleConfig(), features)
        if self.config.factor < 1:
            raise BadInputError(f"hrs-ms factor must be >= 1, got {self.config.factor}")
        self.coarse = KeyIndexSampler(self.config.sampler)
        self.fine = KeyIndexSampler(self.config.fine_sampler())

    @torch.no_grad()
    def prepare(self, request: WarpRequest, maps: FeatureMaps) -> PreparedSources:
        """The fine sources (see the base class) and the coarse ones, each source pooled by
        ``factor`` with its features re-normalised."""
        cfg, dev = self.config, self.device
        src = super().prepare(request, maps)
        coarse_sources, coarse_feats = [], []
        for s, f, (hs, ws) in zip(request.sources, maps.sources, src.atlas.sizes):
            size = coarse_size(hs, ws, cfg.factor)
            s = type(s)(s.image.to(dev), s.labels.to(dev),
                        None if s.exclude is None else s.exclude.to(dev))
            coarse_sources.append(downsample_source(s, size))
            f = f.to(dev, torch.float32)
            coarse_feats.append(channel_normalize_(F.adaptive_avg_pool2d(f[None], size)[0]))
        atlas_c = SourceAtlas.build(coarse_sources, dev)
        return replace(src, coarse=(atlas_c, atlas_c.pack_rows(coarse_feats)))

    def _sample(self, request, src: PreparedSources, uc, tl, gen, progress,
                cancel, coarse: CoarseFn | None = None) -> torch.Tensor:
        cfg = self.config
        h, w = tl.shape
        hc, wc = coarse_size(h, w, cfg.factor)
        uc_c = channel_normalize_(F.adaptive_avg_pool2d(uc[None], (hc, wc))[0])
        tl_c = sample_labels(tl, (hc, wc))
        atlas, (atlas_c, rows_c) = src.atlas, src.coarse
        total = cfg.sampler.iterations + cfg.fine_iterations

        def coarse_progress(done: int, _total: int) -> None:
            if progress is not None:
                progress(done, total)

        def fine_progress(done: int, _total: int) -> None:
            if progress is not None:
                progress(cfg.sampler.iterations + done, total)

        coarse_keys = self.coarse.sample(uc_c, tl_c, None, atlas_c.key_class, gen,
                                         progress=coarse_progress, cancel=cancel,
                                         atlas_rows=rows_c)
        init = self._upsample_particles(coarse_keys.particles, atlas_c, atlas, tl, gen)
        if coarse is not None:          # the first particle's pixels: a sharp first estimate
            flat = init[0, 0] * atlas.width + init[0, 1]
            coarse(atlas.image.reshape(3, -1)[:, flat.reshape(-1)].view(3, *flat.shape))
        fine = self.fine.sample(uc, tl, None, atlas.key_class, gen, init=init,
                                window_px=cfg.fine_window, progress=fine_progress, cancel=cancel,
                                atlas_rows=src.rows, active=self._fine_active(request, tl))
        return fine.keys

    def _fine_active(self, request: WarpRequest, tl: torch.Tensor) -> torch.Tensor | None:
        """The queries the fine stage refines: the unknown ones and ``fine_rim`` px around."""
        cfg = self.config
        if (request.target_known is None or cfg.fine_rim is None
                or cfg.fine_propagate != "particles"):
            return None
        active = dilate(~request.target_known.to(tl.device, torch.bool), cfg.fine_rim)
        return None if bool(active.all()) else active

    def _upsample_particles(
        self, particles: torch.Tensor, atlas_c: SourceAtlas, atlas: SourceAtlas,
        tl: torch.Tensor, gen: torch.Generator,
    ) -> torch.Tensor:
        """Coarse particles ``(M, 2, hc, wc)`` -> fine ``(M, 2, H, W)`` in the fine atlas.

        Each fine query keeps its offset inside its coarse cell, scaled to the source's own
        coarse-to-fine ratio, so a coherent coarse match becomes a coherent fine one. Particles
        that land on an invalid key restart from a class-aware random draw.
        """
        dev = self.device
        _, _, hc, wc = particles.shape
        h, w = tl.shape
        ys = torch.arange(h, device=dev, dtype=torch.float64)
        xs = torch.arange(w, device=dev, dtype=torch.float64)
        cy = ((ys + 0.5) * hc / h).floor().long().clamp_(max=hc - 1)        # coarse cell
        cx = ((xs + 0.5) * wc / w).floor().long().clamp_(max=wc - 1)
        dy = (ys + 0.5) * hc / h - (cy + 0.5)                                 # in (-0.5, 0.5]
        dx = (xs + 0.5) * wc / w - (cx + 0.5)
        p = particles[:, :, cy[:, None], cx[None, :]]                        # (M, 2, H, W)
        sc = atlas_c.source_coords(p[:, 0] * atlas_c.width + p[:, 1])        # (M, H, W, 3)
        s = sc[..., 0]
        hs = torch.tensor([sz[0] for sz in atlas.sizes], device=dev, dtype=torch.float64)[s]
        ws = torch.tensor([sz[1] for sz in atlas.sizes], device=dev, dtype=torch.float64)[s]
        hcs = torch.tensor([sz[0] for sz in atlas_c.sizes], device=dev, dtype=torch.float64)[s]
        wcs = torch.tensor([sz[1] for sz in atlas_c.sizes], device=dev, dtype=torch.float64)[s]
        fy = ((sc[..., 1] + 0.5 + dy[:, None]) * hs / hcs - 0.5).round()
        fx = ((sc[..., 2] + 0.5 + dx[None, :]) * ws / wcs - 0.5).round()
        fy = torch.minimum(fy.clamp_(min=0), hs - 1).long()
        fx = torch.minimum(fx.clamp_(min=0), ws - 1).long()
        flat = atlas.flat_from_source(s, fy, fx)                             # (M, H, W)
        bad = atlas.key_class.reshape(-1)[flat] < 0
        if bool(bad.any()):
            ry, rx = self.fine.random_init(tl.reshape(-1), atlas.key_class.reshape(-1),
                                            atlas.width, h, w, gen)          # (H, W, M)
            flat = torch.where(bad, (ry * atlas.width + rx).permute(2, 0, 1), flat)
        y = torch.div(flat, atlas.width, rounding_mode="floor")
        return torch.stack([y, flat - y * atlas.width], dim=1)               # (M, 2, H, W)
