"""Training-free synthesis of the edited region: coarse-to-fine, label-guided patch completion.

The no-checkpoint refinement (the design's "training-free synthesis stage"). Wexler et al.'s
space-time completion as expectation-maximisation over an image pyramid, with the layouts as
guides as in Image Analogies (edited layout at the target, the source's own layout at each
source):

* **E-step, nearest patches**: HRS-Att's key index sampler (:mod:`inference.correspondence.
  sampling`: propagation with displacement, random search in a decaying window, a large penalty
  on keys of another class) run over patch descriptors -- the ``k×k`` Lab patch of the current
  estimate (known pixels exact) and the layout features (:mod:`.patches`), so its argmax is the
  nearest patch;
* **M-step, vote**: every hole pixel takes the votes of the patches covering it, a weighted
  mean-shift mode at the coarser levels and the best-matching patch's vote at the finest
  (:mod:`.voting`), so detail survives: neither an average (blur) nor per-pixel picks (speckle);
* **pyramid**: the coarsest level (``coarsest`` px long side) starts from the semantic warp's
  correspondence; each level's field is upsampled to the next; the finest level is the crop's
  full resolution up to ``max_size`` px (beyond it the last level's field is applied to the
  full-resolution sources with per-pixel continuous offsets, :func:`upsample_through_field`);
* **seam**: the output carries, per edge, the gradient of the places its pixels were copied
  from, which :func:`.blending.poisson_blend` integrates with the photo as boundary (a step
  between two copies integrates away; the caller, :mod:`inference.pipeline.synthesize`, then
  restores the fine detail, :func:`.blending.restore_detail`).

Sources are the photo (crop and whole, the pixels of the hole whose layout did not change left
out: they still show what was removed) and every reference; in reconstruction mode nothing
inside the mask is a source. Everything is whole-tensor torch (same code on CUDA); the only
Python loops are over levels, iterations, patch offsets and row bands.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from inference.cache import SourceCache
from inference.correspondence.atlas import SourceAtlas
from inference.correspondence.base import Correspondence, WarpSource
from inference.correspondence.sampling import KeyIndexSampler, SamplerConfig, dilate
from inference.errors import BadInputError
from inference.progress import CancelToken, ProgressFn
from inference.synthesis.levels import (
    LevelSource,
    SynthesisSource,
    half_up,
    materialise,
    resize_any,
    resize_features,
    resize_image,
    resize_labels,
    rgb_to_lab,
)
from inference.synthesis.nnf import Box, component_boxes, remap_field
from inference.synthesis.patches import (
    colour_descriptors,
    key_table,
    key_width,
    pca_basis,
    principal_axes,
    query_table,
)
from inference.synthesis.voting import AtlasView, VoteConfig, vote


@dataclass(frozen=True)
class SynthesisConfig:
    """Defaults measured on the realset (README, "Quality on real photos")."""

    max_size: int = 2048             # finest level's long side (the crop's full res up to this)
    coarsest: int = 48               # long side of the coarsest level, at most
    coarse_hole: int = 10            # the hole's short side at the coarsest level, at most
    min_size: int = 16               # long side of the coarsest level, at least
    max_levels: int = 2              # use only the finest this many levels (0: all)
    warp_start: bool = True          # the first level starts from the warped image
    patch: int = 7                   # patch side at levels of at least ``fine_from`` px
    coarse_patch: int = 5
    fine_from: int = 160
    components: int = 12             # principal components of the colour patches
    layout_weight: float = 1.0       # β: layout features against colour (Lab/10)², first level
    layout_weight_fine: float = 1.0  # β at the finer levels
    warp_candidates: bool = True     # the semantic warp's key is a candidate at every E-step
    position_weight: float = 0.5     # μ: preference for nearby photo pixels, (crop long side)⁻²
    reference_distance: float = 0.25  # a reference pixel counts as this far (squared)
    em_coarse: int = 5               # EM iterations at the coarsest level ...
    em_fine: int = 2                 # ... and at every finer level
    search_coarse: int = 4           # sampler iterations per E-step at the coarsest level
    search_fine: int = 2
    extra_rounds: int = 0            # propagation rounds per sampler iteration beyond its one
    window: float = 0.5              # search window, fraction of the atlas long side ...
    samples: int = 6                 # ... with this many random candidates per iteration,
    ladder: float = 0.5              # the i-th in the window shrunk by ladder**i (PatchMatch)
    class_penalty: float = 1.0e3
    source_budget: int = 3_000_000   # px per source at any level
    vote: VoteConfig = field(default_factory=VoteConfig)
    final_mode_iterations: int = 2   # mean-shift rounds of the finest level's vote
    final_vote: str = "best"         # finest level: the best patch's vote alone, or "meanshift"
    mode_iterations: int = 2         # ... and of every other vote
    blend: bool = True               # gradient-domain blend at the seam (:mod:`.blending`)
    poisson: bool = True             # ... integrating the sources' gradients over the hole
    poisson_iterations: int = 400    # conjugate-gradient iterations at most
    detail_sigma: float = 1.0        # px: detail finer than this from the synthesis itself
    low_sigma: float = 0.0           # px: colours below this scale from the photo around
    init_low_sigma: float = 16.0     # px: the same for the warped image the first level starts
    layout_components: int = 10      # principal components of the layout features (0: all)
    seed: int = 0


@dataclass
class SynthesisTarget:
    """The crop to complete, at full resolution, as a window ``crop = (y0, y1, x0, x1)`` of
    the photo source (the source with ``grid=True``), whose size the arrays have."""

    known: np.ndarray           # (Hp, Wp, 3) uint8: the photo, with any fixed pixels pasted in
    hole: np.ndarray            # (Hp, Wp) bool: pixels to synthesise (inside the crop)
    labels: np.ndarray          # (Hp, Wp) edited layout
    features: torch.Tensor      # (Cf, h, w) edited-layout features over the crop (any res)
    crop: tuple[int, int, int, int]
    initial: np.ndarray | None = None   # (Hc, Wc, 3) float: first estimate of the crop

    @property
    def crop_shape(self) -> tuple[int, int]:
        return self.crop[1] - self.crop[0], self.crop[3] - self.crop[2]

    def cut(self, array: np.ndarray) -> np.ndarray:
        y0, y1, x0, x1 = self.crop
        return array[y0:y1, x0:x1]


@dataclass
class GradientGuide:
    """Wanted differences along x ``(H, W-1, 3)`` and y ``(H-1, W, 3)`` of the finest level,
    and the edges where they are the sources' gradient, not the synthesis' own (removed seams)."""

    gx: np.ndarray
    gy: np.ndarray
    seam_x: np.ndarray          # (H, W-1) bool
    seam_y: np.ndarray          # (H-1, W) bool


@dataclass
class SynthesisOutput:
    image: np.ndarray                   # (H, W, 3) float32 [0, 1] at the crop's full res
    ring: np.ndarray                    # (H, W) bool: known pixels the synthesis also voted
    field: torch.Tensor                 # (3, h, w) the finest level's NNF (source, y, x)
    level_shape: tuple[int, int]        # (h, w) of the finest level
    timings: dict[str, float]
    guide: GradientGuide | None = None  # the sources' gradients (blending)


@dataclass
class _KeySide:
    """The sources' side of the patch search at one level: the colour PCA, the layout
    features' projection and the key table (row-major: the sampler gathers rows). It depends
    on the sources alone -- both bases are fitted on all their pixels with a generator of their
    own, positions are in a unit of the photo's grid, not the crop's -- so with a cache it is
    made once per photo and level; an edit makes only its target's side."""

    filters: torch.Tensor                 # (D, 3, k, k) colour PCA
    mean: torch.Tensor                    # (3·k·k,)
    layout: torch.Tensor | None           # (k', Cf) layout projection (None: every channel)
    shift: torch.Tensor | None            # (k', 1)
    rows: torch.Tensor                    # (Ha·Wa, C) key table
    unit: float                           # level px per unit of the keys' positions
    references: bool                      # a source is a reference (the indicator column)

    def project(self, features: torch.Tensor) -> torch.Tensor:
        """Layout features ``(Cf, h, w)`` on the projection, ``(k', h, w)``."""
        if self.layout is None:
            return features
        c, h, w = features.shape         # (k, C) @ (C, N): no transposed copy of the map
        out = self.layout @ features.reshape(c, -1)
        return out.sub_(self.shift).reshape(-1, h, w)


