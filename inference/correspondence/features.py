"""Hand-made semantic features: the warp's features when no checkpoint is loaded.

Per pixel, both for sources (photo + labels) and for the target (edited labels + the photo where
it is known), concatenated in groups, each group scaled to a constant norm so that no group's
magnitude varies from pixel to pixel (that would bias scores towards some keys), then
channel-normalised (zero mean, unit L2, as the learned features). Every group but ``position``
and ``frame`` is *translation invariant* (computed from label neighbourhoods; the image frame is
not a boundary) and every group is even under a left-right flip, so the true source pixel of a
translated or mirrored layout has (nearly) the query's own feature vector -- the highest
possible score -- and PatchMatch propagation only has to find it:

* ``class``     -- a fixed random unit code per ADE20K class (``class_dims`` channels);
* ``position``  -- paper 001's semantic position encoding: the pixel's position inside its
  connected class region, normalised to [0, 1] on the region's bounding box, Fourier-encoded,
  ``u`` evenly about the centre. A region cut by the image frame has no trustworthy extent along
  that axis (another crop of the scene cuts it elsewhere), so its coordinate there is pulled to
  0.5, keeping the fraction ``cut_trust``;
* ``boundary``  -- the distance to the nearest label boundary as a fraction of the long side,
  encoded as ``sin/cos(2π d / λ)`` per wavelength ``λ``: absolute, not divided by the region's
  size, because a region's size changes where the frame cuts it;
* ``direction`` -- the unit vector towards that boundary pixel, ``(dy, |dx|)``;
* ``frame``     -- the pixel's position in the image, weak (weight 0.3): a tie-breaker for pixels
  that the other groups cannot tell apart (along a straight horizon, deep inside a large region),
  so that they copy one plausible pixel each instead of averaging many;
* ``context``   -- the class codes box-averaged over neighbourhoods of several radii, which
  tells apart regions of one class, and places pixels inside large regions, by what surrounds
  them at several scales;
* ``colour``    -- local mean colour and contrast; on the target side only where the photo is known
  (outside the edit mask), zero elsewhere. Off by default.

Measured with ``python -m training.bench.ablation --size 256 --seeds 0,1`` on six of the bench's
known-correspondence cases (labels-only target; pooled warp PSNR of ``hrs``; the full table is in
the README): default 24.30 dB (``dense`` with the same features 20.65); without boundary distance
23.51, without direction 23.73, without frame position 23.89 (weight 1: 23.36, flips improve and
translations suffer), one context radius 23.28, no context 22.67, signed ``u`` 23.66; class code,
region position and ``cut_trust`` ±0.1. The design before this one (bounding-box position for cut
regions too, boundary distance divided by the region's largest, one context radius) scored 21.98
dB on the seed-0 set at 256² -- below ``dense`` on translated and zoomed scenes. Colour (target
known outside a hole, scored inside it) gives 23.88 against 24.30 without: it pulls hole pixels
towards the colours of the hole's rim, so it stays off.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np
import torch

from inference.correspondence.base import (
    FeatureFrame,
    FeatureMaps,
    WarpRequest,
)
from inference.networks.normalize import channel_normalize_

_NUM_CODES = 256   # class ids are uint8


@dataclass(frozen=True)
class SemanticFeatureConfig:
    """Defaults measured on the bench cases (see the module docstring): 30 channels."""

    class_dims: int = 4
    class_weight: float = 1.0
    position_frequencies: tuple[float, ...] = (1.0, 2.0)
    position_weight: float = 1.0     # regions cut by the frame
    whole_weight: float = 5.0        # regions the frame does not cut (objects)
    position_mirror: bool = True     # encode u evenly about the region centre (flip invariant)
    cut_trust: float = 0.0           # position kept for regions cut by the frame (0..1)
    boundary_wavelengths: tuple[float, ...] = (1 / 64, 1 / 16, 1 / 4)   # of the long side
    boundary_weight: float = 1.0
    direction_weight: float = 1.0
    frame_frequencies: tuple[float, ...] = (1.0,)
    frame_weight: float = 0.3
    context_radii: tuple[float, ...] = (0.02, 0.05, 0.15)   # box half-sizes, of the long side
    context_weight: float = 1.5
    colour_radius: int = 2           # box half-size in pixels
    colour_weight: float = 0.0       # 0 = group left out
    seed: int = 0                    # class codes


SourceMemo = Callable[[int, Callable[[], torch.Tensor]], torch.Tensor]


class SemanticFeatures:
    """A :class:`~inference.correspondence.base.FeatureProvider` with no learned weights."""

    name = "semantic"

    def __init__(self, config: SemanticFeatureConfig | None = None) -> None:
        self.config = config or SemanticFeatureConfig()
        g = np.random.default_rng(self.config.seed)
        codes = g.standard_normal((_NUM_CODES, self.config.class_dims)).astype(np.float32)
        self._codes = codes / np.linalg.norm(codes, axis=1, keepdims=True)

    def _groups(self) -> list[tuple[str, int]]:
        """(group, channels) in output order; weight-0 and empty groups left out."""
        cfg = self.config
        spec = [
            ("class", cfg.class_dims if cfg.class_weight else 0),
            ("position", ((1 if cfg.position_mirror else 2) + 4) * len(cfg.position_frequencies)
             if cfg.position_weight or cfg.whole_weight else 0),
            ("boundary", 2 * len(cfg.boundary_wavelengths) if cfg.boundary_weight else 0),
            ("direction", 2 if cfg.direction_weight else 0),
            ("frame", 3 * len(cfg.frame_frequencies) if cfg.frame_weight else 0),
            ("context", cfg.class_dims * len(cfg.context_radii) if cfg.context_weight else 0),
            ("colour", 8 if cfg.colour_weight else 0),
        ]
        return [(name, n) for name, n in spec if n]

    @property
    def channels(self) -> int:
        return sum(n for _, n in self._groups())

    def __call__(self, request: WarpRequest, memo: SourceMemo | None = None) -> FeatureMaps:
        """Features of every source and of the target. ``memo(i, make)`` may give source
        ``i``'s map from a cache instead of calling ``make()`` (the editor keeps the maps of the
        whole photo and of references between edits)."""
        def source(i: int, s) -> torch.Tensor:
            def make() -> torch.Tensor:
                return self.describe(s.labels, s.image, None, s.frame)
            return make() if memo is None else memo(i, make)

        sources = [source(i, s) for i, s in enumerate(request.sources)]
        target = self.describe(request.target_labels, request.target_image, request.target_known,
                               request.target_frame)
        return FeatureMaps(sources=sources, target=target)

    def describe(
        self,
        labels: torch.Tensor,                   # (H, W) int
        image: torch.Tensor | None = None,      # (3, H, W) float [0, 1]
        known: torch.Tensor | None = None,      # (H, W) bool; None = all known if image given
        frame: FeatureFrame | None = None,      # the shared canvas (None: the map itself)
    ) -> torch.Tensor:
        """Features ``(C, H, W)`` float32, channel-normalised, on the CPU."""
        cfg = self.config
        lab = labels.detach().cpu().numpy().astype(np.uint8)
        h, w = lab.shape
        shared = frame is not None
        frame = frame or FeatureFrame(0.0, 0.0, float(h), float(w))
        long_side = frame.length_unit
        codes = self._codes[lab]                                            # (H, W, D)
        geometry = (boundary_geometry(lab)
                    if cfg.boundary_weight or cfg.direction_weight or cfg.position_weight
                    or cfg.whole_weight else None)
        if geometry is not None and shared:
            # On a shared canvas a boundary farther than a quarter of its long side (the longest
            # wavelength), or none in view, reads the same in every map; left alone, each map
            # would say "as far as my own size".
            geometry = (np.minimum(geometry[0], long_side / 4), geometry[1], geometry[2])
        out = np.empty((self.channels, h, w), np.float32)
        c0 = 0
        for name, n in self._groups():
            g = out[c0:c0 + n]
            c0 += n
            if name == "class":
                g[:] = codes.transpose(2, 0, 1)                              # unit already
                g *= cfg.class_weight
            elif name == "position":
                u, v, whole, rel = region_coordinates(lab, cfg.cut_trust, geometry[0])
                f = cfg.position_frequencies
                fu = _mirror_fourier(u, f) if cfg.position_mirror else _fourier(u, f)
                # rel: distance to the boundary relative to the region's deepest; scale
                # invariant, but only trustworthy where the frame does not cut the region
                g[:] = np.concatenate([fu, _fourier(v, f), _fourier(rel, f) * whole[None]])
                _scale_to_(g, 1.0)
                g *= np.where(whole > 0, cfg.whole_weight, cfg.position_weight)[None]
            elif name == "boundary":
                freqs = tuple(1.0 / wl for wl in cfg.boundary_wavelengths)
                g[:] = _fourier(geometry[0] / long_side, freqs, scale=2.0)
                _scale_to_(g, cfg.boundary_weight)
            elif name == "direction":
                g[0], g[1] = geometry[1], np.abs(geometry[2])
                _scale_to_(g, cfg.direction_weight)
            elif name == "frame":
                yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
                nf = len(cfg.frame_frequencies)
                fx = (xx + frame.origin_x + 0.5) / frame.width
                fy = (yy + frame.origin_y + 0.5) / frame.height
                g[:nf] = _mirror_fourier(fx, cfg.frame_frequencies)
                g[nf:] = _fourier(fy, cfg.frame_frequencies)
                _scale_to_(g, cfg.frame_weight)
            elif name == "context":
                d = cfg.class_dims
                for i, radius in enumerate(cfg.context_radii):
                    k = 2 * max(1, round(radius * long_side)) + 1
                    ctx = cv2.blur(codes, (k, k), borderType=cv2.BORDER_REFLECT)
                    g[i * d:(i + 1) * d] = ctx.transpose(2, 0, 1)
                    _scale_to_(g[i * d:(i + 1) * d], cfg.context_weight)
            else:                                                            # colour
                g[:] = self._colour(image, known, h, w)
                _scale_to_(g, cfg.colour_weight)
        return channel_normalize_(torch.from_numpy(out))

    def _colour(self, image, known, h: int, w: int) -> np.ndarray:
        if image is None:
            return np.zeros((8, h, w), np.float32)
        img = image.detach().cpu().float().numpy().transpose(1, 2, 0)        # (H, W, 3)
        k = 2 * self.config.colour_radius + 1
        mean = cv2.blur(img, (k, k), borderType=cv2.BORDER_REFLECT)
        grey = img.mean(axis=-1)
        var = cv2.blur(grey * grey, (k, k)) - cv2.blur(grey, (k, k)) ** 2
        stats = np.concatenate([mean - 0.5, np.sqrt(np.maximum(var, 0))[..., None] * 4], -1)
        # Each statistic and its negation: the group sums to zero at every pixel, so the final
        # per-pixel mean subtraction does not leak colour into the other groups' scores (which
        # would bias hole pixels, whose colour group is zero, towards some keys).
        col = np.concatenate([stats, -stats], -1).transpose(2, 0, 1).astype(np.float32)
        if known is not None:
            col = col * known.detach().cpu().numpy()[None].astype(np.float32)
        return col


class RegionCoordinates(NamedTuple):
    """Per-pixel ``(H, W)`` float32 maps of :func:`region_coordinates`."""

    u: np.ndarray        # position in the region's bounding box, (0, 1)
    v: np.ndarray
    whole: np.ndarray    # 1 where the frame does not cut the region, else 0
    depth: np.ndarray    # ``dist`` over the region's largest ``dist`` (1 where none is given)


def region_coordinates(labels: np.ndarray, cut_trust: float = 0.0,
                       dist: np.ndarray | None = None) -> RegionCoordinates:
    """Per pixel ``u, v`` in (0, 1): its position in its connected region's bounding box, and
    with a boundary distance map ``dist``, that distance relative to the region's largest.

    A region cut by the image's left or right edge has no trustworthy horizontal extent, so its
    ``u`` is pulled towards 0.5, keeping the fraction ``cut_trust`` of it; likewise ``v`` for the
    top and bottom edges. One ``connectedComponentsWithStats`` per class present (a loop over
    classes, not pixels).
    """
    h, w = labels.shape
    u = np.empty((h, w), np.float32)
    v = np.empty((h, w), np.float32)
    whole = np.empty((h, w), np.float32)
    depth = np.ones((h, w), np.float32)
    for cls in np.unique(labels):
        n, cc, stats, _ = cv2.connectedComponentsWithStats(
            (labels == cls).astype(np.uint8), connectivity=4, ltype=cv2.CV_32S)
        inside = cc > 0
        ys, xs = np.nonzero(inside)
        ids = cc[inside]
        left, top = stats[ids, cv2.CC_STAT_LEFT], stats[ids, cv2.CC_STAT_TOP]
        cw, ch = stats[ids, cv2.CC_STAT_WIDTH], stats[ids, cv2.CC_STAT_HEIGHT]
        cut_x = (left == 0) | (left + cw == w)
        cut_y = (top == 0) | (top + ch == h)
        uu, vv = (xs - left + 0.5) / cw, (ys - top + 0.5) / ch
        u[inside] = np.where(cut_x, 0.5 + cut_trust * (uu - 0.5), uu)
        v[inside] = np.where(cut_y, 0.5 + cut_trust * (vv - 0.5), vv)
        whole[inside] = ~(cut_x | cut_y)
        if dist is not None:
            d = dist[inside]
            peak = np.zeros(n, np.float32)
            np.maximum.at(peak, ids, d)
            depth[inside] = d / np.maximum(peak[ids], 1.0)
    return RegionCoordinates(u, v, whole, depth)


def boundary_geometry(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per pixel: Euclidean distance to the nearest boundary pixel, and the offset ``(dy, dx)``
    to it, all ``(H, W)`` float32 in pixels.

    Boundary pixels are those with a 4-neighbour of another class; the image frame is *not* a
    boundary, so the result is translation invariant wherever the nearest boundary is in view.
    With no boundary at all the distance is the long side and the offset zero.
    """
    h, w = labels.shape
    edge = np.zeros((h, w), bool)
    edge[:-1] |= labels[:-1] != labels[1:]
    edge[1:] |= labels[1:] != labels[:-1]
    edge[:, :-1] |= labels[:, :-1] != labels[:, 1:]
    edge[:, 1:] |= labels[:, 1:] != labels[:, :-1]
    if not edge.any():
        zero = np.zeros((h, w), np.float32)
        return np.full((h, w), float(max(h, w)), np.float32), zero, zero.copy()
    dist, nearest = cv2.distanceTransformWithLabels(
        (~edge).astype(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL)
    # DIST_LABEL_PIXEL numbers the zero (boundary) pixels 1.. in row-major order.
    flat = np.flatnonzero(edge)[nearest.ravel() - 1]
    ys, xs = np.divmod(np.arange(h * w), w)
    dy = (flat // w - ys).reshape(h, w).astype(np.float32)
    dx = (flat % w - xs).reshape(h, w).astype(np.float32)
    return dist.astype(np.float32), dy, dx


def _fourier(x: np.ndarray, freqs: tuple[float, ...], scale: float = 1.0) -> np.ndarray:
    """``(H, W)`` -> ``(2F, H, W)``: sin and cos of ``scale·π f x`` for each frequency."""
    ang = [scale * math.pi * f * x for f in freqs]
    return np.stack([np.sin(a) for a in ang] + [np.cos(a) for a in ang]).astype(np.float32)


def _mirror_fourier(x: np.ndarray, freqs: tuple[float, ...]) -> np.ndarray:
    """``(H, W)`` in [0, 1] -> ``(F, H, W)``: ``cos(π f (2x - 1))``, even about 0.5."""
    return np.stack([np.cos(math.pi * f * (2 * x - 1)) for f in freqs]).astype(np.float32)


def _scale_to_(x: np.ndarray, norm: float) -> None:
    """Scale every pixel's vector (axis 0) to the given norm in place; zero vectors stay zero."""
    n = np.sqrt(np.einsum("chw,chw->hw", x, x))
    x *= norm / np.maximum(n, 1e-6)
