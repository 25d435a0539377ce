"""Automatic over-segmentation for when no parser is available: superpixels merged to regions.

The GUI shows the regions and lets the user name each one with a class from the palette, which is
much faster than painting a layout from scratch. Regions should follow objects: one region must
not hold a kite's stripe and a patch of sky, and a smooth sky gradient should be one region, not
a staircase of bands. Four steps, all vectorised except the merge loops (cheap per merge):

1. SLIC-style superpixels: k-means in (Lab colour, position) where each pixel only considers the
   centres whose home cell is in the 3×3 block of grid cells around its own -- the same locality
   as SLIC's 2S×2S search window, done as nine whole-image distance maps.
2. Every connected piece of every superpixel becomes its own node (k-means labels may be
   fragmented); specks are folded into their most similar neighbour.
3. **Weak borders go first** (Felzenszwalb & Huttenlocher's graph criterion on the piece graph):
   the weight of a border is the colour distance of the two pieces' means -- a *local* contrast,
   blind to texture averaged inside a superpixel -- and two areas join when their border is at
   most ``(1 + gradient_slack)`` × the largest step already inside either of them, plus
   ``weak_edge`` ΔE for a one-superpixel area (less for larger ones). A smooth gradient is a chain
   of equal small steps, so it joins into one region; a real edge is a step much larger than
   anything inside the areas it separates, so it stays.
4. The rest merge greedily down to ``regions`` by a Ward-like cost on **border contrast**:
   ``n_i n_j / (n_i + n_j) · c_ij ** contrast_power``, where ``c_ij`` is the mean local contrast
   along the shared border (each border pixel carries the contrast of the two pieces it
   separates), so small areas and faint borders go first and strong object outlines last. (The
   previous method, Ward on the regions' mean colours, is ``merge="ward"``; it splits gradients
   into bands because two halves of a gradient differ in mean colour.)

The map is computed at a working size (long side ``working_side``); larger photos get it back at
full size by guided upsampling of the region indicator maps, so borders follow the photo's edges.
``python -m training.regions_eval`` scores the regions against real ground truth (README table).

``RegionMap`` -- ``uint8 (H, W)``, region ids 1..N (N ≤ 150), largest region first. The ids are not
ADE20K classes; they are saved like a label map so the same tools can read them.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from inference.arrays import RegionMap, RGBImage
from inference.errors import BadInputError
from inference.parser.refine import RefineConfig, guided_argmax
from inference.progress import CancelToken, ProgressFn, no_progress

MAX_REGIONS = 150  # region ids share the label-map format (uint8, 1..150)


@dataclass(frozen=True)
class RegionConfig:
    """Over-segmentation settings; ``regions`` is the most regions to end with (a photo with
    fewer distinct areas gets fewer). Defaults measured on real photos with
    ``python -m training.regions_eval`` (README, "Automatic regions")."""

    regions: int = 24
    superpixels: int = 800
    compactness: float = 10.0  # SLIC's m: Lab distance worth one grid spacing of position
    iterations: int = 8
    working_side: int = 512
    merge: Literal["contrast", "ward"] = "contrast"
    weak_edge: float = 3.0  # ΔE (Lab) a one-superpixel area joins its neighbour across
    gradient_slack: float = 0.75  # a border joins at (1 + slack) × the largest inner step
    contrast_power: float = 1.5  # greedy cost = Ward size term × border contrast ** power


def _validate(image: np.ndarray, config: RegionConfig) -> None:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 \
            or image.dtype != np.uint8:
        shape = getattr(image, "shape", None)
        raise BadInputError(f"regions need a uint8 H×W×3 photo, got shape {shape}")
    if not 1 <= config.regions <= MAX_REGIONS:
        raise BadInputError(f"region count must be 1..{MAX_REGIONS}, got {config.regions}")
    if config.superpixels < config.regions:
        raise BadInputError(
            f"superpixels ({config.superpixels}) must be at least regions ({config.regions})")
    if config.merge not in ("contrast", "ward"):
        raise BadInputError(f"region merge must be 'contrast' or 'ward', got {config.merge!r}")


def slic_superpixels(lab: np.ndarray, count: int, compactness: float, iterations: int
                     ) -> np.ndarray:
    """``(H, W) int64`` superpixel index of a float32 Lab image (H×W×3)."""
    h, w = lab.shape[:2]
    step = max(1.0, float(np.sqrt(h * w / max(1, count))))
    gh, gw = max(1, round(h / step)), max(1, round(w / step))
    sy, sx = h / gh, w / gw
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cell_y = np.minimum((yy / sy).astype(np.int64), gh - 1).ravel()
    cell_x = np.minimum((xx / sx).astype(np.int64), gw - 1).ravel()
    # Pixel features and centres as five separate float32 vectors (L, a, b, y, x): gathering
    # and subtracting contiguous vectors is several times faster than (N, 5) fancy indexing.
    feats = [np.ascontiguousarray(lab[..., k]).ravel() for k in range(3)] + [yy.ravel(), xx.ravel()]
    cy, cx = np.meshgrid((np.arange(gh) + 0.5) * sy, (np.arange(gw) + 0.5) * sx, indexing="ij")
    start = cy.astype(np.int64).ravel() * w + cx.astype(np.int64).ravel()
    centres = [f[start].copy() for f in feats[:3]] + [cy.ravel().astype(np.float32),
                                                      cx.ravel().astype(np.float32)]
    spatial = np.float32((compactness / step) ** 2)
    # The nine candidate centres of each pixel never change: its own grid cell and the 8 around.
    candidates = [np.clip(cell_y + dy, 0, gh - 1) * gw + np.clip(cell_x + dx, 0, gw - 1)
                  for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    assign = cell_y * gw + cell_x
    n = gh * gw
    for _ in range(iterations):
        best = np.full(h * w, np.inf, dtype=np.float32)
        for idx in candidates:
            d = (feats[0] - centres[0][idx]) ** 2
            d += (feats[1] - centres[1][idx]) ** 2
            d += (feats[2] - centres[2][idx]) ** 2
            d += spatial * ((feats[3] - centres[3][idx]) ** 2 + (feats[4] - centres[4][idx]) ** 2)
            win = d < best
            best[win] = d[win]
            assign[win] = idx[win]
        counts = np.bincount(assign, minlength=n).astype(np.float32)
        alive = counts > 0  # a centre that lost every pixel keeps its old position
        for k in range(5):
            sums = np.bincount(assign, feats[k], n).astype(np.float32)
            centres[k][alive] = sums[alive] / counts[alive]
    return assign.reshape(h, w)


def _connected_pieces(labels: np.ndarray) -> np.ndarray:
    """Relabel so that every 4-connected piece of every label has its own id 0..K-1."""
    out = np.empty(labels.shape, dtype=np.int64)
    next_id = 0
    flat = labels.ravel()
    order = np.argsort(flat, kind="stable")
    bounds = np.flatnonzero(np.diff(flat[order])) + 1
    w = labels.shape[1]
    for pix in np.split(order, bounds):
        ys, xs = pix // w, pix % w
        y0, x0 = ys.min(), xs.min()
        crop = np.zeros((ys.max() - y0 + 1, xs.max() - x0 + 1), np.uint8)
        crop[ys - y0, xs - x0] = 1
        n, comp = cv2.connectedComponents(crop, connectivity=4)
        out[ys, xs] = comp[ys - y0, xs - x0] - 1 + next_id
        next_id += n - 1
    return out


def _adjacent_pairs(labels: np.ndarray) -> np.ndarray:
    pairs = []
    for a, b in ((labels[:, :-1], labels[:, 1:]), (labels[:-1, :], labels[1:, :])):
        diff = a != b
        pairs.append(np.stack([np.minimum(a[diff], b[diff]), np.maximum(a[diff], b[diff])], 1))
    return np.unique(np.concatenate(pairs), axis=0)


def absorb_specks(pieces: np.ndarray, lab: np.ndarray, min_size: int) -> np.ndarray:
    """Fold pieces smaller than ``min_size`` pixels into their most similar larger neighbour.

    SLIC on a noisy photo leaves thousands of specks along superpixel borders; they would cost a
    merge each (and give the big regions hundreds of neighbours). This is SLIC's own
    connectivity clean-up, done for all specks at once: a piece only ever moves into a strictly
    larger one, so the moves form chains without cycles.
    """
    for _ in range(8):
        k = int(pieces.max()) + 1
        size = np.bincount(pieces.ravel(), minlength=k)
        small = size < min_size
        if not small.any():
            break
        mean = np.stack([np.bincount(pieces.ravel(), lab[..., c].ravel(), k) for c in range(3)],
                        1) / np.maximum(size, 1)[:, None]
        pairs = _adjacent_pairs(pieces)
        src = np.concatenate([pairs[:, 0], pairs[:, 1]])
        dst = np.concatenate([pairs[:, 1], pairs[:, 0]])
        keep = small[src] & (size[dst] > size[src])
        if not keep.any():
            break
        src, dst = src[keep], dst[keep]
        dist = ((mean[src] - mean[dst]) ** 2).sum(1)
        order = np.lexsort((dist, src))
        first = np.unique(src[order], return_index=True)[1]
        mapping = np.arange(k)
        mapping[src[order][first]] = dst[order][first]
        while True:
            nxt = mapping[mapping]
            if (nxt == mapping).all():
                break
            mapping = nxt
        pieces = np.unique(mapping[pieces], return_inverse=True)[1].reshape(pieces.shape)
    return pieces


def _resolve(parent: np.ndarray) -> np.ndarray:
    """Follow chains of absorbed nodes to their surviving root."""
    while True:
        nxt = parent[parent]
        if (nxt == parent).all():
            return parent
        parent = nxt


def _ranked(merged: np.ndarray) -> np.ndarray:
    """Compact ids 1..N, largest region first, as a ``RegionMap``."""
    ids, inverse, counts = np.unique(merged, return_inverse=True, return_counts=True)
    rank = np.empty(len(ids), np.int64)
    rank[np.argsort(-counts, kind="stable")] = np.arange(len(ids))
    return (rank[inverse.reshape(merged.shape)] + 1).astype(np.uint8)


def _piece_stats(labels: np.ndarray, lab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(size (K,), mean Lab colour (K, 3))`` of pieces with ids 0..K-1."""
    k = int(labels.max()) + 1
    size = np.bincount(labels.ravel(), minlength=k).astype(np.float64)
    mean = np.stack([np.bincount(labels.ravel(), lab[..., c].ravel(), k) for c in range(3)], 1)
    return size, mean / np.maximum(size, 1)[:, None]


