"""Key index sampling (paper 000, section 3.2 and appendix B): PatchMatch-style sparse keys.

For every query pixel ``q`` of the target and each of ``M`` particles, ``N`` iterations of

1. **initialise** a search pool ``P_q = {t_q} ∪ {t_q + w·R_i, i < k}``, ``R_i ~ U[-1, 1]²``;
2. **propagate** the pools of the 4 neighbours ``q'`` into ``P_q``; a neighbour's particle is
   carried over with its displacement (``t_q' + (q - q')``), as in PatchMatch, so coherent
   regions copy coherent pixels instead of one pixel repeated;
3. **evaluate** ``t_q <- argmax_{t ∈ P_q} s_qt``;
4. **accumulate** ``K_q <- K_q ∪ {t_q}``;

giving ``|K_q| = M·N`` keys. Paper 000's customisations for local editing are built in: a large
penalty on keys whose class differs from the query's, a window ``w`` decaying exponentially with
the iteration, and extra propagate-evaluate rounds per iteration. Keys that are padding or excluded
(``key_class == -1``, see :mod:`inference.correspondence.atlas`) score ``-inf`` and are never
chosen: particles start on valid keys and the current particle is always in its own pool.

Beyond the paper, particles are initialised uniformly among valid keys *of the query's class*
(falling back to all valid keys when the class is absent from every source); the penalty makes
any other initialisation a wasted iteration.

``propagate="pools"`` (the default, the paper's step 2) scores ``5·(1+k)`` candidates per particle
and iteration; ``"particles"`` first keeps the best of the own pool, then scores it against the 4
neighbours' picks (PatchMatch's classic order, ``(1+k) + 5`` candidates): about 1.7× faster at
equal warp PSNR on the toy scenes, and what ``hrs-ms`` uses.

Everything runs on whole-image tensors: random pools are one ``torch.rand`` call, propagation is
row/column shifts, evaluation walks bands of rows so that the largest intermediate, the gathered
candidate features ``(rows·W, M·5(1+k), C)``, is bounded by ``chunk_size`` queries whatever the
image size. Updates are Jacobi-style (all queries read the previous state), so results do not
depend on the chunk size. Deterministic given the ``torch.Generator``.

With ``active`` (and starting particles), only those queries search, walked as a list; the
others keep their starting particles and lend them to their neighbours' propagation. A
completion or an edit reads the keys only near its hole, so the rest of its box is context,
not work. With every query active the list walk gives the grid walk's keys bit for bit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from inference.errors import BadInputError
from inference.progress import CancelToken, ProgressFn

_INVALID = float("-inf")
Propagate = Literal["pools", "particles"]


@dataclass(frozen=True)
class SamplerConfig:
    """Key index sampling hyper-parameters (paper defaults N = 15, M = 2).

    Declared here once: the ``hrs``/``hrs-ms`` backend configs and training's ``WarpConfig`` nest
    one as their ``sampler`` field (see :func:`split_sampler_fields` for the flat spelling).
    """

    iterations: int = 15            # N: accumulate one key per particle per iteration
    particles: int = 2              # M
    samples: int = 2                # k random samples in the window per particle per iteration
    window_init: float = 0.5        # first window half-size as a fraction of the atlas long side
    window_decay: float = 0.7       # w_n = window_init · L · decay^n ...
    window_min: float = 1.0         # ... but never below this many pixels
    extra_rounds: int = 1           # propagate-evaluate rounds after each iteration's evaluate
    class_penalty: float = 10.0     # subtracted from s_qt across classes (s is in [-1, 1])
    chunk_size: int | None = 8192   # queries per evaluation band (bounds peak memory);
                                    # None: chosen by device (:func:`default_chunk_size`)
    class_aware_init: bool = True
    # "pools": the paper's step 2, a query scores its own and its 4 neighbours' whole pools,
    # 5·(1+k) candidates per particle. "particles": a query first picks the best of its own pool,
    # then of its and its neighbours' picks: (1+k) + 5 candidates, PatchMatch's classic order.
    propagate: Propagate = "pools"
    # The i-th of the k random samples is drawn in the window shrunk by ``ladder**i``: 1.0 draws
    # all in one window (the paper); 0.5 is PatchMatch's exponential random search, which finds
    # far and near candidates in one iteration (the patch synthesis uses it).
    ladder: float = 1.0
    # Queries of this class carry no class penalty (ADE20K's 0, "other", is no class at all).
    wildcard_class: int | None = None

    def __post_init__(self) -> None:
        for name in ("iterations", "particles", "chunk_size"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise BadInputError(f"sampler {name} must be >= 1, got {value}")
        if self.samples < 0 or self.extra_rounds < 0:
            raise BadInputError(
                f"sampler samples/extra_rounds must be >= 0, got {self.samples}/{self.extra_rounds}"
            )
        if self.propagate not in ("pools", "particles"):
            raise BadInputError(f"propagate must be 'pools' or 'particles', got {self.propagate!r}")
        if not 0.0 < self.window_decay <= 1.0:
            raise BadInputError(f"window_decay must be in (0, 1], got {self.window_decay}")
        if not 0.0 < self.ladder <= 1.0:
            raise BadInputError(f"ladder must be in (0, 1], got {self.ladder}")


SAMPLER_FIELDS = frozenset(f.name for f in fields(SamplerConfig))


def default_chunk_size(device: torch.device | str) -> int:
    """Queries per band when a config leaves it open: on CPU, bands whose gathers stay in cache;
    on CUDA, few bands, so few kernel launches."""
    return 2**20 if torch.device(device).type == "cuda" else 8192


def has_sampler(config_cls: type) -> bool:
    """Whether configs of this class nest a :class:`SamplerConfig` as ``sampler`` (and so take
    ``iterations``, ``particles`` and the other sampler fields)."""
    return any(f.name == "sampler" for f in fields(config_cls))


def split_sampler_fields(config_cls: type, values: Mapping[str, Any]
                         ) -> tuple[dict[str, Any], dict[str, Any]]:
    """``values`` split into ``(own, sampler)``: the sampler fields given flat (``iterations=5``,
    as the command line, the bench and checkpoints written before the sampler was nested give
    them) and everything else. Without a nested sampler, nothing is split off."""
    own = dict(values)
    if not has_sampler(config_cls):
        return own, {}
    names = {f.name for f in fields(config_cls)}
    flat = {k: own.pop(k) for k in list(own) if k not in names and k in SAMPLER_FIELDS}
    return own, flat


@dataclass
class SampledKeys:
    keys: torch.Tensor          # (K, H, W) int64 flat atlas indices, K = M·iterations
    particles: torch.Tensor     # (M, 2, H, W) int64 final particles (y, x) in the atlas


class KeyIndexSampler:
    """Samples ``M·N`` keys per query; see the module docstring. Stateless apart from stats."""

    def __init__(self, config: SamplerConfig | None = None) -> None:
        self.config = config or SamplerConfig()
        # Largest gathered-feature intermediate seen (elements); tests use it to check chunking.
        self.max_chunk_elements = 0

    @torch.no_grad()
    def sample(
        self,
        target_features: torch.Tensor,      # (C, H, W) channel-normalised
        target_labels: torch.Tensor,        # (H, W) int64
        atlas_features: torch.Tensor | None,  # (C, Ha, Wa); None when ``atlas_rows`` is given
        key_class: torch.Tensor,            # (Ha, Wa) int64, -1 = invalid key
        generator: torch.Generator,
        init: torch.Tensor | None = None,   # (M, 2, H, W) int64 starting particles (y, x)
        window_px: float | None = None,     # first window half-size in pixels (overrides init)
        iterations: int | None = None,
        extra: torch.Tensor | None = None,  # (H, W, E) flat atlas keys scored every iteration
        progress: ProgressFn | None = None,
        cancel: CancelToken | None = None,
        atlas_rows: torch.Tensor | None = None,  # (Ha·Wa, C) = ``key_rows(atlas_features)``
        active: torch.Tensor | None = None,  # (H, W) bool: only these queries search
    ) -> SampledKeys:
        """``M·N`` keys per query. With ``active``, only those queries search; the others
        keep their ``init`` particles (then required) and lend them to their active neighbours'
        propagation: a completion searches only where its votes land, not its whole box."""
        cfg = self.config
        n_iter = cfg.iterations if iterations is None else iterations
        c, h, w = target_features.shape
        ha, wa = key_class.shape
        if atlas_rows is None and atlas_features is None:
            raise BadInputError("the sampler needs the atlas features or their rows")
        m = cfg.particles
        dev = target_features.device
        # Row-major tables for flat gathers: (Ha·Wa, C) features and (Ha·Wa,) classes. A caller
        # that samples one atlas many times (the synthesis' EM) passes the rows made once.
        ux = key_rows(atlas_features) if atlas_rows is None else atlas_rows
        if tuple(ux.shape) != (ha * wa, c):
            raise BadInputError(f"atlas rows {tuple(ux.shape)} do not match {(ha * wa, c)}")
        kcls = key_class.reshape(-1).to(torch.int32).contiguous()
        uc = target_features.reshape(c, h * w).t().contiguous()            # (H·W, C)
        qcls = target_labels.to(dev, torch.int32).reshape(-1).contiguous()  # (H·W,)
        if active is not None:
            if init is None or cfg.propagate != "particles":
                raise BadInputError("searching only active queries needs init particles and "
                                    "propagate='particles'")
            return self._sample_active(uc, qcls, ux, kcls, (ha, wa), init, active.to(dev),
                                       generator, n_iter, window_px, extra, progress, cancel)
        if init is None:
            ty, tx = self.random_init(qcls, kcls, wa, h, w, generator)
        else:
            ty = init[:, 0].permute(1, 2, 0).contiguous()
            tx = init[:, 1].permute(1, 2, 0).contiguous()
        ty, tx = ty.to(dev, torch.int64), tx.to(dev, torch.int64)          # (H, W, M)
        t = ty * wa + tx                                                     # flat particles
        chunk = cfg.chunk_size or default_chunk_size(dev)
        ctx = _EvalContext(uc, qcls, ux, kcls, wa, cfg.class_penalty, max(1, chunk // w), self,
                           cfg.wildcard_class)
        keys = torch.empty(h, w, m * n_iter, dtype=torch.int64, device=dev)
        w0 = cfg.window_init * max(ha, wa) if window_px is None else window_px
        for n in range(n_iter):
            if cancel is not None:
                cancel.raise_if_cancelled()
            win = max(cfg.window_min, w0 * cfg.window_decay**n)
            # Initialise: pool = current particle + k random samples in the window.  (H, W, M, 1+k)
            pool = self._pool(t, win, (ha, wa), extra, generator)
            if cfg.propagate == "pools":
                t = ctx.propagate_evaluate(pool)
            else:
                t = ctx.propagate_evaluate(ctx.evaluate(pool)[..., None])
            for _ in range(cfg.extra_rounds):
                t = ctx.propagate_evaluate(t[..., None])
            keys[..., n * m:(n + 1) * m] = t                                 # accumulate
            if progress is not None:
                progress(n + 1, n_iter)
        ty = torch.div(t, wa, rounding_mode="floor")
        particles = torch.stack([ty, t - ty * wa], dim=-1).permute(2, 3, 0, 1).contiguous()
        return SampledKeys(keys=keys.permute(2, 0, 1).contiguous(), particles=particles)

    def _sample_active(self, uc, qcls, ux, kcls, atlas_shape, init, active, generator,
                       n_iter, window_px, extra, progress, cancel) -> SampledKeys:
        """:meth:`sample` over the ``active`` queries alone, as a list: each iteration draws
        their random pools, keeps the best, then scores it against the 4 neighbours' particles
        carried over (an inactive neighbour lends its fixed ``init`` particle); the same Jacobi
        updates as the whole-grid walk."""
        cfg = self.config
        ha, wa = atlas_shape
        m = cfg.particles
        h, w = active.shape
        dev = uc.device
        act = torch.nonzero(active.reshape(-1)).squeeze(1)                   # (A,)
        t = (init[:, 0] * wa + init[:, 1]).to(dev, torch.int64).reshape(m, h * w).t()
        t = t.contiguous()                                                   # (H·W, M)
        keys = t[:, None, :].expand(h * w, n_iter, m).reshape(h * w, n_iter * m).clone()
        if act.numel() > 0:
            ay = torch.div(act, w, rounding_mode="floor")
            ax = act - ay * w
            # the 4 neighbours and the flat atlas shift that carries their particle over; at
            # the border the query itself (shift 0), as in the whole-grid walk
            nb = torch.stack([torch.where(ay > 0, act - w, act),
                              torch.where(ay < h - 1, act + w, act),
                              torch.where(ax > 0, act - 1, act),
                              torch.where(ax < w - 1, act + 1, act)], 1)      # (A, 4)
            shift = torch.stack([torch.where(ay > 0, wa, 0), torch.where(ay < h - 1, -wa, 0),
                                 torch.where(ax > 0, 1, 0), torch.where(ax < w - 1, -1, 0)], 1)
            chunk = cfg.chunk_size or default_chunk_size(dev)
            ctx = _EvalContext(uc.index_select(0, act), qcls.index_select(0, act), ux, kcls, wa,
                               cfg.class_penalty, chunk, self, cfg.wildcard_class)
            ext = None if extra is None else extra.reshape(h * w, -1).index_select(0, act)
            w0 = cfg.window_init * max(ha, wa) if window_px is None else window_px
            for n in range(n_iter):
                if cancel is not None:
                    cancel.raise_if_cancelled()
                win = max(cfg.window_min, w0 * cfg.window_decay**n)
                pool = self._pool(t.index_select(0, act), win, (ha, wa), ext, generator)
                t[act] = ctx.evaluate(pool[:, None])[:, 0]
                for _ in range(1 + cfg.extra_rounds):
                    near = (t[nb] + shift[..., None]).transpose(1, 2)         # (A, M, 4)
                    cand = torch.cat([t.index_select(0, act)[..., None], near], 2)
                    t[act] = ctx.evaluate(cand[:, None])[:, 0]                # (A, 1, M, 5)
                keys[act, n * m:(n + 1) * m] = t.index_select(0, act)
                if progress is not None:
                    progress(n + 1, n_iter)
        ty = torch.div(t, wa, rounding_mode="floor")
        particles = torch.stack([ty, t - ty * wa], dim=-1).view(h, w, m, 2)
        return SampledKeys(keys=keys.t().reshape(n_iter * m, h, w).contiguous(),
                           particles=particles.permute(2, 3, 0, 1).contiguous())

    def _pool(self, own: torch.Tensor, win: float, atlas_shape: tuple[int, int],
              extra: torch.Tensor | None, generator: torch.Generator) -> torch.Tensor:
        """Each particle of ``own`` (flat keys, ``(..., M)``) with ``samples`` random keys in
        the window of half-size ``win`` around it (shrunk by ``ladder`` per sample) and the
        ``extra`` keys of its query (``(..., E)``): ``(..., M, 1 + k [+ E])``."""
        cfg = self.config
        ha, wa = atlas_shape
        dev = own.device
        r = torch.rand((2, *own.shape, cfg.samples), generator=generator, device=dev)
        if cfg.ladder < 1.0:
            span = win * cfg.ladder ** torch.arange(cfg.samples, device=dev)
            off = r.sub_(0.5).mul_(2.0 * span.clamp(min=cfg.window_min)).round_().long()
        else:
            off = r.mul_(2.0 * win).sub_(win).round_().long()
        oy = torch.div(own, wa, rounding_mode="floor")
        sy = (oy[..., None] + off[0]).clamp_(0, ha - 1)
        sx = (own - oy * wa)[..., None].add(off[1]).clamp_(0, wa - 1)
        pool = torch.cat([own[..., None], sy.mul_(wa).add_(sx)], dim=-1)
        if extra is not None:
            pool = torch.cat([pool, extra.unsqueeze(-2).expand(*own.shape, -1)], dim=-1)
        return pool

    def random_init(
        self, qcls: torch.Tensor, kcls: torch.Tensor, wa: int, h: int, w: int,
        generator: torch.Generator,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Particles uniformly among valid keys, of the query's class where it exists."""
        m = self.config.particles
        qcls, kcls = qcls.long(), kcls.long()
        valid = torch.nonzero(kcls >= 0).squeeze(1)                          # (V,)
        if valid.numel() == 0:
            raise BadInputError("no valid source pixel to copy from: every key is excluded")
        u = torch.rand((h * w, m), generator=generator, device=kcls.device, dtype=torch.float64)
        pick = (u * valid.numel()).long().clamp_(max=valid.numel() - 1)
        if self.config.class_aware_init:
            vcls = kcls[valid]
            order = torch.argsort(vcls, stable=True)
            valid = valid[order]
            ncls = int(max(int(vcls.max()), int(qcls.max()))) + 1
            counts = torch.bincount(vcls, minlength=ncls)
            starts = torch.cumsum(counts, 0) - counts
            n_q = counts[qcls][:, None]                                      # (H·W, 1)
            first = starts[qcls][:, None]
            in_class = torch.minimum(first + (u * n_q).long(), first + n_q - 1)
            pick = torch.where(n_q > 0, in_class, pick)
        flat = valid[pick].view(h, w, m)
        ty = torch.div(flat, wa, rounding_mode="floor")
        return ty, flat - ty * wa


