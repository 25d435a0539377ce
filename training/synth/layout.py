"""Scene layout: terrain layers from the horizon forwards, then objects sorted by distance.

The camera is level, so the ground is a plane seen in perspective: the horizon is one image row,
and anything drawn in ground-plane coordinates (lakes, roads, flower patches, field rows) shrinks
and flattens towards it on its own. Everything random comes from the one ``rng`` passed in, so a
layout is a pure function of the seed.
"""

from __future__ import annotations

import numpy as np

from training.synth import objects
from training.synth.canvas import (
    FIELD,
    FLOWER,
    GRASS,
    HILL,
    LAKE,
    LAND,
    MOUNTAIN,
    PATH,
    ROAD,
    SAND,
    SEA,
    SKY,
    TREE,
    WATER,
    Box,
    Canvas,
    Material,
)
from training.synth.textures import fbm, fbm1d, ground_coords


def new_canvas(rng: np.random.Generator, h: int, w: int) -> Canvas:
    """Sky everywhere, a horizon, a sun side and the shared outline noise."""
    horizon = round(h * float(rng.uniform(0.32, 0.58)))
    u, v = ground_coords((h, w), horizon)
    return Canvas(
        labels=np.full((h, w), SKY, np.uint8),
        material=np.full((h, w), Material.SKY, np.uint8),
        inst=np.zeros((h, w), np.int32),
        shade=np.ones((h, w), np.float32),
        shadow=np.zeros((h, w), np.float32),
        haze=np.zeros((h, w), np.float32),
        horizon=horizon, sun=float(rng.choice([-1.0, 1.0])), u=u, v=v,
        edge=fbm(rng, (h, w), cell=max(w / 40.0, 2.0), octaves=3, gain=0.6),
        cloud_cover=float(rng.uniform(-0.6, 0.8)), snow_line=float(rng.uniform(0.16, 0.4)),
    )


def _ground(cv: Canvas, rng: np.random.Generator) -> int:
    """Fill everything below the horizon with one ground class; returns it."""
    h, hz = cv.height, cv.horizon
    kind = rng.choice([GRASS, FIELD, SAND], p=[0.62, 0.26, 0.12])
    material = {GRASS: Material.GRASS, FIELD: Material.FIELD, SAND: Material.SAND}[kind]
    box = cv.box(0, hz, cv.width - 1, h - 1)
    if box is None:
        return int(kind)
    dist = (box.yy - hz) / max(h - hz, 1)
    haze = np.broadcast_to(0.55 * np.exp(-dist / 0.12), (box.y1 - box.y0, box.x1 - box.x0))
    cv.paint(box, np.ones(haze.shape, bool), int(kind), material, haze=haze)
    # Patchwork: the other cultivated class in large perspective-correct patches.
    if kind in (GRASS, FIELD) and rng.random() < 0.55:
        other, other_mat = (FIELD, Material.FIELD) if kind == GRASS else (GRASS, Material.GRASS)
        sy, sx = box.slices
        ground_w = cv.width * rng.uniform(0.6, 1.5)
        phase_u, phase_v = rng.uniform(0, 2 * np.pi, 2)
        rough = fbm(rng, (box.y1 - box.y0, box.x1 - box.x0), cell=max(cv.width / 8.0, 2.0),
                    octaves=2)
        wave = (np.sin(cv.u[sy, sx] / ground_w + phase_u)
                * np.sin(cv.v[sy, sx] / ground_w + phase_v) + 0.2 * rough)
        cv.paint(box, wave > rng.uniform(0.1, 0.5), int(other), other_mat, haze=haze)
    return int(kind)


def _ridges(cv: Canvas, rng: np.random.Generator, label: int, material: Material,
            layers: int, height: tuple[float, float], base: tuple[float, float],
            sharp: bool, haze: tuple[float, float]) -> None:
    """Mountain or hill silhouettes, far layer first; ``base`` is rows below the horizon."""
    h, w, hz = cv.height, cv.width, cv.horizon
    ground = max(h - hz, 1)
    for i in range(layers):
        t = i / max(layers - 1, 1)
        peak = h * rng.uniform(*height) * (1.0 - 0.35 * t)
        prof = fbm1d(rng, w, cell=w * rng.uniform(0.3, 0.7), octaves=6 if sharp else 3,
                     gain=0.55 if sharp else 0.35)
        # 1 - |noise| gives the sharp crests and rounded valleys of eroded ranges.
        prof = 1.0 - np.abs(prof) * 0.7 if sharp else prof
        prof = (prof - prof.min()) / max(float(np.ptp(prof)), 1e-6)
        bottom = hz + ground * rng.uniform(*base) * (0.5 + t)
        ridge = bottom - peak * (0.25 + 0.75 * prof)
        box = cv.box(0, float(ridge.min()), w - 1, bottom)
        if box is None:
            continue
        mask = box.yy >= ridge[None, box.x0:box.x1]
        mask &= box.yy <= bottom
        cv.paint(box, mask, label, material, shade=1.0 - 0.08 * t,
                 haze=haze[0] + (haze[1] - haze[0]) * t)