@dataclass
class _Level:
    """One pyramid level: its target arrays, sources, atlas and key table."""

    index: int
    scale: float
    size: tuple[int, int]
    patch: int
    est: torch.Tensor           # (3, h, w) current estimate (known pixels exact)
    hole: torch.Tensor          # (h, w) bool
    labels: torch.Tensor        # (h, w) int64 edited layout
    features: torch.Tensor      # (Cf', h, w) target layout features (projected; zero outside
                                # the boxes, where nothing reads them)
    sources: list[LevelSource]
    atlas: SourceAtlas
    keys: _KeySide              # the key table and what it was made with (once per photo)
    beta: float
    origin: tuple[int, int]     # the target window's corner in the photo's level grid
    mu: float                   # μ for positions in the keys' unit (rescaled to this crop)
    boxes: list[Box]            # around the hole's parts: where the EM works

    @functools.cached_property
    def view(self) -> AtlasView:
        return AtlasView(self.atlas.image, self.atlas.key_class, self.atlas.column_source)

    @property
    def key_rows(self) -> torch.Tensor:
        return self.keys.rows



class PatchSynthesis:
    """Runs the completion; see the module docstring."""

    def __init__(self, config: SynthesisConfig | None = None, device: str = "cpu",
                 cache: SourceCache | None = None) -> None:
        self.config = config or SynthesisConfig()
        self.device = torch.device(device)
        self.cache = cache          # sources at each level, kept across edits of one photo

    def levels(self, h: int, w: int, hole_short: int) -> list[float]:
        """Target scales, coarsest first.

        The coarsest level is at most ``coarsest`` px long and small enough that the hole is
        only ``coarse_hole`` px across (a couple of patches: there EM has no room to settle on a
        texture out of step with the hole's rim), but never under ``min_size`` px long; with
        ``max_levels`` only that many of the finest are kept (they start from the warp).
        """
        cfg = self.config
        top = min(1.0, cfg.max_size / max(h, w))
        long_side = max(h, w) * top
        want = max(math.log2(long_side / cfg.coarsest),
                   math.log2(max(hole_short * top, 1.0) / cfg.coarse_hole))
        most = math.floor(math.log2(max(long_side / cfg.min_size, 1.0)))
        n = 1 + min(max(0, math.ceil(want)), most)
        scales = [top / 2**i for i in reversed(range(n))]
        return scales[-cfg.max_levels:] if cfg.max_levels else scales

    def run(
        self,
        target: SynthesisTarget,
        sources: list[SynthesisSource],
        init: Correspondence,
        init_sizes: list[tuple[int, int]],
        progress: ProgressFn | None = None,
        cancel: CancelToken | None = None,
        level_done: Callable[[np.ndarray, str], None] | None = None,
    ) -> SynthesisOutput:
        """Complete ``target.hole`` from ``sources``.

        ``level_done(estimate, stage)`` receives each level's estimate but the finest (``(h, w,
        3)`` float at that level's size of the crop) as soon as it exists: a preview.

        ``init`` is the semantic warp's correspondence over the whole crop at its working
        resolution, its sources in the order of ``sources`` with working sizes ``init_sizes``.
        """
        cfg = self.config
        dev = self.device
        if not target.hole.any():
            raise BadInputError("nothing to synthesise: the hole is empty")
        if sum(s.grid for s in sources) != 1 or not sources[0].grid:
            raise BadInputError("synthesis needs the photo (grid=True) as its first source")
        h_full, w_full = target.crop_shape
        scales = self.levels(h_full, w_full, _short_side(target.cut(target.hole)))
        gen = torch.Generator(device=dev)
        gen.manual_seed(cfg.seed)
        timings: dict[str, float] = {}
        unit = float(max(h_full, w_full))
        steps = cfg.em_coarse + cfg.em_fine * (len(scales) - 1)
        done = 0
        warp_field = init.source_coords.round().long().to(dev)
        warp_shape = tuple(int(v) for v in init.source_coords.shape[1:])
        prev = (warp_field, warp_shape, list(init_sizes))
        lvl = synth = None
        for li, s in enumerate(scales):
            t0 = time.perf_counter()
            lvl = self._level(li, s, target, sources, unit)
            sizes = [x.size for x in lvl.sources]
            full = Box(0, lvl.size[0], 0, lvl.size[1])
            if li == 0:
                fld = remap_field(prev[0], Box(0, prev[1][0], 0, prev[1][1]), prev[1], prev[2],
                                  full, lvl.size, sizes)
            else:
                # the targets are windows of the photo's level grids: map through those
                gp, gn = prev[3], lvl.sources[0].size
                fld = remap_field(prev[0], Box(0, prev[1][0], 0, prev[1][1]), gp, prev[2],
                                  full, gn, sizes, grids=(prev[4], lvl.origin))
            extra = None
            if cfg.warp_candidates:
                wf = remap_field(warp_field, Box(0, warp_shape[0], 0, warp_shape[1]),
                                 warp_shape, list(init_sizes), full, lvl.size, sizes)
                extra = lvl.atlas.flat_from_source(wf[0], wf[1], wf[2])
            finest = li == len(scales) - 1
            if li == 0 and target.initial is not None and cfg.warp_start:
                ini = resize_image(target.initial.astype(np.float32), lvl.size)
                ini_t = torch.from_numpy(np.ascontiguousarray(ini)).to(dev).permute(2, 0, 1)
                lvl.est = torch.where(lvl.hole[None], ini_t, lvl.est)
                first_vote = False
            else:
                first_vote = True
            ring = dilate(lvl.hole, 2) & ~lvl.hole
            if finest:
                synth = lvl.est.clone()
            n_em = cfg.em_coarse if li == 0 else cfg.em_fine
            for box in lvl.boxes:
                self._complete_box(lvl, box, fld, extra, gen, unit, n_em, first_vote,
                                   synth if finest else None, ring, cancel)
            done += n_em
            if progress is not None:
                progress(done, steps)
            prev = (fld, lvl.size, sizes, lvl.sources[0].size, lvl.origin)
            stage = f"level {lvl.size[1]}x{lvl.size[0]}"
            timings[stage] = time.perf_counter() - t0
            if level_done is not None and not finest:
                level_done(lvl.est.clamp(0.0, 1.0).permute(1, 2, 0).cpu().numpy(), stage)
        ring_np = (dilate(lvl.hole, 2) & ~lvl.hole).cpu().numpy()
        guide = None
        if lvl.size == (h_full, w_full):
            out_img = synth.permute(1, 2, 0).cpu().numpy()
            if cfg.blend and cfg.poisson:         # only the Poisson blend reads it
                guide = self._source_gradients(lvl, prev[0], synth)
        else:
            # Beyond ``max_size``: the finest field applied to the full-resolution sources.
            t0 = time.perf_counter()
            ring_np = resize_any(ring_np, (h_full, w_full))
            want = resize_any(lvl.hole.cpu().numpy(), (h_full, w_full)) | ring_np
            out_img = upsample_through_field(prev[0], lvl, target, sources, want)
            timings["full resolution"] = time.perf_counter() - t0
        return SynthesisOutput(np.clip(out_img, 0.0, 1.0), ring_np, prev[0], lvl.size, timings,
                               guide)

    @staticmethod
    def _source_gradients(lvl: _Level, fld: torch.Tensor, synth: torch.Tensor,
                          step_margin: float = 0.02) -> GradientGuide:
        """The wanted differences on every edge: the synthesis' own gradient, except where it
        is a step larger (by ``step_margin``) than the gradient *at the places its two ends
        were copied from* (``fld``): a seam between two copies, where the sources' gradient
        (averaged over the edge's hole ends) replaces it, so the seam integrates away
        (:func:`.blending.poisson_blend`; the fine texture this flattens too is put back by
        :func:`.blending.restore_detail`). A seam needs a hole end, so the sources are read
        only in boxes around the hole's parts (one pixel beyond); elsewhere the own gradient."""
        gx = synth.diff(dim=2).permute(1, 2, 0).cpu().numpy()
        gy = synth.diff(dim=1).permute(1, 2, 0).cpu().numpy()
        seam_x = np.zeros(gx.shape[:2], bool)
        seam_y = np.zeros(gy.shape[:2], bool)
        for box in component_boxes(lvl.hole.cpu().numpy(), 1):
            sl = (slice(None), *box.slices)
            parts = _seams(lvl.atlas, fld[sl], synth[sl], lvl.hole[box.slices],
                           lvl.labels[box.slices], step_margin)
            ys, xs = box.slices
            for (g, seam), whole_g, whole_s, cut in (
                    (parts[0], gx, seam_x, (ys, slice(box.x0, box.x1 - 1))),
                    (parts[1], gy, seam_y, (slice(box.y0, box.y1 - 1), xs))):
                whole_g[cut] = g.permute(1, 2, 0).cpu().numpy()
                whole_s[cut] = seam.cpu().numpy()
        return GradientGuide(gx, gy, seam_x, seam_y)

    # ------------------------------------------------------------------ steps
    def _level(self, li: int, s: float, target: SynthesisTarget,
               sources: list[SynthesisSource], unit: float) -> _Level:
        """Materialise level ``li`` at target scale ``s``: images, sources, atlas, keys."""
        cfg, dev = self.config, self.device
        lv = [materialise(src, self._source_scale(src, s), dev, self.cache) for src in sources]
        # The target is a window of the photo's level grid (see levels.py).
        grid = lv[0].size
        ph, pw = target.hole.shape
        sy, sx = grid[0] / ph, grid[1] / pw
        y0, y1, x0, x1 = target.crop
        win = (slice(half_up(y0 * sy), max(half_up(y0 * sy) + 1, half_up(y1 * sy))),
               slice(half_up(x0 * sx), max(half_up(x0 * sx) + 1, half_up(x1 * sx))))
        origin = (win[0].start, win[1].start)
        known = np.ascontiguousarray(resize_image(target.known, grid)[win])
        size = known.shape[:2]
        patch = cfg.patch if max(size) >= cfg.fine_from else cfg.coarse_patch
        atlas = SourceAtlas.build([WarpSource(x.rgb, x.labels) for x in lv], dev)
        est = torch.from_numpy(known).to(dev).permute(2, 0, 1).float().div_(255.0)
        hole = torch.from_numpy(np.ascontiguousarray(resize_any(target.hole, grid)[win])).to(dev)
        labels = torch.from_numpy(
            resize_labels(target.labels, grid)[win].astype(np.int64)).to(dev)
        # the EM works in boxes around the hole's parts: the target's layout features are
        # made (resized, projected) over the box that holds them all, not the whole crop
        boxes = component_boxes(hole.cpu().numpy(), max(patch // 2, 2))
        span = Box(0, 1, 0, 1)                   # a level without a hole: nothing reads it
        if boxes:
            span = Box(min(b.y0 for b in boxes), max(b.y1 for b in boxes),
                       min(b.x0 for b in boxes), max(b.x1 for b in boxes))
        beta = cfg.layout_weight if li == 0 else cfg.layout_weight_fine
        side = self._key_side(sources, lv, atlas, patch, beta)
        tpart = side.project(resize_features(target.features.float().to(dev), size,
                                             (span.y0, span.y1, span.x0, span.x1)))
        tfeat = tpart.new_zeros(tpart.shape[0], *size)
        tfeat[(slice(None), *span.slices)] = tpart
        # μ is per (crop long side)²; the keys' positions are in units of ``side.unit`` px
        mu = cfg.position_weight * (side.unit / (unit * sy)) ** 2
        return _Level(li, s, size, patch, est, hole, labels, tfeat, lv, atlas, side, beta,
                      origin, mu, boxes)

    def _key_side(self, sources: list[SynthesisSource], lv: list[LevelSource],
                  atlas: SourceAtlas, patch: int, beta: float) -> _KeySide:
        """The level's :class:`_KeySide`, from the cache when every source has a key."""
        cfg, dev = self.config, self.device

        def make() -> _KeySide:
            gen = torch.Generator(device=dev)
            gen.manual_seed(cfg.seed + 104729)
            labs = [rgb_to_lab(x.rgb) for x in lv]
            filters, mean = pca_basis(labs, [torch.ones_like(x.labels, dtype=torch.bool)
                                             for x in lv], patch, cfg.components, gen)
            feats = [resize_features(src.features.float(), x.size).to(dev)
                     for src, x in zip(sources, lv)]
            side = _KeySide(filters, mean, None, None, feats[0].new_empty(0),
                            float(max(lv[0].size)), any(not src.grid for src in sources))
            if cfg.layout_components and cfg.layout_components < feats[0].shape[0]:
                side.layout, side.shift = _layout_basis(feats, cfg.layout_components, gen)
            # each source's full layout features dropped as soon as they are projected: the
            # table is made beside k' channels per pixel, not all of them
            layouts = []
            while feats:
                layouts.append(side.project(feats.pop(0)))
            width = key_width(filters.shape[0], layouts[0].shape[0], cfg.position_weight,
                              side.references)
            # written straight into each source's window of the row-major table
            keys = torch.empty(atlas.height, atlas.width, width, device=dev)
            for src, x, f, lab, x0 in zip(sources, lv, layouts, labs, atlas.offsets):
                h, w = x.size
                key_table(colour_descriptors(lab, filters, mean), f, beta,
                          _grid_positions(x.size, (0, 0), side.unit, dev)
                          if src.grid and cfg.position_weight > 0 else None,
                          cfg.position_weight, cfg.reference_distance, side.references,
                          out=keys[:h, x0:x0 + w])
                keys[h:, x0:x0 + w] = 0.0                    # padding: never a valid key
            side.rows = keys.view(-1, width)
            return side

        keys = tuple(src.key for src in sources)
        if self.cache is None or any(k is None for k in keys):
            return make()
        return self.cache.get(("keys", keys, tuple(x.size for x in lv), patch, beta,
                               cfg.components, cfg.layout_components, cfg.position_weight,
                               cfg.reference_distance, cfg.seed, str(dev)), make)

    def _complete_box(self, lvl: _Level, box: Box, fld: torch.Tensor, extra, gen, unit: float,
                      n_em: int, first_vote: bool, synth: torch.Tensor | None,
                      ring: torch.Tensor, cancel: CancelToken | None) -> None:
        """EM over one box of the level; writes the estimate, the field (and ``synth``).

        Only the queries whose patches cover the hole or its ring search and vote; the rest
        of the box keeps its starting field and lends it to their propagation."""
        cfg = self.config
        atlas = lvl.atlas
        sl = (slice(box.y0, box.y1), slice(box.x0, box.x1))
        hole_b, tl = lvl.hole[sl], lvl.labels[sl]
        nnf = self._flat(fld[(slice(None), *sl)], atlas, tl)
        extra_b = None if extra is None else extra[sl][..., None].contiguous()
        est_b = lvl.est[(slice(None), *sl)]
        active = dilate(hole_b | ring[sl], lvl.patch // 2)
        act = torch.nonzero(active.reshape(-1)).squeeze(1)
        if first_vote:
            vals, total = self._vote(nnf, torch.zeros(box.shape, device=self.device), tl, lvl,
                                     hole_b, cfg.mode_iterations)
            est_b.copy_(torch.where((hole_b & (total > 0))[None], vals, est_b))
        sampler = KeyIndexSampler(SamplerConfig(
            iterations=cfg.search_coarse if lvl.index == 0 else cfg.search_fine, particles=1,
            samples=cfg.samples, window_decay=0.5, window_min=1.0, extra_rounds=cfg.extra_rounds,
            class_penalty=cfg.class_penalty, propagate="particles", ladder=cfg.ladder,
            wildcard_class=0))
        window = cfg.window * max(atlas.height, atlas.width)
        positions = _grid_positions(box.shape, (lvl.origin[0] + box.y0, lvl.origin[1] + box.x0),
                                    lvl.keys.unit, self.device)
        for em in range(n_em):
            if cancel is not None:
                cancel.raise_if_cancelled()
            q, qn = self._queries(lvl, box, positions)
            init_p = torch.stack([torch.div(nnf, atlas.width, rounding_mode="floor"),
                                  nnf % atlas.width])[None]
            nnf = sampler.sample(q, tl, None, atlas.key_class, gen, init=init_p,
                                 window_px=window, extra=extra_b, atlas_rows=lvl.key_rows,
                                 active=active).keys[-1]
            dist = self._distance(q, qn, lvl.key_rows, nnf, tl, atlas, act)
            last = synth is not None and em == n_em - 1
            want = hole_b | ring[sl] if last else hole_b
            modes = cfg.final_mode_iterations if last else cfg.mode_iterations
            vals, total = self._vote(nnf, dist, tl, lvl, want, modes,
                                     best=last and cfg.final_vote == "best")
            if last:
                syn_b = synth[(slice(None), *sl)]
                syn_b.copy_(torch.where((want & (total > 0))[None], vals, syn_b))
            est_b.copy_(torch.where((hole_b & (total > 0))[None], vals, est_b))
        fld[(slice(None), *sl)] = atlas.source_coords(nnf).permute(2, 0, 1)

    def _source_scale(self, src: SynthesisSource, s: float) -> float:
        h, w = src.labels.shape
        cap = math.sqrt(self.config.source_budget / (h * w))
        return min(src.scale * s, cap)

    def _flat(self, fld: torch.Tensor, atlas: SourceAtlas, tl: torch.Tensor) -> torch.Tensor:
        """Field ``(3, h, w)`` -> flat atlas keys; keys that are invalid there restart at a
        random key of the query's class (deterministic: the generator is not consumed)."""
        flat = atlas.flat_from_source(fld[0], fld[1], fld[2])
        bad = atlas.key_class.reshape(-1)[flat] < 0
        if bool(bad.any()):
            h, w = flat.shape
            smp = KeyIndexSampler(SamplerConfig(particles=1))
            gen = torch.Generator(device=self.device)
            gen.manual_seed(self.config.seed + 7919)
            ry, rx = smp.random_init(tl.reshape(-1).to(torch.int32),
                                     atlas.key_class.reshape(-1).to(torch.int32),
                                     atlas.width, h, w, gen)
            flat = torch.where(bad, (ry * atlas.width + rx)[..., 0], flat)
        return flat

    def _queries(self, lvl: _Level, box: Box, positions: torch.Tensor):
        """Query table over ``box`` from the current estimate (colour patches need ``r`` more)."""
        r = lvl.patch // 2
        h, w = lvl.size
        y0, y1 = max(0, box.y0 - r), min(h, box.y1 + r)
        x0, x1 = max(0, box.x0 - r), min(w, box.x1 + r)
        col = colour_descriptors(rgb_to_lab(lvl.est[:, y0:y1, x0:x1]), lvl.keys.filters,
                                 lvl.keys.mean)
        col = col[:, box.y0 - y0:box.y1 - y0, box.x0 - x0:box.x1 - x0].contiguous()
        lay = lvl.features[:, box.y0:box.y1, box.x0:box.x1]
        return query_table(col, lay, lvl.beta, positions, lvl.mu, lvl.keys.references)

    def _distance(self, q, qn, rows, nnf, tl, atlas: SourceAtlas, act) -> torch.Tensor:
        """Patch distance of the ``act`` queries' matches (a class mismatch adds the penalty);
        ``inf`` at the other queries of the box (they do not vote)."""
        c = rows.shape[1]
        n = nnf.reshape(-1)[act]
        b = rows.index_select(0, n)                                           # (A, C)
        qa = q.reshape(c, -1).index_select(1, act)
        d = (qn.reshape(-1)[act] - (qa.t() * b).sum(1)).clamp_(min=0.0)
        kc = atlas.key_class.reshape(-1)[n]
        t = tl.reshape(-1)[act]
        d = d + self.config.class_penalty * ((kc != t) & (t != 0)).float()
        out = torch.full(nnf.shape, float("inf"), device=nnf.device)
        out.view(-1)[act] = torch.where(kc >= 0, d, torch.full_like(d, 1e6))
        return out

    def _vote(self, nnf, dist, tl, lvl: _Level, want, modes: int, best: bool = False):
        v = self.config.vote
        cfg = dataclasses.replace(v, mode_iterations=modes, best=best)
        return vote(nnf, dist, tl, lvl.view, lvl.patch, cfg, want=want)


def _seams(atlas: SourceAtlas, fld: torch.Tensor, synth: torch.Tensor, hole: torch.Tensor,
           labels: torch.Tensor, step_margin: float):
    """:meth:`PatchSynthesis._source_gradients` over one window: per axis (x, then y) the
    wanted differences ``(3, h, w-1)`` / ``(3, h-1, w)`` and the seam edges."""
    img = atlas.image.reshape(3, -1)
    valid = atlas.key_class.reshape(-1) >= 0
    sy, ys, xs = fld[0].long(), fld[1].long(), fld[2].long()
    hs = torch.tensor([h for h, _ in atlas.sizes], device=fld.device)[sy]
    ws = torch.tensor([w for _, w in atlas.sizes], device=fld.device)[sy]
    here = atlas.flat_from_source(sy, ys.clamp(0), xs.clamp(0))
    out = []
    for axis in (1, 0):                       # x then y
        dy, dx = (0, 1) if axis == 1 else (1, 0)

        def step(sign: int, dy: int = dy, dx: int = dx):
            ny, nx = ys + sign * dy, xs + sign * dx
            ok = (ny >= 0) & (nx >= 0) & (ny < hs) & (nx < ws)
            there = atlas.flat_from_source(sy, ny.clamp(0), nx.clamp(0))
            there = torch.where(ok, there, here)
            ok = ok & valid[there] & valid[here]
            return sign * (img[:, there] - img[:, here]), ok

        fwd, fok = step(1)                    # from p: I(src(p) + e) - I(src(p))
        bwd, bok = step(-1)                   # from q: I(src(q)) - I(src(q) - e)
        own = synth.diff(dim=2 if axis == 1 else 1)
        if axis == 1:
            a, ao, ah = fwd[:, :, :-1], fok[:, :-1], hole[:, :-1]
            b, bo, bh = bwd[:, :, 1:], bok[:, 1:], hole[:, 1:]
            one_class = labels[:, :-1] == labels[:, 1:]
        else:
            a, ao, ah = fwd[:, :-1], fok[:-1], hole[:-1]
            b, bo, bh = bwd[:, 1:], bok[1:], hole[1:]
            one_class = labels[:-1] == labels[1:]
        wa = (ao & ah).float()
        wb = (bo & bh).float()
        n = wa + wb
        src = (a * wa + b * wb) / n.clamp_min(1.0)
        # the synthesis' own gradient, unless it is a step the sources do not have there
        # (a seam between two copies): texture stays, steps integrate away
        bound = torch.maximum(a.abs() * wa, b.abs() * wb).amax(0) + step_margin
        # an edge of the edited layout is wanted, never a seam
        seam = (n > 0) & one_class & (own.abs().amax(0) > bound)
        out.append((torch.where(seam[None], src, own), seam))
    return out


def _grid_positions(shape: tuple[int, int], origin: tuple[int, int], scale: float,
                    device: torch.device) -> torch.Tensor:
    """``(2, h, w)`` positions of a block of the photo's level grid, in units of ``scale``."""
    ys = (torch.arange(shape[0], device=device) + origin[0]) / scale
    xs = (torch.arange(shape[1], device=device) + origin[1]) / scale
    return torch.stack(torch.broadcast_tensors(ys[:, None], xs[None, :])).float()


def _layout_basis(sources: list[torch.Tensor], k: int, gen: torch.Generator,
                  samples: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` leading principal components of the sources' layout features (``samples``
    pixels drawn from each): distances keep their large terms at a fraction of the cost.
    Returns ``(projection (k, C), shift (k, 1))``: ``projection @ f - shift``."""
    rows = []
    for f in sources:
        flat = f.reshape(f.shape[0], -1)
        where = torch.randint(0, flat.shape[1], (min(samples, flat.shape[1]),), generator=gen,
                              device=f.device)
        rows.append(flat.index_select(1, where).t())
    proj, mean = principal_axes(torch.cat(rows), k)                         # (k, C)
    return proj, (proj @ mean)[:, None]


def _short_side(mask: np.ndarray) -> int:
    """The short side of ``mask``'s thickest part: twice its largest inscribed radius."""
    import cv2

    if not mask.any():
        return 0
    dist = cv2.distanceTransform(np.pad(mask, 1).astype(np.uint8), cv2.DIST_L2, 3)
    return round(2 * float(dist.max()))


def upsample_through_field(field: torch.Tensor, lvl: _Level, target: SynthesisTarget,
                           sources: list[SynthesisSource], want: np.ndarray,
                           rows: int = 128) -> np.ndarray:
    """The crop at full resolution from the finest level's field with per-pixel continuous
    offsets: each full-resolution pixel takes, from each of the four level pixels around it,
    that pixel's source position plus its own sub-pixel offset, samples the full-resolution
    source there (bilinear) and blends the four by bilinear weight. Inside a coherent copy the
    four agree and the source's own detail comes through -- no block structure at the level's
    grid; at a seam the copies cross-fade over one level pixel. Only pixels in ``want``
    (bool, crop at full res) are computed; the rest keep the known photo."""
    dev = field.device
    _h_full, _w_full = target.crop_shape
    cy0, _, cx0, _ = target.crop
    ph, pw = target.hole.shape
    gy, gx = lvl.sources[0].size[0] / ph, lvl.sources[0].size[1] / pw
    out = target.cut(target.known).astype(np.float32) / 255.0
    imgs = [torch.from_numpy(np.ascontiguousarray(src.image)).to(dev).permute(2, 0, 1)
            .float().div_(255.0)[None] for src in sources]
    # level px per full-res px of each source
    scales = [(x.size[0] / src.labels.shape[0], x.size[1] / src.labels.shape[1])
              for x, src in zip(lvl.sources, sources)]
    lh, lw = lvl.size
    ys_all = np.nonzero(want.any(1))[0]
    if ys_all.size == 0:
        return out
    xs_all = np.nonzero(want.any(0))[0]
    x_lo, x_hi = int(xs_all[0]), int(xs_all[-1]) + 1
    xs = torch.arange(x_lo, x_hi, device=dev, dtype=torch.float64)
    tx = (xs + cx0 + 0.5) * gx - 0.5 - lvl.origin[1]                       # level target x
    for r0 in range(int(ys_all[0]), int(ys_all[-1]) + 1, rows):
        r1 = min(int(ys_all[-1]) + 1, r0 + rows)
        ys = torch.arange(r0, r1, device=dev, dtype=torch.float64)
        ty = (ys + cy0 + 0.5) * gy - 0.5 - lvl.origin[0]
        acc = torch.zeros(3, r1 - r0, x_hi - x_lo, device=dev, dtype=torch.float64)
        wsum = torch.zeros(r1 - r0, x_hi - x_lo, device=dev, dtype=torch.float64)
        y0f, x0f = ty.floor(), tx.floor()
        for oy in (0, 1):
            for ox in (0, 1):
                ny = (y0f + oy).clamp(0, lh - 1)
                nx = (x0f + ox).clamp(0, lw - 1)
                wy = (1 - (ty - (y0f + oy)).abs()).clamp(min=0)
                wx = (1 - (tx - (x0f + ox)).abs()).clamp(min=0)
                wt = wy[:, None] * wx[None, :]
                f = field[:, ny.long()[:, None], nx.long()[None, :]]          # (3, R, C)
                dy = ty[:, None] - ny[:, None]
                dx = tx[None, :] - nx[None, :]
                for si, (img, (sy, sx)) in enumerate(zip(imgs, scales)):
                    sel = f[0] == si
                    if not bool(sel.any()):
                        continue
                    fy = (f[1].double() + dy + 0.5) / sy - 0.5                # full-res src
                    fx = (f[2].double() + dx + 0.5) / sx - 0.5
                    hs, ws = img.shape[-2:]
                    grid = torch.stack([(fx + 0.5) / ws * 2 - 1, (fy + 0.5) / hs * 2 - 1], -1)
                    val = torch.nn.functional.grid_sample(
                        img, grid[None].float(), mode="bilinear", padding_mode="border",
                        align_corners=False)[0].double()                     # (3, R, C)
                    m = sel.double() * wt
                    acc += val * m[None]
                    wsum += m
        block = (acc / wsum.clamp_min(1e-12)[None]).permute(1, 2, 0).cpu().numpy()
        sub = want[r0:r1, x_lo:x_hi]
        out[r0:r1, x_lo:x_hi][sub] = block[sub].astype(np.float32)
    return out