def dilate(mask: torch.Tensor, r: int) -> torch.Tensor:
    """Pixels within ``r`` (Chebyshev) of ``mask``, ``(H, W)`` bool: the ``active`` queries
    around what is read (with ``r = patch // 2``, the queries whose patches cover it)."""
    if r <= 0:
        return mask
    if mask.device.type == "cpu":          # OpenCV's separable running max: far cheaper
        m = (mask != 0).numpy().view(np.uint8)
        return torch.from_numpy(cv2.dilate(m, np.ones((2 * r + 1, 2 * r + 1), np.uint8)) > 0)
    grown = F.max_pool2d(mask[None, None].float(), 2 * r + 1, stride=1, padding=r)
    return grown[0, 0] > 0


def key_rows(atlas_features: torch.Tensor) -> torch.Tensor:
    """``(C, Ha, Wa)`` -> the row-major ``(Ha·Wa, C)`` table the sampler gathers from."""
    c = atlas_features.shape[0]
    return atlas_features.reshape(c, -1).t().contiguous()


class _EvalContext:
    """Propagate + evaluate over bands of rows; holds the flat tables of one sampling run.

    Particles are flat atlas indices. A neighbour's particle carried over by ``q - q'`` is a flat
    shift of ``±Wa`` or ``±1``; a ``±1`` shift at the atlas' left/right edge wraps to the next
    row, which is merely a different (still scored, possibly invalid) candidate. Gather and score
    buffers are allocated once and reused: fresh multi-megabyte tensors per band cost page faults.
    """

    def __init__(self, uc, qcls, ux, kcls, wa, penalty, rows, owner, wildcard=None) -> None:
        self.uc, self.qcls, self.ux, self.kcls = uc, qcls, ux, kcls
        # a wildcard query matches every class: give it the class of whatever key it scores
        self.wild = None if wildcard is None else qcls == wildcard
        self.wa, self.penalty, self.rows, self.owner = wa, penalty, rows, owner
        self.last = ux.shape[0] - 1
        self._gbuf = ux.new_empty(0)
        self._sbuf = ux.new_empty(0)

    def _buffers(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self._gbuf.shape[0] < n:
            self._gbuf = self.ux.new_empty(n, self.ux.shape[1])
            self._sbuf = self.ux.new_empty(n)
        return self._gbuf[:n], self._sbuf[:n]

    def propagate_evaluate(self, pool: torch.Tensor) -> torch.Tensor:
        """Pools ``(H, W, M, P)`` flat -> best of own ∪ 4 neighbour pools, ``(H, W, M)``."""
        h, w, m, p = pool.shape
        dev = pool.device
        wa = self.wa
        new = torch.empty(h, w, m, dtype=torch.int64, device=dev)
        for r0 in range(0, h, self.rows):
            r1 = min(h, r0 + self.rows)
            own = pool[r0:r1]
            # Neighbour q' = q + d carries particle t' to q as t' + (q - q'); at the image
            # border the missing neighbour is replaced by q itself (shift 0).
            up = pool[r0 - 1:r1 - 1] + wa if r0 > 0 else torch.cat(
                [pool[:1], pool[:r1 - 1] + wa])
            down = pool[r0 + 1:r1 + 1] - wa if r1 < h else torch.cat(
                [pool[r0 + 1:r1] - wa, pool[h - 1:h]])
            left = torch.cat([own[:, :1], own[:, :-1] + 1], dim=1)
            right = torch.cat([own[:, 1:] - 1, own[:, -1:]], dim=1)
            cand = torch.cat([own, up, down, left, right], dim=-1).clamp_(0, self.last)
            cand = cand.view(-1, m * 5 * p)                                  # (Q, M·5P)
            scores = self.scores(r0 * w, r1 * w, cand).view(-1, m, 5 * p)
            best = scores.argmax(dim=-1, keepdim=True)                       # (Q, M, 1)
            new[r0:r1] = cand.view(-1, m, 5 * p).gather(-1, best).view(r1 - r0, w, m)
        return new

    def evaluate(self, pool: torch.Tensor) -> torch.Tensor:
        """Pools ``(H, W, M, P)`` -> best of each query's own pool, ``(H, W, M)``."""
        h, w, m, p = pool.shape
        new = torch.empty(h, w, m, dtype=torch.int64, device=pool.device)
        for r0 in range(0, h, self.rows):
            r1 = min(h, r0 + self.rows)
            cand = pool[r0:r1].clamp(0, self.last).view(-1, m * p)
            best = self.scores(r0 * w, r1 * w, cand).view(-1, m, p).argmax(-1, keepdim=True)
            new[r0:r1] = cand.view(-1, m, p).gather(-1, best).view(r1 - r0, w, m)
        return new

    def scores(self, q0: int, q1: int, cand: torch.Tensor) -> torch.Tensor:
        """``s_qt`` with class penalty and validity for queries ``q0:q1``; cand ``(Q, K)``."""
        q, k = cand.shape
        idx = cand.reshape(-1)
        gbuf, sbuf = self._buffers(q * k)
        torch.index_select(self.ux, 0, idx, out=gbuf)                        # (Q·K, C)
        self.owner.max_chunk_elements = max(self.owner.max_chunk_elements, gbuf.numel())
        s = sbuf.view(q, k, 1)
        torch.bmm(gbuf.view(q, k, -1), self.uc[q0:q1, :, None], out=s)
        s = s.view(q, k)
        kc = self.kcls.index_select(0, idx).view(q, k)
        if self.penalty:
            off = kc != self.qcls[q0:q1, None]
            if self.wild is not None:
                off &= ~self.wild[q0:q1, None]
            s.sub_(off.to(s.dtype), alpha=self.penalty)
        return s.masked_fill_(kc < 0, _INVALID)
