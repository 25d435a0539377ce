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

Votes are gathered per *pixel*: only the pixels that are wanted (the hole, not the whole box
around it) are computed, each with its ``k²`` votes in a row, so the mean, the mean shift (which
compares a pixel's votes with that pixel's own estimate) and the best vote are reductions along
that row -- no scatter. Pixels are walked in chunks, so memory is bounded by
``max_band_elements`` whatever the region's size; σ² is the quantile of the distances of the
neighbours that vote on a wanted pixel.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from inference.correspondence.sampling import dilate


@dataclass(frozen=True)
class VoteConfig:
    sigma_quantile: float = 0.5       # σ² = this quantile of the voting patches' distances
    class_factor: float = 0.02        # weight of a vote whose class is not the target's
    mode_iterations: int = 0
    mode_bandwidth: float = 0.06      # RGB in [0, 1]
    best: bool = False                # the best-matching patch's vote alone (no average)
    max_band_elements: int = 1 << 22  # gathered votes held at once (bounds memory)


@dataclass
class AtlasView:
    """What voting reads of the sources: image, classes (-1 invalid) and column owner."""

    image: torch.Tensor            # (3, Ha, Wa)
    key_class: torch.Tensor        # (Ha, Wa) int64
    column_source: torch.Tensor    # (Wa,) int64
    _padded: dict[int, _Padded] = field(default_factory=dict, repr=False, compare=False)

    def padded(self, r: int) -> _Padded:
        """The atlas with every source framed by ``r`` invalid pixels (made once per ``r``): a
        vote ``a + o`` that leaves its source lands on the frame, so no bounds are checked."""
        if r not in self._padded:
            ha, wa = self.key_class.shape
            dev = self.key_class.device
            colsrc = self.column_source
            column = torch.arange(wa, device=dev) + r * (2 * colsrc + 1)
            pitch = wa + 2 * r * (int(colsrc.max()) + 1)
            planes = self.image.new_zeros(3, ha + 2 * r, pitch)
            planes[:, r:r + ha].index_copy_(2, column, self.image)
            # classes (ADE20K ids, -1 invalid) as int16: the vote gathers k² per pixel
            cls = torch.full((ha + 2 * r, pitch), -1, dtype=torch.int16, device=dev)
            cls[r:r + ha].index_copy_(1, column, self.key_class.to(torch.int16))
            self._padded[r] = _Padded(planes.view(3, -1), cls.view(-1), column, pitch)
        return self._padded[r]


@dataclass
class _Padded:
    planes: torch.Tensor           # (3, Hp·Wp) colours, one plane per channel
    key_class: torch.Tensor        # (Hp·Wp,) int16 classes, -1 on the frame
    column: torch.Tensor           # (Wa,) padded column of each atlas column
    pitch: int                     # Wp


