"""Appearance: per-material textures, lighting, shadows and haze over a finished layout.

Every material is base colour × multi-octave noise at several scales down to single pixels, so
each ADE20K region carries real high-frequency texture (the warp benchmark measures how well that
detail is transferred). Ground materials are sampled through the ground-plane projection so their
grain shrinks towards the horizon. Colours are float32 RGB in 0..1 until the final quantisation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import cv2
import numpy as np

from training.synth.canvas import Canvas, Material
from training.synth.textures import fbm, sample_tile, smoothstep, tileable_fbm


@dataclass(frozen=True)
class Palette:
    """One image's colours: the time of day and a jitter of every material's base colour."""

    sky_top: np.ndarray
    sky_low: np.ndarray
    haze: np.ndarray
    light: np.ndarray  # global light colour (multiplier)
    base: dict[Material, np.ndarray]


_BASE: dict[Material, tuple[float, float, float]] = {
    Material.MOUNTAIN: (0.45, 0.43, 0.42), Material.HILL: (0.33, 0.42, 0.2),
    Material.GRASS: (0.3, 0.48, 0.17), Material.FIELD: (0.78, 0.66, 0.34),
    Material.WATER: (0.1, 0.24, 0.32), Material.SAND: (0.84, 0.74, 0.54),
    Material.ROAD: (0.3, 0.3, 0.31), Material.ROAD_LINE: (0.92, 0.9, 0.8),
    Material.PATH: (0.55, 0.44, 0.31), Material.WINDOW: (0.16, 0.2, 0.26),
}


def make_palette(rng: np.random.Generator) -> Palette:
    mode = rng.choice(["day", "golden", "overcast"], p=[0.62, 0.2, 0.18])
    if mode == "day":
        top, low = np.array([0.22, 0.42, 0.78]), np.array([0.7, 0.82, 0.93])
        light = np.array([1.0, 1.0, 0.97])
    elif mode == "golden":
        top, low = np.array([0.3, 0.42, 0.7]), np.array([0.98, 0.72, 0.45])
        light = np.array([1.08, 0.92, 0.75])
    else:
        top, low = np.array([0.55, 0.58, 0.62]), np.array([0.78, 0.8, 0.82])
        light = np.array([0.85, 0.87, 0.9])
    jitter = lambda c, a: np.clip(np.asarray(c) * rng.uniform(1 - a, 1 + a, 3), 0, 1)  # noqa: E731
    top, low = jitter(top, 0.12), jitter(low, 0.06)
    base = {m: jitter(c, 0.15).astype(np.float32) for m, c in _BASE.items()}
    if rng.random() < 0.3:  # dry season: yellowed grass and hills
        base[Material.GRASS] = jitter((0.55, 0.55, 0.25), 0.1).astype(np.float32)
        base[Material.HILL] = jitter((0.52, 0.5, 0.28), 0.1).astype(np.float32)
    return Palette(top.astype(np.float32), low.astype(np.float32),
                   (0.5 * low + 0.5 * np.array([0.8, 0.82, 0.85])).astype(np.float32),
                   light.astype(np.float32), base)


class Noise:
    """The noise fields of one image, created on first use (unused materials cost nothing).

    Each field has its own generator derived from the scene's seed material, so which fields a
    scene happens to use never changes the others -- determinism does not depend on call order.
    """

    _SPECS: ClassVar[dict[str, tuple[str, dict]]] = {
        "fine": ("fbm", {"cell": 6.0, "octaves": 3, "gain": 0.7}),
        "grain": ("fbm", {"cell": 1.0, "octaves": 1}),
        "mid": ("fbm", {"cell": 24.0, "octaves": 5, "gain": 0.6}),
        "coarse": ("fbm", {"cell": 96.0, "octaves": 4, "gain": 0.5}),
        "streak_v": ("fbm", {"cell": 6.0, "octaves": 3, "gain": 0.6, "aspect": 0.15}),
        "gully": ("fbm", {"cell": 24.0, "octaves": 4, "gain": 0.6, "aspect": 0.3}),
        "cloud": ("fbm", {"cell": 80.0, "octaves": 6, "gain": 0.5, "aspect": 2.5}),
        "tile": ("tile", {"base_cells": 4, "octaves": 7, "gain": 0.62}),
        "tile_streak": ("tile", {"base_cells": 8, "octaves": 5, "gain": 0.6, "aspect": 0.12}),
        "tile_ripple": ("tile", {"base_cells": 4, "octaves": 6, "gain": 0.6, "aspect": 6.0}),
    }

    def __init__(self, seed: int, shape: tuple[int, int]) -> None:
        self.seed, self.shape = seed, shape
        self._cache: dict[str, np.ndarray] = {}

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._cache:
            kind, kw = self._SPECS[name]
            rng = np.random.default_rng([self.seed, list(self._SPECS).index(name)])
            if kind == "fbm":
                kw = dict(kw)
                # Scale-dependent cells follow the image size; pixel-level ones stay pixel-level.
                if kw["cell"] > 8:
                    kw["cell"] = kw["cell"] * max(self.shape) / 256.0
                self._cache[name] = fbm(rng, self.shape, **kw)
            else:
                self._cache[name] = tileable_fbm(rng, **kw)
        return self._cache[name]


@dataclass
class Context:
    cv: Canvas
    pal: Palette
    noise: Noise
    sl: tuple[slice, slice] = (slice(None), slice(None))

    def n(self, name: str) -> np.ndarray:
        return self.noise[name][self.sl]

    def ground(self, name: str, scale: float, stretch: float = 1.0) -> np.ndarray:
        sy, sx = self.sl
        return sample_tile(self.noise[name], self.cv.u[sy, sx], self.cv.v[sy, sx], scale, stretch)

    def rows(self) -> np.ndarray:
        return np.arange(self.cv.height, dtype=np.float32)[self.sl[0]][:, None]


def _mix(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    t = t[..., None]
    return a * (1.0 - t) + b * t


def _sky(c: Context) -> np.ndarray:
    hz = max(c.cv.horizon, 1)
    t = np.clip((hz - c.rows()) / hz, 0, 1) ** 0.6
    t = np.broadcast_to(t, c.n("grain").shape)
    rgb = _mix(c.pal.sky_low, c.pal.sky_top, t)
    cloud = c.n("cloud")
    # Clouds are denser and flatter towards the horizon; a fine octave gives wispy edges.
    cover = c.cv.cloud_cover
    dens = smoothstep(cover, cover + 1.0, cloud + 0.12 * c.n("fine") + 0.25 * (1 - t))
    # Lit from above: brighter where density falls off upwards, grey undersides.
    shift = max(c.cv.height // 60, 2)
    light = np.clip(0.86 + 0.5 * (cloud - np.roll(cloud, shift, axis=0)) + 0.04 * c.n("fine"),
                    0.62, 1.08)
    white = np.array([0.97, 0.96, 0.95], np.float32) * c.pal.light
    rgb = _mix(rgb, white * light[..., None], dens * 0.92)
    # Thin haze and high cirrus: even a clear sky keeps some fine texture.
    return rgb * (1.0 + 0.03 * c.n("fine") + 0.015 * c.n("grain"))[..., None]


def _mountain(c: Context) -> np.ndarray:
    base = c.pal.base[Material.MOUNTAIN]
    # Vertically stretched noise reads as gullies and ridges running down the slopes.
    gully = c.n("gully")
    dx = cv2.Sobel(gully, cv2.CV_32F, 1, 0, ksize=3)
    light = 1.0 + np.clip(0.3 * c.cv.sun * dx + 0.12 * c.n("mid"), -0.4, 0.4)
    tone = 0.72 + 0.16 * np.abs(c.n("mid")) + 0.1 * c.n("fine") + 0.07 * c.n("grain")
    rock = base * tone[..., None]
    height = (c.cv.horizon - c.rows()) / c.cv.height
    snow = smoothstep(0.0, 0.03, height - c.cv.snow_line + 0.05 * gully + 0.02 * c.n("fine"))
    snow_rgb = np.array([0.93, 0.95, 0.98], np.float32) * (0.92 + 0.04 * c.n("fine"))[..., None]
    return _mix(rock, snow_rgb, snow) * light[..., None]


def _hill(c: Context) -> np.ndarray:
    base = c.pal.base[Material.HILL]
    patch = 0.85 + 0.12 * c.n("mid") + 0.1 * c.n("fine") + 0.06 * c.n("grain")
    shrubs = smoothstep(0.9, 1.6, c.n("fine"))
    return base * (patch * (1.0 - 0.4 * shrubs))[..., None]


def _foliage(c: Context, colour: np.ndarray) -> np.ndarray:
    clumps = c.n("fine")
    leaves = 0.75 + 0.22 * clumps + 0.12 * c.n("grain") + 0.1 * c.n("streak_v")
    return colour * leaves[..., None] * (1.0 + 0.15 * smoothstep(1.0, 1.8, clumps))[..., None]


def _bark(c: Context, colour: np.ndarray) -> np.ndarray:
    return colour * (0.8 + 0.25 * c.n("streak_v") + 0.08 * c.n("grain"))[..., None]


def _grass(c: Context) -> np.ndarray:
    base = c.pal.base[Material.GRASS]
    patches = c.ground("tile", 6.0)
    blades = c.ground("tile_streak", 0.4)
    tone = 0.85 + 0.12 * patches + 0.14 * blades + 0.05 * c.n("grain")
    return base * tone[..., None]


def _field(c: Context) -> np.ndarray:
    base = c.pal.base[Material.FIELD]
    sy, sx = c.sl
    # Furrows run along the depth axis, so they converge on the vanishing point.
    rows = 0.5 + 0.5 * np.sin(c.cv.u[sy, sx] * (2 * np.pi / 9.0) + 2.0 * c.ground("tile", 20.0))
    tone = 0.82 + 0.16 * rows + 0.08 * c.ground("tile", 1.5) + 0.07 * c.ground("tile_streak", 0.4)
    return base * tone[..., None]


def _water(c: Context) -> np.ndarray:
    base = c.pal.base[Material.WATER]
    dist = np.clip((c.rows() - c.cv.horizon) / max(c.cv.height - c.cv.horizon, 1), 0, 1)
    # Fresnel: grazing angles near the horizon reflect the sky; close water shows its depth.
    refl = np.broadcast_to(np.exp(-dist / 0.35), c.n("grain").shape)
    ripples = c.ground("tile_ripple", 1.2, stretch=1.0)
    rgb = _mix(base, c.pal.sky_low * 0.9, np.clip(refl * 0.85 + 0.08 * ripples, 0, 1))
    glint = smoothstep(1.3, 2.2, ripples) * 0.5
    rgb = rgb * (1.0 + 0.12 * ripples + 0.06 * c.n("grain"))[..., None]
    return rgb + glint[..., None] * c.pal.light


def _sand(c: Context) -> np.ndarray:
    base = c.pal.base[Material.SAND]
    sy, sx = c.sl
    dunes = np.sin(c.cv.v[sy, sx] * 0.9 + 3.0 * c.ground("tile", 8.0))
    tone = 0.9 + 0.05 * dunes + 0.08 * c.ground("tile", 0.5) + 0.05 * c.ground("tile", 4.0)
    tone += 0.08 * c.n("grain")
    return base * tone[..., None]


def _rock(c: Context, colour: np.ndarray) -> np.ndarray:
    facets = np.abs(c.n("fine"))
    cracks = smoothstep(0.12, 0.0, np.abs(c.n("mid") * 0.5 + 0.3 * c.n("fine")))
    tone = 0.75 + 0.25 * facets + 0.1 * c.n("grain") - 0.35 * cracks
    return colour * tone[..., None]


def _asphalt(c: Context, base: np.ndarray, pebbles: float) -> np.ndarray:
    speck = c.ground("tile", 0.35)
    tone = 0.9 + 0.1 * c.ground("tile", 5.0) + 0.09 * speck + pebbles * smoothstep(1.2, 1.8, speck)
    return base * (tone + 0.06 * c.n("grain"))[..., None]


def _wall(c: Context, colour: np.ndarray) -> np.ndarray:
    return colour * (0.9 + 0.06 * c.n("mid") + 0.06 * c.n("fine") + 0.06 * c.n("grain"))[..., None]


def _window(c: Context) -> np.ndarray:
    glass = _mix(c.pal.base[Material.WINDOW], c.pal.sky_low * 0.7,
                 np.clip(0.3 + 0.3 * c.n("mid") + 0.1 * c.n("fine"), 0, 1))
    return glass * (1.0 + 0.05 * c.n("grain"))[..., None]


def _flower(c: Context, petal: np.ndarray, petal2: np.ndarray) -> np.ndarray:
    leaves = _grass(c) * 0.9
    dots = c.ground("tile", 0.3)
    which = c.n("fine") > 0.0
    colour = np.where(which[..., None], petal, petal2) * (0.85 + 0.1 * c.n("grain"))[..., None]
    return _mix(leaves, colour, smoothstep(0.3, 0.9, dots))


# Materials whose colour comes from the instance (primary, secondary) rather than the palette.
_INSTANCE: dict[Material, Callable[[Context, np.ndarray, np.ndarray], np.ndarray]] = {
    Material.FOLIAGE: lambda c, p, s: _foliage(c, p),
    Material.BARK: lambda c, p, s: _bark(c, s),
    Material.ROCK: lambda c, p, s: _rock(c, p),
    Material.WALL: lambda c, p, s: _wall(c, p),
    Material.ROOF: lambda c, p, s: _wall(c, s),
    Material.FLOWER: _flower,
}
_PLAIN: dict[Material, Callable[[Context], np.ndarray]] = {
    Material.SKY: _sky, Material.MOUNTAIN: _mountain, Material.HILL: _hill,
    Material.GRASS: _grass, Material.FIELD: _field, Material.WATER: _water,
    Material.SAND: _sand, Material.WINDOW: _window,
    Material.ROAD: lambda c: _asphalt(c, c.pal.base[Material.ROAD], 0.0),
    Material.PATH: lambda c: _asphalt(c, c.pal.base[Material.PATH], 0.25),
    Material.ROAD_LINE: lambda c: c.pal.base[Material.ROAD_LINE] * (
        0.92 + 0.06 * c.n("grain"))[..., None],
}


def render(cv: Canvas, rng: np.random.Generator) -> np.ndarray:
    """Colour a finished layout; returns an ``RGBImage`` (uint8 H×W×3)."""
    h, w = cv.height, cv.width
    pal = make_palette(rng)
    ctx = Context(cv, pal, Noise(int(rng.integers(2**62)), (h, w)))
    rgb = np.zeros((h, w, 3), np.float32)
    colors = np.stack(cv.colors)  # (N, 2, 3)
    for m in np.unique(cv.material):
        mat = Material(int(m))
        sel = cv.material == m
        rows, cols = np.flatnonzero(sel.any(axis=1)), np.flatnonzero(sel.any(axis=0))
        # Texture only the material's bounding box: small objects cost little.
        ctx.sl = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
        if mat in _PLAIN:
            tex = _PLAIN[mat](ctx)
        else:
            pair = colors[cv.inst[ctx.sl]]
            tex = _INSTANCE[mat](ctx, pair[..., 0, :], pair[..., 1, :])
        local = sel[ctx.sl]
        rgb[ctx.sl][local] = np.broadcast_to(tex, (*local.shape, 3))[local]
    # Object-local lighting, cast shadows, a sun-side gradient, then distance haze.
    sun = 1.0 + 0.08 * cv.sun * (np.arange(w, dtype=np.float32) / max(w - 1, 1) - 0.5)
    light = cv.shade * (1.0 - 0.5 * cv.shadow) * sun[None, :]
    rgb *= light[..., None]
    rgb *= pal.light
    haze = cv.haze[..., None]
    rgb = rgb * (1.0 - haze) + pal.haze * haze
    return np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)
