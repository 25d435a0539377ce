"""Objects that moved keep their own pixels.

An object the user moved, scaled, rotated or flipped is a known affine map of its old pixels:
resampling the photo through that map gives its new pixels exactly, and only the hole it left
and the band around its new place need synthesis. The editor passes the map it applied
(:class:`ObjectTransform`); ``main.py edit --object-transform`` takes the same thing by hand.

For edits made on the label map alone, :func:`infer_object_transforms` looks for them: a region
of the edited layout that is a similarity transform (move, scale, rotation, mirror) of a region
of the same class in the original layout -- fitted from the regions' moments and kept only when
the transformed old region covers the new one (intersection over union at least
``min_iou``) -- is treated the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from inference.arrays import LabelMap, Mask, RGBImage
from inference.errors import BadInputError


@dataclass(frozen=True)
class ObjectTransform:
    """``source`` pixels of the photo (bool ``(H, W)``) moved by ``matrix``, a ``2×3`` affine
    map from photo coordinates to edited coordinates (pixel centres at integers)."""

    source: Mask
    matrix: np.ndarray

    def __post_init__(self) -> None:
        m = np.asarray(self.matrix, dtype=np.float64)
        if m.shape != (2, 3) or not np.isfinite(m).all():
            raise BadInputError(f"object transform must be a finite 2×3 matrix, got {m.shape}")
        det = float(np.linalg.det(m[:, :2]))
        if not 1e-4 <= abs(det) <= 1e4:
            raise BadInputError(f"object transform scales the area by {abs(det):.3g}; "
                                f"allowed 1e-4..1e4")
        object.__setattr__(self, "matrix", m)


def similarity(dx: float = 0.0, dy: float = 0.0, scale: float = 1.0, angle: float = 0.0,
               flip: bool = False, centre: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """``2×3``: mirror (left-right), scale and rotate by ``angle`` degrees (counter-clockwise on
    screen) about ``centre = (x, y)``, then move by ``(dx, dy)``."""
    cx, cy = centre
    t = math.radians(angle)
    c, s = math.cos(t) * scale, math.sin(t) * scale
    f = -1.0 if flip else 1.0
    a = np.array([[c * f, s], [-s * f, c]])
    shift = np.array([cx + dx, cy + dy]) - a @ np.array([cx, cy])
    return np.hstack([a, shift[:, None]])


def paste_objects(image: RGBImage, labels: LabelMap, edited: LabelMap,
                  transforms: list[ObjectTransform], invalid: Mask | None = None
                  ) -> tuple[RGBImage, Mask]:
    """The photo with every transformed object resampled into place, and where that happened.

    A target pixel is filled when it maps back inside the object's source pixels (and not onto
    an ``invalid`` one) and the edited layout there has the object's class (its most common
    class in ``labels``); bilinear sampling.
    """
    out = image.copy()
    fixed = np.zeros(edited.shape, bool)
    h, w = edited.shape
    for t in transforms:
        if t.source.shape != (h, w):
            raise BadInputError(f"object mask is {t.source.shape[1]}×{t.source.shape[0]}, the "
                                f"photo {w}×{h}")
        src = t.source if invalid is None else t.source & ~invalid
        if not src.any():
            continue
        ys, xs = np.nonzero(src)
        cls = int(np.bincount(labels[ys, xs]).argmax())
        box = _target_box(t.matrix, xs, ys, w, h)
        if box is None:
            continue
        x0, y0, x1, y1 = box
        m = t.matrix.copy()
        m[:, 2] -= (x0, y0)                     # into the box's coordinates
        size = (x1 - x0, y1 - y0)
        pix = cv2.warpAffine(image, m, size, flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REPLICATE)
        inside = warp_mask(src, m, (y1 - y0, x1 - x0))
        region = inside & (edited[y0:y1, x0:x1] == cls)
        out[y0:y1, x0:x1][region] = pix[region]
        fixed[y0:y1, x0:x1] |= region
    return out, fixed


def infer_object_transforms(labels: LabelMap, edited: LabelMap, mask: Mask,
                            min_iou: float = 0.92, max_area: float = 0.25
                            ) -> list[ObjectTransform]:
    """Objects of ``edited`` that are moved/scaled/rotated/mirrored copies of ``labels``' ones.

    Only regions that touch ``mask``, of a class other than 0, of at most ``max_area`` of the
    image, are considered; a pair that is the same region unmoved is
    not a transform.
    """
    h, w = labels.shape
    out: list[ObjectTransform] = []
    used: set[tuple[int, int]] = set()
    for cls in np.unique(edited[mask]):
        if cls == 0:
            continue
        targets = _components(edited == cls, mask, max_area)
        sources = _components(labels == cls, mask, max_area)
        for t_mask, t_m in targets:
            best = None
            for j, (s_mask, s_m) in enumerate(sources):
                if (int(cls), j) in used or not 1 / 6 <= t_m["m00"] / s_m["m00"] <= 6:
                    continue
                if _iou(t_mask, s_mask) > 0.98:
                    continue                        # the same region, not moved
                for params in _candidates(s_m, t_m):
                    iou = _iou(t_mask, warp_mask(s_mask, similarity(*params), (h, w)))
                    if best is None or iou > best[0]:
                        best = (iou, j, params, s_mask)
            if best is not None and best[0] >= min_iou - 0.2:
                best = (*_refine(best[3], t_mask, best[2]), best[1], best[3])
                best = (best[0], best[2], similarity(*best[1]), best[3])
            if best is not None and best[0] >= min_iou:
                used.add((int(cls), best[1]))
                out.append(ObjectTransform(best[3], best[2]))
    return out


# ---------------------------------------------------------------------------- helpers


def _components(region: np.ndarray, mask: Mask, max_area: float):
    """Connected components of ``region`` touching ``mask``, not the border, not too large:
    ``[(bool mask, cv2 moments)]``."""
    h, w = region.shape
    _n, cc, stats, _ = cv2.connectedComponentsWithStats(region.astype(np.uint8), connectivity=4)
    hit = np.unique(cc[mask & region])
    found = []
    for i in hit:
        if i == 0:
            continue
        area = stats[i][4]
        if area > max_area * h * w or area < 64:
            continue
        comp = cc == i
        found.append((comp, cv2.moments(comp.astype(np.uint8), binaryImage=True)))
    return found


def _orientation(m: dict) -> float:
    return 0.5 * math.atan2(2 * m["mu11"], m["mu20"] - m["mu02"])


def _candidates(s: dict, t: dict) -> list[np.ndarray]:
    """Similarity maps from source region moments ``s`` to target ``t``: the principal axes
    matched either way round, mirrored or not, and no rotation (round shapes)."""
    scale = math.sqrt(t["m00"] / s["m00"])
    sc = (s["m10"] / s["m00"], s["m01"] / s["m00"])
    tc = (t["m10"] / t["m00"], t["m01"] / t["m00"])
    out = []
    for flip in (False, True):
        th_s = _orientation(s)
        if flip:
            th_s = math.pi - th_s
        th_t = _orientation(t)
        # orientation is measured with y down; a counter-clockwise turn on screen is -Δ
        for delta in (th_t - th_s, th_t - th_s + math.pi, 0.0):
            out.append((tc[0] - sc[0], tc[1] - sc[1], scale,
                        -math.degrees(math.remainder(delta, 2 * math.pi)), flip, sc))
    return out


def _refine(source: Mask, target: Mask, params: tuple, rounds: int = 5
            ) -> tuple[float, tuple]:
    """Pattern search on (dx, dy, scale, angle) for the largest overlap, on the pair's box
    (regions cut by the frame have moments that do not match: the search corrects them)."""
    ys, xs = np.nonzero(source | target)
    y0, x0 = max(0, ys.min() - 8), max(0, xs.min() - 8)
    y1, x1 = ys.max() + 9, xs.max() + 9
    src, tgt = source[y0:y1, x0:x1], target[y0:y1, x0:x1]
    dx, dy, scale, angle, flip, (cx, cy) = params
    centre = (cx - x0, cy - y0)

    def score(p):
        return _iou(tgt, warp_mask(src, similarity(*p, flip, centre), tgt.shape))

    cur = [dx, dy, scale, angle]
    best = score(cur)
    steps = [4.0, 4.0, 0.08 * scale, 4.0]
    for _ in range(rounds):
        improved = True
        while improved:
            improved = False
            for i in range(4):
                for sign in (1, -1):
                    trial = list(cur)
                    trial[i] += sign * steps[i]
                    v = score(trial)
                    if v > best + 1e-6:
                        best, cur, improved = v, trial, True
        steps = [st / 2 for st in steps]
    return best, (*cur, flip, (cx, cy))


def warp_mask(mask: Mask, matrix: np.ndarray, shape: tuple[int, int]) -> Mask:
    """``mask`` moved by the ``2×3`` ``matrix`` onto an ``(h, w)`` grid (nearest)."""
    h, w = shape
    return cv2.warpAffine(mask.astype(np.uint8), matrix, (w, h), flags=cv2.INTER_NEAREST) > 0


def _iou(a: Mask, b: Mask) -> float:
    union = np.count_nonzero(a | b)
    return np.count_nonzero(a & b) / union if union else 0.0


def _target_box(matrix, xs, ys, w, h):
    pts = np.stack([[xs.min() - 1, ys.min() - 1], [xs.max() + 1, ys.min() - 1],
                    [xs.min() - 1, ys.max() + 1], [xs.max() + 1, ys.max() + 1]]).astype(float)
    moved = pts @ matrix[:, :2].T + matrix[:, 2]
    x0, y0 = np.floor(moved.min(0)).astype(int)
    x1, y1 = np.ceil(moved.max(0)).astype(int) + 1
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    return None if x0 >= x1 or y0 >= y1 else (x0, y0, x1, y1)


@dataclass(frozen=True)
class ObjectMove:
    """An object picked at pixel ``(x, y)`` of the original layout (its 4-connected region),
    moved by ``(dx, dy)`` px, scaled by ``scale`` and turned by ``angle`` degrees
    (counter-clockwise on screen) about its box centre, mirrored left-right first if ``flip``:
    the form ``main.py edit --object-transform X,Y:DX,DY[,SCALE[,ANGLE[,flip]]]`` takes, and
    the editor's move / scale / rotate / flip tools make."""

    x: int
    y: int
    dx: float = 0.0
    dy: float = 0.0
    scale: float = 1.0
    angle: float = 0.0
    flip: bool = False

    def resolve(self, labels: np.ndarray) -> ObjectTransform:
        """The transform of this move on ``labels`` (the photo's layout)."""
        h, w = labels.shape
        if not (0 <= self.x < w and 0 <= self.y < h):
            raise BadInputError(f"object transform: pixel ({self.x}, {self.y}) is outside the "
                                f"{w}×{h} label map")
        same = (labels == labels[self.y, self.x]).astype(np.uint8)
        _, cc = cv2.connectedComponents(same, connectivity=4)
        region = cc == cc[self.y, self.x]
        ys, xs = np.nonzero(region)
        centre = ((xs.min() + xs.max()) / 2.0, (ys.min() + ys.max()) / 2.0)
        return ObjectTransform(region, similarity(self.dx, self.dy, self.scale, self.angle,
                                                  self.flip, centre))


