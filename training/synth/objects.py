"""Objects standing on the ground: trees, buildings, houses and rocks.

Each object is placed at a base point on land, scaled by its distance (a level camera makes
on-screen size proportional to the rows between the base and the horizon), and painted after a
soft shadow at its base. Objects are drawn far to near so nearer ones occlude farther ones.
"""

from __future__ import annotations

import numpy as np

from training.synth.canvas import BUILDING, HOUSE, LAND, ROCK, TREE, Canvas, Material

_FOLIAGE = np.array([[0.18, 0.36, 0.14], [0.26, 0.42, 0.16], [0.12, 0.28, 0.16],
                     [0.36, 0.44, 0.16], [0.5, 0.36, 0.12]], np.float32)
_WALLS = np.array([[0.85, 0.82, 0.74], [0.78, 0.62, 0.46], [0.66, 0.34, 0.26],
                   [0.72, 0.72, 0.70], [0.9, 0.86, 0.66], [0.55, 0.52, 0.5]], np.float32)
_ROOFS = np.array([[0.55, 0.2, 0.14], [0.3, 0.28, 0.3], [0.45, 0.3, 0.2], [0.22, 0.3, 0.4]],
                  np.float32)


def _haze_at(cv: Canvas, y: float) -> float:
    dist = (y - cv.horizon) / max(cv.height - cv.horizon, 1)
    return float(0.5 * np.exp(-max(dist, 0.0) / 0.12))


def _tree(cv: Canvas, rng: np.random.Generator, x: float, yb: float, scale: float) -> None:
    h = cv.height * scale * rng.uniform(0.45, 0.95)
    if h < 3:
        return
    conifer = rng.random() < 0.35
    colour = _FOLIAGE[rng.integers(len(_FOLIAGE))] * rng.uniform(0.8, 1.2, 3).astype(np.float32)
    inst = cv.new_instance(colour, np.array([0.35, 0.25, 0.17], np.float32) * rng.uniform(0.7, 1.2))
    haze = _haze_at(cv, yb)
    crown_w = h * (0.28 if conifer else rng.uniform(0.3, 0.45))
    cv.cast_shadow(x, yb, crown_w * 1.1, max(crown_w * 0.25, 1.0), 0.55)
    trunk_h = h * (0.25 if conifer else rng.uniform(0.3, 0.45))
    trunk_w = max(h * 0.035, 0.6)
    box = cv.box(x - trunk_w, yb - trunk_h, x + trunk_w, yb)
    if box is not None:
        mask = np.abs(box.xx - x) <= trunk_w * (1.0 - 0.3 * (yb - box.yy) / trunk_h)
        shade = 1.0 + 0.3 * cv.sun * (box.xx - x) / trunk_w
        cv.paint(box, mask & (box.yy <= yb), TREE, Material.BARK, inst,
                 shade=np.broadcast_to(shade, mask.shape), haze=haze)
    top = yb - h
    if conifer:
        base = yb - trunk_h * 0.5
        box = cv.box(x - crown_w, top, x + crown_w, base)
        if box is None:
            return
        sy, sx = box.slices
        t = (box.yy - top) / max(base - top, 1.0)
        # Saw-toothed sides: tiers of branches widen downwards.
        tiers = 0.75 + 0.25 * np.mod(t * rng.uniform(4, 7), 1.0)
        half = crown_w * t * tiers * (1.0 + 0.25 * cv.edge[sy, sx])
        rel = (box.xx - x) / crown_w
        mask = (np.abs(box.xx - x) <= half) & (box.yy <= base)
        shade = 1.0 + 0.35 * cv.sun * rel - 0.15 * t
    else:
        cy = top + (h - trunk_h) * 0.5
        r = (h - trunk_h) * 0.6
        box = cv.box(x - crown_w * 1.3, top - r * 0.2, x + crown_w * 1.3, cy + r)
        if box is None:
            return
        sy, sx = box.slices
        # A crown is the union of a few overlapping blobs with a rough outline.
        d = np.full((box.y1 - box.y0, box.x1 - box.x0), np.inf, np.float32)
        for _ in range(int(rng.integers(3, 7))):
            bx = x + rng.uniform(-0.6, 0.6) * crown_w
            by = cy + rng.uniform(-0.4, 0.4) * r
            br = rng.uniform(0.45, 0.75) * max(crown_w, r)
            np.minimum(d, ((box.xx - bx) ** 2 + (box.yy - by) ** 2) / (br * br), out=d)
        mask = d < 1.0 + 0.28 * cv.edge[sy, sx]
        shade = (1.05 + 0.3 * cv.sun * (box.xx - x) / crown_w - 0.3 * (box.yy - cy) / r
                 - 0.2 * np.clip(d, 0, 1.4))
    cv.paint(box, mask, TREE, Material.FOLIAGE, inst,
             shade=np.clip(np.broadcast_to(shade, mask.shape), 0.45, 1.35), haze=haze)


