"""The M-step of patch completion: every pixel takes the votes of the patches that cover it.

Pixel ``q`` gets one vote from each neighbour ``n = q - o`` whose patch covers it (``o`` in the
``k×k`` window): the source pixel ``nnf(n) + o``. A vote weighs ``exp(-D(n) / 2σ²)`` (how well
``n``'s patch matched) times a small factor when the source pixel's class is not ``q``'s class in
the edited layout (so boundaries follow the edited layout, not the source's). Votes that leave
their source, or land on an invalid pixel, are dropped.

Averaging the votes (Wexler et al.) blurs wherever neighbouring patches disagree; taking one
pixel's vote alone gives speckle. ``mode_iterations`` rounds of mean shift re-weight the votes
by their closeness to the current estimate (a Gaussian of bandwidth ``mode_bandwidth``), which
moves the estimate to the dominant mode: inside a coherent copy every vote agrees and the source
pixel comes through unchanged, and at a seam between two copies one side wins instead of a blend.

Votes are laid out per *neighbour* -- ``(3, k², N)``, one gathered source patch per patch centre
-- and summed into pixels with ``fold`` (``unfold``'s adjoint); the estimate a vote is compared
with comes back per neighbour with ``unfold``. Neighbours are walked in row bands, so memory is
bounded by ``max_band_elements`` whatever the region's size.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class VoteConfig:
    sigma_quantile: float = 0.5       # σ² = this quantile of the patch distances
    class_factor: float = 0.02        # weight of a vote whose class is not the target's
    mode_iterations: int = 0
    mode_bandwidth: float = 0.06      # RGB in [0, 1]
    best: bool = False                # the best-matching patch's vote alone (no average)
    max_band_elements: int = 1 << 22  # gathered vote values held at once (bounds memory)


@dataclass
class AtlasView:
    """What voting reads of the sources: image, classes (-1 invalid) and column owner."""

    image: torch.Tensor            # (3, Ha, Wa)
    key_class: torch.Tensor        # (Ha, Wa) int64
    column_source: torch.Tensor    # (Wa,) int64


def vote(
    nnf: torch.Tensor,             # (h, w) int64 flat atlas index per query of the region
    dist: torch.Tensor,            # (h, w) float patch distance of each query's match
    target_labels: torch.Tensor,   # (h, w) int64 edited layout over the region
    atlas: AtlasView,
    patch: int,
    config: VoteConfig,
    want: torch.Tensor | None = None,   # (h, w) bool: pixels whose value matters
) -> tuple[torch.Tensor, torch.Tensor]:
    """Voted colours ``(3, h, w)`` and total vote weight ``(h, w)`` (0 = no vote)."""
    h, w = nnf.shape
    dev = nnf.device
    r = patch // 2
    k2 = patch * patch
    ha, wa = atlas.key_class.shape
    weight = torch.exp(-dist / (2.0 * _sigma2(dist, config.sigma_quantile)))
    img = atlas.image.reshape(3, -1)
    kcls = atlas.key_class.reshape(-1)
    # Source x-range of each atlas column's source: a vote may not cross into the next source.
    colsrc = atlas.column_source
    first = torch.zeros(int(colsrc.max()) + 2, dtype=torch.int64, device=dev)
    first.scatter_reduce_(0, colsrc + 1, torch.arange(1, wa + 1, device=dev),
                          reduce="amax", include_self=False)
    lo_of = torch.cat([first[:1], first[1:-1]])          # start column of source s
    hi_of = first[1:]                                    # end column (exclusive)
    oy, ox = torch.meshgrid(torch.arange(-r, r + 1, device=dev),
                            torch.arange(-r, r + 1, device=dev), indexing="ij")
    oy, ox = oy.reshape(k2, 1), ox.reshape(k2, 1)
    tl_f = target_labels.float()
    # rows of neighbours per band, and the output rows a band touches
    rows = max(1, min(h, config.max_band_elements // max(1, 4 * k2 * w)))
    bands = []
    for b0 in range(0, h, rows):
        b1 = min(h, b0 + rows)
        if want is not None and not bool(want[max(0, b0 - r):b1 + r].any()):
            continue
        n = nnf[b0:b1].reshape(-1)
        ny = torch.div(n, wa, rounding_mode="floor")
        nx = n - ny * wa
        s = colsrc[nx]
        sy, sx = ny[None] + oy, nx[None] + ox                              # (k², N)
        ok = (sy >= 0) & (sy < ha) & (sx >= lo_of[s][None]) & (sx < hi_of[s][None])
        flat = (sy.clamp_(0, ha - 1) * wa + sx.clamp_(0, wa - 1))
        cls = kcls[flat]
        ok &= cls >= 0
        # the class of the pixel each vote lands on, from the edited layout
        o0, o1 = max(0, b0 - r), min(h, b1 + r)
        land = _unfold_rows(tl_f[None, o0:o1], patch, b0 - o0, b1 - b0, w)[0]  # (k², N)
        agree = (cls.float() == land) | (land == 0)
        wts = torch.where(ok, torch.where(agree, 1.0, config.class_factor), 0.0)
        wts *= weight[b0:b1].reshape(1, -1)
        vals = img[:, flat]                                                 # (3, k², N)
        bands.append((b0, b1, o0, o1, vals, wts))
    if config.best:
        mu = _fold_best(bands, h, w, patch, dev)
    else:
        mu = _fold_mean(bands, h, w, patch, None, config, dev)
        for _ in range(config.mode_iterations):
            mu = _fold_mean(bands, h, w, patch, mu, config, dev)
    total = torch.zeros(h, w, device=dev)
    for b0, b1, o0, o1, _, wts in bands:
        total[o0:o1] += _fold_rows(wts[None], patch, b0 - o0, b1 - b0, o1 - o0, w)[0]
    return mu, total


def _fold_best(bands, h, w, patch, dev) -> torch.Tensor:
    """At every pixel the single vote of the best-matching patch that covers it: neighbouring
    pixels mostly share that patch, so it is copied whole, and where the best patch changes the
    copies meet without a blend."""
    r = patch // 2
    best_w = torch.full((h, w), -1.0, device=dev)
    best_v = torch.zeros(3, h, w, device=dev)
    offsets = [(oy, ox) for oy in range(-r, r + 1) for ox in range(-r, r + 1)]
    for b0, b1, _o0, _o1, vals, wts in bands:
        rows = b1 - b0
        for i, (oy, ox) in enumerate(offsets):
            # the vote of neighbour n lands on q = n + o
            q0, q1 = max(0, b0 + oy), min(h, b1 + oy)
            c0, c1 = max(0, ox), min(w, w + ox)
            if q0 >= q1 or c0 >= c1:
                continue
            wv = wts[i].view(rows, w)[q0 - oy - b0:q1 - oy - b0, c0 - ox:c1 - ox]
            vv = vals[:, i].view(3, rows, w)[:, q0 - oy - b0:q1 - oy - b0, c0 - ox:c1 - ox]
            cur = best_w[q0:q1, c0:c1]
            better = wv > cur
            cur.copy_(torch.where(better, wv, cur))
            tgt = best_v[:, q0:q1, c0:c1]
            tgt.copy_(torch.where(better[None], vv, tgt))
    return best_v


def _fold_mean(bands, h, w, patch, mu, config, dev) -> torch.Tensor:
    """Weighted mean of the votes at every pixel; with ``mu``, re-weighted by closeness to it."""
    num = torch.zeros(3, h, w, device=dev)
    den = torch.zeros(h, w, device=dev)
    inv = 1.0 / (2.0 * config.mode_bandwidth**2)
    for b0, b1, o0, o1, vals, wts in bands:
        if mu is not None:
            near = _unfold_rows(mu[:, o0:o1], patch, b0 - o0, b1 - b0, w)   # (3, k², N)
            wts = wts * torch.exp(-(vals - near).square_().sum(0) * inv)
        num[:, o0:o1] += _fold_rows(vals * wts[None], patch, b0 - o0, b1 - b0, o1 - o0, w)
        den[o0:o1] += _fold_rows(wts[None], patch, b0 - o0, b1 - b0, o1 - o0, w)[0]
    out = num / den.clamp_min(1e-12)[None]
    if mu is not None:
        out = torch.where(den[None] > 1e-12, out, mu)
    return out


def _unfold_rows(x: torch.Tensor, patch: int, start: int, rows: int, w: int) -> torch.Tensor:
    """``x`` ``(C, R, w)``; for each pixel of rows ``start:start+rows`` the values at its patch
    offsets (zero outside ``x``): ``(C, k², rows·w)``."""
    r = patch // 2
    c = x.shape[0]
    pad = F.pad(x[None], (r, r, r, r))
    win = pad[:, :, start:start + rows + 2 * r]
    return F.unfold(win, patch).view(c, patch * patch, rows * w)


def _fold_rows(v: torch.Tensor, patch: int, start: int, rows: int, out_rows: int,
               w: int) -> torch.Tensor:
    """Adjoint of :func:`_unfold_rows`: ``(C, k², rows·w)`` summed into ``(C, out_rows, w)``."""
    r = patch // 2
    c = v.shape[0]
    full = F.fold(v.reshape(1, c * patch * patch, rows * w), (rows + 2 * r, w + 2 * r), patch)
    # full covers rows start-r .. start+rows+r of the output slice; crop to [0, out_rows)
    lo = r - start
    top = max(0, lo)
    seg = full[0, :, top:top + out_rows - max(0, start - r), r:r + w]
    out = v.new_zeros(c, out_rows, w)
    y0 = max(0, start - r)
    out[:, y0:y0 + seg.shape[1]] = seg
    return out


def _sigma2(dist: torch.Tensor, q: float) -> float:
    finite = dist[torch.isfinite(dist)]
    if finite.numel() == 0:
        return 1.0
    if finite.numel() > 200_000:
        finite = finite[:: finite.numel() // 200_000 + 1]
    return max(float(torch.quantile(finite.float(), q)), 1e-4)