def vote(
    nnf: torch.Tensor,             # (h, w) int64 flat atlas index per query of the region
    dist: torch.Tensor,            # (h, w) float patch distance of each query's match
    target_labels: torch.Tensor,   # (h, w) int64 edited layout over the region
    atlas: AtlasView,
    patch: int,
    config: VoteConfig,
    want: torch.Tensor | None = None,   # (h, w) bool: pixels whose value matters
) -> tuple[torch.Tensor, torch.Tensor]:
    """Voted colours ``(3, h, w)`` and total vote weight ``(h, w)`` (0 = no vote), computed at
    the ``want`` pixels (everywhere without it; zero elsewhere). Only the queries within
    ``patch // 2`` of a wanted pixel are read: ``nnf`` and ``dist`` may hold anything beyond."""
    h, w = nnf.shape
    dev = nnf.device
    r = patch // 2
    k2 = patch * patch
    wa = atlas.key_class.shape[1]
    mu = torch.zeros(3, h * w, device=dev)
    total = torch.zeros(h * w, device=dev)
    pix = (torch.arange(h * w, device=dev) if want is None
           else torch.nonzero(want.reshape(-1)).squeeze(1))
    if pix.numel() == 0:
        return mu.view(3, h, w), total.view(h, w)
    pad = atlas.padded(r)
    voters = torch.ones(h, w, dtype=torch.bool, device=dev) if want is None else dilate(want, r)
    sigma2 = _sigma2(dist[voters], config.sigma_quantile)
    # per neighbour, in a frame of r around the region (weight 0 there): its match in the
    # padded atlas and the weight of its patch
    pitch = w + 2 * r
    ay = torch.div(nnf, wa, rounding_mode="floor")
    # flat indices as int32 where they fit: half the bytes of every gather of k² per pixel
    idx = torch.int32 if pad.key_class.numel() < 2**31 else torch.int64
    match = torch.full((h + 2 * r, pitch), r * pad.pitch + r, dtype=idx, device=dev)
    match[r:r + h, r:r + w] = (ay + r) * pad.pitch + pad.column[nnf - ay * wa]
    weight = dist.new_zeros(h + 2 * r, pitch)
    weight[r:r + h, r:r + w] = torch.exp(-dist / (2.0 * sigma2))
    match, weight = match.view(-1), weight.view(-1)
    # the vote of neighbour n = q - o lands on q and reads the source at match(n) + o; offsets
    # in row-major order (the first of equally good votes wins the best vote)
    oy, ox = torch.meshgrid(torch.arange(-r, r + 1, device=dev),
                            torch.arange(-r, r + 1, device=dev), indexing="ij")
    oy, ox = oy.reshape(1, k2), ox.reshape(1, k2)
    back = oy * pitch + ox
    reach = (oy * pad.pitch + ox).to(idx)
    tl = target_labels.reshape(-1).to(torch.int16)
    inv = 1.0 / (2.0 * config.mode_bandwidth**2)
    step = max(1, config.max_band_elements // (4 * k2))
    for c0 in range(0, pix.numel(), step):
        q = pix[c0:c0 + step]
        p = q.numel()
        qy = torch.div(q, w, rounding_mode="floor")
        n = ((qy + r) * pitch + (q - qy * w + r))[:, None] - back             # (P, k²)
        nf = n.view(-1)
        s = match.index_select(0, nf).view(p, k2).add_(reach)
        sf = s.view(-1)
        cls = pad.key_class.index_select(0, sf).view(p, k2)
        land = tl[q][:, None]
        agree = (cls == land) | (land == 0)
        wts = torch.where(cls >= 0, torch.where(agree, 1.0, config.class_factor), 0.0)
        wts.mul_(weight.index_select(0, nf).view(p, k2))
        den = wts.sum(1)
        total[q] = den
        if config.best:                   # only the picked vote's colour is read
            pick = wts.argmax(1, keepdim=True)
            out = pad.planes.index_select(1, s.gather(1, pick)[:, 0])          # (3, P)
        else:
            # channels first: the distance to the estimate is three (P, k²) planes, not a
            # reduction over a last axis of 3
            vals = pad.planes.index_select(1, sf).view(3, p, k2)
            out = torch.einsum("cpk,pk->cp", vals, wts) / den.clamp_min(1e-12)
            for _ in range(config.mode_iterations):
                e = (vals[0] - out[0, :, None]).square_()
                e += (vals[1] - out[1, :, None]).square_()
                e += (vals[2] - out[2, :, None]).square_()
                w2 = e.mul_(-inv).exp_().mul_(wts)
                d2 = w2.sum(1)
                out = torch.where(d2 > 1e-12, torch.einsum("cpk,pk->cp", vals, w2)
                                  / d2.clamp_min(1e-12), out)
        mu[:, q] = torch.where(den > 0, out, 0.0)
    return mu.view(3, h, w), total.view(h, w)


def _sigma2(dist: torch.Tensor, q: float) -> float:
    finite = dist[torch.isfinite(dist)]
    if finite.numel() == 0:
        return 1.0
    if finite.numel() > 200_000:
        finite = finite[:: finite.numel() // 200_000 + 1]
    return max(float(torch.quantile(finite.float(), q)), 1e-4)