def _building(cv: Canvas, rng: np.random.Generator, x: float, yb: float, scale: float,
              house: bool) -> None:
    w_px = cv.width * scale * (rng.uniform(0.3, 0.55) if house else rng.uniform(0.3, 0.6))
    h_px = w_px * (rng.uniform(0.45, 0.7) if house else rng.uniform(0.8, 2.4))
    if w_px < 3 or h_px < 3:
        return
    label = HOUSE if house else BUILDING
    wall = _WALLS[rng.integers(len(_WALLS))] * rng.uniform(0.85, 1.1, 3).astype(np.float32)
    inst = cv.new_instance(wall, _ROOFS[rng.integers(len(_ROOFS))] * rng.uniform(0.8, 1.2))
    haze = _haze_at(cv, yb)
    cv.cast_shadow(x, yb, w_px * 0.75, max(w_px * 0.12, 1.0), 0.6)
    x0, x1, top = x - w_px / 2, x + w_px / 2, yb - h_px
    # We see the side facing the image centre; it is lit when it faces the sun too.
    side = 1.0 if x < cv.width / 2 else -1.0
    side_w = w_px * rng.uniform(0.2, 0.4)
    sx0, sx1 = (x1, x1 + side_w) if side > 0 else (x0 - side_w, x0)
    box = cv.box(min(sx0, x0), top - w_px, max(sx1, x1), yb)
    if box is None:
        return
    xx, yy = box.xx, box.yy
    front = (xx >= x0) & (xx < x1) & (yy >= top) & (yy <= yb)
    rise = side_w * 0.35
    frac = np.clip(np.abs(xx - (x1 if side > 0 else x0)) / side_w, 0, 1)
    side_mask = (xx >= sx0) & (xx < sx1) & (yy >= top - rise * frac) & (yy <= yb - rise * frac)
    side_shade = 1.1 if side == cv.sun else 0.62
    shade = np.where(side_mask, side_shade, 0.95).astype(np.float32)
    brick = max(h_px / rng.uniform(14, 30), 1.0)
    if brick >= 2.5:
        # Courses of bricks or boards; only where they are big enough to read as such.
        shade = shade * np.where(np.mod(yy - top, brick) < 0.9, 0.85, 1.0)
    shade = np.broadcast_to(shade, front.shape)
    cv.paint(box, front | side_mask, label, Material.WALL, inst, shade=shade, haze=haze)
    # Roof: a gable for houses, a flat dark parapet for buildings.
    if house:
        roof_h = w_px * rng.uniform(0.3, 0.55)
        over = w_px * 0.08
        t = np.clip((yy - (top - roof_h)) / roof_h, 0, 1)
        roof = (np.abs(xx - x) <= (w_px / 2 + over) * t) & (yy >= top - roof_h) & (yy < top)
        roof |= side_mask & (yy < top + h_px * 0.12 - rise * frac) & (yy >= top - roof_h * 0.6)
        tiles = np.where(np.mod(yy - top, max(roof_h / 6, 1.5)) < 0.8, 0.8, 1.0)
        rshade = (1.0 + 0.25 * cv.sun * np.sign(xx - x)) * tiles
    else:
        roof = (front | side_mask) & (yy < top + max(h_px * 0.04, 1.0))
        rshade = np.full(front.shape, 0.8, np.float32)
    cv.paint(box, roof, label, Material.ROOF, inst,
             shade=np.broadcast_to(rshade, roof.shape).astype(np.float32), haze=haze)
    # Windows (and a door for houses) on the front face, on a regular grid.
    cols = max(int(w_px / rng.uniform(6, 12) if not house else rng.integers(2, 4)), 1)
    rows = max(int((h_px * 0.85) / (w_px / cols)) if not house else 1, 1)
    cell_w, cell_h = w_px / cols, (h_px * 0.85) / rows
    if cell_w < 3 or cell_h < 3:
        return
    lx, ly = (xx - x0) / cell_w, (yy - top - h_px * 0.1) / cell_h
    fx, fy = np.mod(lx, 1.0), np.mod(ly, 1.0)
    win = front & (ly >= 0) & (ly < rows) & (np.abs(fx - 0.5) < 0.25) & (np.abs(fy - 0.45) < 0.28)
    if house:
        door = front & (np.abs(xx - x) < cell_w * 0.16) & (yy > yb - h_px * 0.55)
        win = (win & ~(np.abs(xx - x) < cell_w * 0.35)) | door
    cv.paint(box, win, label, Material.WINDOW, inst,
             shade=np.broadcast_to(0.9 + 0.3 * (1 - fy), win.shape).astype(np.float32),
             haze=haze)