def _border_lengths(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Adjacent pairs ``i < j`` of ``labels`` and the number of 4-neighbour pixel pairs on
    their shared border."""
    k = int(labels.max()) + 1
    keys = []
    for a, b in ((labels[:, :-1], labels[:, 1:]), (labels[:-1, :], labels[1:, :])):
        diff = a != b
        lo, hi = np.minimum(a[diff], b[diff]), np.maximum(a[diff], b[diff])
        keys.append(lo.astype(np.int64) * k + hi)
    uniq, counts = np.unique(np.concatenate(keys), return_counts=True)
    return uniq // k, uniq % k, counts.astype(np.float64)


def join_weak_borders(size: np.ndarray, mean: np.ndarray, pairs: tuple[np.ndarray, ...],
                      weak_k: float, slack: float) -> np.ndarray:
    """Felzenszwalb–Huttenlocher on the piece graph (see the module doc, step 3): the root of
    each piece. Borders are visited weakest first; ``inner`` is the largest step inside an
    area so far (the heaviest edge of its minimum spanning tree)."""
    i, j = pairs[0], pairs[1]
    weight = np.sqrt(((mean[i] - mean[j]) ** 2).sum(axis=1))
    parent = np.arange(len(size))
    area, inner = size.copy(), np.zeros(len(size))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for e in np.argsort(weight, kind="stable").tolist():
        a, b = find(int(i[e])), find(int(j[e]))
        w = float(weight[e])
        if a == b or w > min((1 + slack) * inner[a] + weak_k / area[a],
                             (1 + slack) * inner[b] + weak_k / area[b]):
            continue
        if area[a] < area[b]:
            a, b = b, a
        parent[b] = a
        area[a] += area[b]
        inner[a] = max(inner[a], inner[b], w)
    return _resolve(parent)


def merge_by_contrast(pieces: np.ndarray, lab: np.ndarray, config: RegionConfig) -> np.ndarray:
    """Steps 3 and 4 of the module doc: weak borders first, then greedy merging by size and
    border contrast down to ``config.regions``."""
    size, mean = _piece_stats(pieces, lab)
    pi, pj, length = _border_lengths(pieces)
    weak_k = config.weak_edge * pieces.size / config.superpixels  # ΔE × one superpixel's area
    root = join_weak_borders(size, mean, (pi, pj), weak_k, config.gradient_slack)
    ids, group = np.unique(root, return_inverse=True)
    k = len(ids)
    # Border statistics between groups: Σ length × local contrast and Σ length, where the local
    # contrast of a piece border is the colour distance of the two pieces' means.
    contrast = np.sqrt(((mean[pi] - mean[pj]) ** 2).sum(axis=1))
    gi, gj = group[pi], group[pj]
    across = gi != gj
    lo, hi = np.minimum(gi[across], gj[across]), np.maximum(gi[across], gj[across])
    uniq, inverse = np.unique(lo.astype(np.int64) * k + hi, return_inverse=True)
    sums = np.bincount(inverse, (length * contrast)[across])
    lengths = np.bincount(inverse, length[across])
    border: list[dict[int, list[float]]] = [{} for _ in range(k)]
    for a, b, s, n in zip((uniq // k).tolist(), (uniq % k).tolist(), sums.tolist(),
                          lengths.tolist()):
        border[a][b] = border[b][a] = [s, n]
    gsize = np.bincount(group, size, minlength=k)
    power = config.contrast_power

    def cost(a: int, b: int) -> float:
        s, n = border[a][b]
        return float(gsize[a] * gsize[b] / (gsize[a] + gsize[b]) * (s / n) ** power)

    version, parent = [0] * k, np.arange(k)
    heap = [(cost(a, b), a, b, 0, 0) for a in range(k) for b in border[a] if a < b]
    heapq.heapify(heap)
    alive = k
    while alive > config.regions and heap:
        _, a, b, va, vb = heapq.heappop(heap)
        if version[a] != va or version[b] != vb or parent[a] != a or parent[b] != b:
            continue  # stale: one side changed or was absorbed since this entry was pushed
        gsize[a] += gsize[b]
        parent[b] = a
        for n, stats in border[b].items():
            if n == a:
                continue
            del border[n][b]
            if n in border[a]:
                border[a][n][0] += stats[0]
                border[a][n][1] += stats[1]
            else:
                border[a][n] = stats
            border[n][a] = border[a][n]
        del border[a][b]
        border[b] = {}
        version[a] += 1
        alive -= 1
        for n in border[a]:
            x, y = (a, n) if a < n else (n, a)
            heapq.heappush(heap, (cost(x, y), x, y, version[x], version[y]))
    return _ranked(_resolve(parent)[group][pieces])


def merge_regions(labels: np.ndarray, lab: np.ndarray, target: int) -> np.ndarray:
    """The previous method (``merge="ward"``): greedy Ward merging of adjacent pieces of
    ``labels`` (ids 0..K-1) down to ``target``.

    Noisy photos fragment into thousands of pieces, so the cheapest pair comes from a heap with
    lazy invalidation (a version number per node) rather than a rescan of every edge per merge.
    """
    k = int(labels.max()) + 1
    size = np.bincount(labels.ravel(), minlength=k).astype(np.float64)
    mean = np.stack([np.bincount(labels.ravel(), lab[..., c].ravel(), k) for c in range(3)], 1)
    mean /= np.maximum(size, 1)[:, None]
    neighbours: list[set[int]] = [set() for _ in range(k)]
    for i, j in _adjacent_pairs(labels).tolist():
        neighbours[i].add(j)
        neighbours[j].add(i)
    version = [0] * k
    parent = np.arange(k)

    def cost(i: int, j: int) -> float:
        d = mean[i] - mean[j]
        return float(size[i] * size[j] / (size[i] + size[j]) * (d @ d))

    heap = [(cost(i, j), i, j, 0, 0) for i in range(k) for j in neighbours[i] if i < j]
    heapq.heapify(heap)
    alive = k
    while alive > target and heap:
        _, i, j, vi, vj = heapq.heappop(heap)
        if version[i] != vi or version[j] != vj or parent[i] != i or parent[j] != j:
            continue  # stale: one side changed or was absorbed since this entry was pushed
        mean[i] = (mean[i] * size[i] + mean[j] * size[j]) / (size[i] + size[j])
        size[i] += size[j]
        parent[j] = i
        for n in neighbours[j]:
            neighbours[n].discard(j)
            if n != i:
                neighbours[n].add(i)
                neighbours[i].add(n)
        neighbours[i].discard(j)
        neighbours[j] = set()
        version[i] += 1
        alive -= 1
        for n in neighbours[i]:
            a, b = (i, n) if i < n else (n, i)
            heapq.heappush(heap, (cost(a, b), a, b, version[a], version[b]))
    return _ranked(_resolve(parent)[labels])


def segment_regions(image: RGBImage, config: RegionConfig | None = None,
                    progress: ProgressFn = no_progress, cancel: CancelToken | None = None
                    ) -> RegionMap:
    """``RegionMap`` of an ``RGBImage``: tens of regions of similar colour (see module doc)."""
    config = config or RegionConfig()
    _validate(image, config)
    h, w = image.shape[:2]
    scale = min(1.0, config.working_side / max(h, w))
    wh, ww = max(1, round(h * scale)), max(1, round(w * scale))
    small = image if scale == 1.0 else cv2.resize(image, (ww, wh), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(small.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    progress(0, 3)
    sp = slic_superpixels(lab, config.superpixels, config.compactness, config.iterations)
    if cancel is not None:
        cancel.raise_if_cancelled()
    progress(1, 3)
    min_size = max(1, (wh * ww) // (4 * config.superpixels))  # a quarter of a superpixel
    pieces = absorb_specks(_connected_pieces(sp), lab, min_size)
    if config.merge == "ward":
        regions = merge_regions(pieces, lab, config.regions)
    else:
        regions = merge_by_contrast(pieces, lab, config)
    if cancel is not None:
        cancel.raise_if_cancelled()
    progress(2, 3)
    if scale < 1.0:
        n = int(regions.max())
        onehot = np.stack([(regions == r).astype(np.float32) for r in range(1, n + 1)])
        # The indicators are exact at working size: a small window (about 2 working pixels)
        # is enough to move each border onto the nearest photo edge.
        regions = (guided_argmax(image, onehot, RefineConfig(radius_scale=2.0)) + 1
                   ).astype(np.uint8)
    progress(3, 3)
    return regions