def parse_object_move(text: str) -> ObjectMove:
    """``X,Y:DX,DY[,SCALE[,ANGLE[,flip]]]`` -> :class:`ObjectMove` (BadInputError naming it)."""
    head, sep, tail = text.partition(":")
    form = "X,Y:DX,DY[,SCALE[,ANGLE[,flip]]]"
    if not sep:
        raise BadInputError(f"object transform {text!r} is not of the form {form}")
    try:
        x, y = (int(v) for v in head.split(","))
    except ValueError:
        raise BadInputError(f"object transform {text!r}: X,Y must be two integers") from None
    parts = [p.strip() for p in tail.split(",")]
    flip = bool(parts) and parts[-1].lower() == "flip"
    if flip:
        parts = parts[:-1]
    if not 2 <= len(parts) <= 4:
        raise BadInputError(f"object transform {text!r} is not of the form {form}")
    try:
        nums = [float(v) for v in parts]
    except ValueError:
        raise BadInputError(f"object transform {text!r}: DX, DY, SCALE and ANGLE must be "
                            f"numbers") from None
    if not all(math.isfinite(v) for v in nums):
        raise BadInputError(f"object transform {text!r}: numbers must be finite")
    dx, dy = nums[0], nums[1]
    scale = nums[2] if len(nums) > 2 else 1.0
    angle = nums[3] if len(nums) > 3 else 0.0
    if x < 0 or y < 0 or abs(dx) > 100_000 or abs(dy) > 100_000:
        raise BadInputError(f"object transform {text!r}: X, Y must be >= 0 and DX, DY within "
                            f"±100000")
    if not 0.01 <= scale <= 100 or not -360 <= angle <= 360:
        raise BadInputError(f"object transform {text!r}: SCALE must be 0.01..100 and ANGLE "
                            f"-360..360")
    return ObjectMove(x, y, dx, dy, scale, angle, flip)