def _treeline(cv: Canvas, rng: np.random.Generator) -> None:
    """A distant band of tree crowns along the horizon (one instance of many small bumps)."""
    w, hz = cv.width, cv.horizon
    ground = max(cv.height - hz, 1)
    bottom = hz + ground * rng.uniform(0.01, 0.08)
    th = max(ground * rng.uniform(0.04, 0.12), 2.0)
    bumps = np.abs(fbm1d(rng, w, cell=max(w / 60.0, 1.5), octaves=3, gain=0.5))
    cover = fbm1d(rng, w, cell=w / 4.0, octaves=2)
    top = bottom - th * (0.55 + 0.45 * np.clip(bumps, 0, 1.6) / 1.6) * (cover > -0.4)
    box = cv.box(0, float(top.min()), w - 1, bottom)
    if box is None:
        return
    mask = (box.yy >= top[None, box.x0:box.x1]) & (box.yy <= bottom)
    green = np.array([0.16, 0.3, 0.13]) * rng.uniform(0.7, 1.2, 3)
    inst = cv.new_instance(green.astype(np.float32))
    shade = 0.75 + 0.35 * np.clip((bottom - box.yy) / th, 0, 1)
    cv.paint(box, mask, TREE, Material.FOLIAGE, inst, shade=np.broadcast_to(shade, mask.shape),
             haze=0.3)


def _sea(cv: Canvas, rng: np.random.Generator) -> None:
    """Open sea from the horizon to a wavy shore, with a sand beach in front."""
    h, w, hz = cv.height, cv.width, cv.horizon
    ground = max(h - hz, 1)
    shore = hz + ground * rng.uniform(0.2, 0.55) + ground * 0.05 * fbm1d(rng, w, w / 3.0, 3)
    beach = shore + ground * rng.uniform(0.08, 0.3) * (0.8 + 0.1 * fbm1d(rng, w, w / 2.0, 2))
    box = cv.box(0, hz, w - 1, float(beach.max()))
    if box is None:
        return
    rows = box.yy
    dist = (rows - hz) / ground
    haze = np.broadcast_to(0.45 * np.exp(-dist / 0.1), (box.y1 - box.y0, box.x1 - box.x0))
    cv.paint(box, rows < beach[None, :], SAND, Material.SAND, haze=haze)
    cv.paint(box, rows < shore[None, :], SEA, Material.WATER, haze=haze)


def _ground_blob(cv: Canvas, rng: np.random.Generator, near: tuple[float, float],
                 width: tuple[float, float]) -> tuple[np.ndarray, Box] | None:
    """A roundish region of the ground plane (perspective-flattened on screen), as a mask."""
    h, w, hz = cv.height, cv.width, cv.horizon
    ground = max(h - hz, 1)
    dy = max(ground * rng.uniform(*near), 1.0)
    x = rng.uniform(0, w)
    u0, v0 = (x - 0.5 * w) * ground / dy, ground * ground / dy
    ru = w * rng.uniform(*width) * ground / dy
    rv = ru * rng.uniform(0.4, 1.0)
    # Rows where |v - v0| < rv: v = ground²/dy, so dy ranges between ground²/(v0 ± rv).
    top = hz + ground * ground / (v0 + rv) - 1
    bot = hz + (ground * ground / (v0 - rv) if v0 > rv else ground) + 1
    box = cv.box(0, top, w - 1, bot)
    if box is None:
        return None
    sy, sx = box.slices
    d = ((cv.u[sy, sx] - u0) / ru) ** 2 + ((cv.v[sy, sx] - v0) / rv) ** 2
    mask = (d < 1.0 + 0.2 * cv.edge[sy, sx]) & (box.yy > hz)
    return mask, box