def _rock(cv: Canvas, rng: np.random.Generator, x: float, yb: float, scale: float) -> None:
    rx = cv.width * scale * rng.uniform(0.025, 0.09)
    ry = rx * rng.uniform(0.5, 0.9)
    if rx < 1.5:
        return
    grey = np.array([0.5, 0.48, 0.45], np.float32) * rng.uniform(0.75, 1.2, 3).astype(np.float32)
    inst = cv.new_instance(grey)
    cv.cast_shadow(x, yb, rx * 1.3, max(rx * 0.3, 1.0), 0.5)
    cy = yb - ry * 0.55
    box = cv.box(x - rx * 1.4, cy - ry * 1.4, x + rx * 1.4, yb)
    if box is None:
        return
    sy, sx = box.slices
    nx, ny = (box.xx - x) / rx, (box.yy - cy) / ry
    # Faceted outline: the edge noise is stronger than for foliage, and the base is flat.
    d = nx * nx + ny * ny
    mask = (d < 1.0 + 0.5 * cv.edge[sy, sx]) & (box.yy <= yb)
    shade = 1.0 + 0.35 * cv.sun * nx - 0.3 * ny
    cv.paint(box, mask, ROCK, Material.ROCK, inst,
             shade=np.clip(np.broadcast_to(shade, mask.shape), 0.45, 1.4).astype(np.float32),
             haze=_haze_at(cv, yb))


def place_objects(cv: Canvas, rng: np.random.Generator, desert: bool) -> None:
    """Choose objects and base points on land, then draw them far to near."""
    h, w, hz = cv.height, cv.width, cv.horizon
    ground = max(h - hz, 1)
    plans: list[tuple[float, float, str]] = []
    n_trees = int(rng.integers(0, 4) if desert else rng.integers(2, 14))
    n_rocks = int(rng.integers(1, 6) if desert else rng.integers(0, 4))
    village = rng.random() < 0.55
    n_houses = int(rng.integers(1, 6)) if village else 0
    n_buildings = int(rng.integers(1, 4)) if village and rng.random() < 0.5 else 0
    village_x = rng.uniform(0.15, 0.85) * w
    village_d = rng.uniform(0.05, 0.4)
    for kind, n in (("tree", n_trees), ("rock", n_rocks), ("house", n_houses),
                    ("building", n_buildings)):
        for _ in range(n):
            if kind in ("house", "building"):
                d = np.clip(village_d + rng.normal(0, 0.06), 0.02, 1.0)
                x = village_x + rng.normal(0, 0.18) * w
            else:
                # Squared spacing puts more objects in the middle distance, as in photos.
                d = rng.uniform(0.03, 1.05) ** 2
                x = rng.uniform(-0.05, 1.05) * w
            plans.append((hz + d * ground, float(x), kind))
    plans.sort(key=lambda p: p[0])
    for yb, x, kind in plans:
        yi, xi = min(int(yb), h - 1), int(np.clip(x, 0, w - 1))
        if cv.labels[yi, xi] not in LAND:
            continue  # no trees in lakes, no houses on the road
        scale = (yb - hz) / ground
        if kind == "tree":
            _tree(cv, rng, x, yb, scale)
        elif kind == "rock":
            _rock(cv, rng, x, yb, scale)
        else:
            _building(cv, rng, x, yb, scale, house=kind == "house")