def _lake(cv: Canvas, rng: np.random.Generator) -> None:
    got = _ground_blob(cv, rng, near=(0.12, 0.5), width=(0.2, 0.55))
    if got is None:
        return
    mask, box = got
    sy, sx = box.slices
    mask &= np.isin(cv.labels[sy, sx], LAND)
    dist = (box.yy - cv.horizon) / max(cv.height - cv.horizon, 1)
    label = LAKE if rng.random() < 0.6 else WATER
    cv.paint(box, mask, label, Material.WATER, haze=np.broadcast_to(
        0.45 * np.exp(-dist / 0.12), mask.shape))


def _flowers(cv: Canvas, rng: np.random.Generator, count: int) -> None:
    petals = np.array([[0.95, 0.85, 0.2], [0.9, 0.25, 0.3], [0.95, 0.95, 0.95], [0.7, 0.4, 0.9],
                       [0.98, 0.55, 0.15], [0.95, 0.5, 0.7]], np.float32)
    for _ in range(count):
        got = _ground_blob(cv, rng, near=(0.25, 0.95), width=(0.05, 0.2))
        if got is None:
            continue
        mask, box = got
        sy, sx = box.slices
        mask &= np.isin(cv.labels[sy, sx], (GRASS, FIELD))
        a, b = rng.choice(len(petals), 2, replace=False)
        inst = cv.new_instance(petals[a], petals[b])
        cv.paint(box, mask, FLOWER, Material.FLOWER, inst, haze=cv.haze[sy, sx] * 0.8)


def _road(cv: Canvas, rng: np.random.Generator, path: bool) -> None:
    """A road (or a narrow dirt path) running from the bottom edge towards the horizon."""
    h, w, hz = cv.height, cv.width, cv.horizon
    ground = max(h - hz, 1)
    box = cv.box(0, hz + 1, w - 1, h - 1)
    if box is None:
        return
    sy, sx = box.slices
    u, v = cv.u[sy, sx], cv.v[sy, sx]
    half = w * (rng.uniform(0.03, 0.07) if path else rng.uniform(0.1, 0.22))
    swing = w * rng.uniform(0.2, 1.2 if path else 0.7)
    length = ground * rng.uniform(1.0, 4.0)
    phase = rng.uniform(0, 2 * np.pi)
    start = w * rng.uniform(-0.35, 0.35)
    centre = start + swing * (np.sin((v - ground) / length + phase) - np.sin(phase))
    off = np.abs(u - centre)
    rough = 0.25 if path else 0.03
    corridor = off < half * (1.0 + rough * cv.edge[sy, sx])
    # A finite road ends somewhere in the distance instead of always reaching the horizon, and
    # at the shore of the nearest water it meets (rather than passing under a lake).
    end = ground * ground / max(ground * rng.uniform(0.02, 0.3), 1.0)
    wet = corridor & np.isin(cv.labels[sy, sx], (WATER, LAKE, SEA))
    if wet.any():
        end = min(end, float(v[wet].min()))
    mask = corridor & (v < end) & np.isin(cv.labels[sy, sx], LAND)
    label, material = (PATH, Material.PATH) if path else (ROAD, Material.ROAD)
    haze = cv.haze[sy, sx].copy()
    cv.paint(box, mask, label, material, haze=haze)
    if not path and rng.random() < 0.7:
        dash = w * rng.uniform(0.25, 0.5)
        line = mask & (off < half * 0.05) & (np.mod(v, dash) < dash * 0.55)
        cv.paint(box, line, ROAD, Material.ROAD_LINE, haze=haze)


def build_layout(rng: np.random.Generator, h: int, w: int) -> Canvas:
    """Lay out one landscape of size ``(h, w)``; see the module doc."""
    cv = new_canvas(rng, h, w)
    base = _ground(cv, rng)
    if rng.random() < 0.25:
        _sea(cv, rng)
    elif rng.random() < 0.45:
        _lake(cv, rng)
    if rng.random() < 0.7:
        _ridges(cv, rng, MOUNTAIN, Material.MOUNTAIN, int(rng.integers(1, 3)),
                height=(0.15, 0.38), base=(0.0, 0.01), sharp=True, haze=(0.55, 0.3))
    if rng.random() < 0.6:
        _ridges(cv, rng, HILL, Material.HILL, int(rng.integers(1, 3)),
                height=(0.06, 0.16), base=(0.01, 0.06), sharp=False, haze=(0.3, 0.12))
    if base != SAND and rng.random() < 0.6:
        _treeline(cv, rng)
    if rng.random() < 0.35:
        _road(cv, rng, path=False)
    elif rng.random() < 0.45:
        _road(cv, rng, path=True)
    if base != SAND:
        _flowers(cv, rng, int(rng.integers(0, 4)))
    objects.place_objects(cv, rng, desert=base == SAND)
    return cv
