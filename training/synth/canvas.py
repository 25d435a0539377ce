"""The working state of one synthetic scene: what the layout paints and the renderer reads.

The layout paints back to front (painter's algorithm), so occlusion is simply "later wins". Each
pixel carries its ADE20K label and, separately, a *material* that decides its appearance (a tree
is foliage and bark, a house is wall, roof and windows), plus object-local lighting (``shade``),
cast shadow, distance haze and an instance index into per-instance colours.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

from inference.labels import class_id


class Material(IntEnum):
    """What a pixel looks like; several materials may share one ADE20K label."""

    SKY = 0
    MOUNTAIN = 1
    HILL = 2
    FOLIAGE = 3
    BARK = 4
    GRASS = 5
    FIELD = 6
    WATER = 7
    SAND = 8
    ROCK = 9
    ROAD = 10
    ROAD_LINE = 11
    PATH = 12
    WALL = 13
    ROOF = 14
    WINDOW = 15
    FLOWER = 16


# ADE20K ids of every class the generator can emit (clouds are labelled sky, as in ADE20K).
SKY = class_id("sky")
MOUNTAIN = class_id("mountain")
HILL = class_id("hill")
TREE = class_id("tree")
GRASS = class_id("grass")
FIELD = class_id("field")
WATER = class_id("water")
LAKE = class_id("lake")
SEA = class_id("sea")
SAND = class_id("sand")
ROCK = class_id("rock")
ROAD = class_id("road")
PATH = class_id("path")
BUILDING = class_id("building")
HOUSE = class_id("house")
FLOWER = class_id("flower")
SCENE_CLASSES: tuple[int, ...] = (SKY, MOUNTAIN, HILL, TREE, GRASS, FIELD, WATER, LAKE, SEA, SAND,
                                  ROCK, ROAD, PATH, BUILDING, HOUSE, FLOWER)
# Ground that objects may stand on and roads may cross.
LAND: tuple[int, ...] = (GRASS, FIELD, SAND, FLOWER, PATH)


@dataclass(frozen=True)
class Box:
    """A clipped pixel rectangle plus its row/column coordinates (broadcastable float32)."""

    y0: int
    y1: int
    x0: int
    x1: int

    @property
    def yy(self) -> np.ndarray:
        return np.arange(self.y0, self.y1, dtype=np.float32)[:, None]

    @property
    def xx(self) -> np.ndarray:
        return np.arange(self.x0, self.x1, dtype=np.float32)[None, :]

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y1), slice(self.x0, self.x1)


@dataclass
class Canvas:
    """Per-pixel scene state, all ``(H, W)``; see the module doc."""

    labels: np.ndarray  # uint8 LabelMap
    material: np.ndarray  # uint8 Material
    inst: np.ndarray  # int32 index into ``colors``
    shade: np.ndarray  # float32 object-local lighting multiplier (1 = neutral)
    shadow: np.ndarray  # float32 0..1 darkening cast at object bases
    haze: np.ndarray  # float32 0..1 blend towards the haze colour
    horizon: int
    sun: float  # -1: light from the left, +1: from the right
    u: np.ndarray  # float32 ground-plane coordinates (see textures.ground_coords)
    v: np.ndarray
    edge: np.ndarray  # float32 unit noise that roughens object outlines
    cloud_cover: float  # cloud density threshold: lower = more cloud
    snow_line: float  # height above the horizon, as a fraction of H, where snow starts
    colors: list[np.ndarray] = field(default_factory=lambda: [np.ones((2, 3), np.float32)])

    @property
    def height(self) -> int:
        return int(self.labels.shape[0])

    @property
    def width(self) -> int:
        return int(self.labels.shape[1])

    def box(self, x0: float, y0: float, x1: float, y1: float) -> Box | None:
        """The rectangle clipped to the image, or None when nothing of it is visible."""
        bx0, by0 = max(int(np.floor(x0)), 0), max(int(np.floor(y0)), 0)
        bx1, by1 = min(int(np.ceil(x1)) + 1, self.width), min(int(np.ceil(y1)) + 1, self.height)
        if bx1 <= bx0 or by1 <= by0:
            return None
        return Box(by0, by1, bx0, bx1)

    def new_instance(self, primary: np.ndarray, secondary: np.ndarray | None = None) -> int:
        """Register an object's colours (RGB 0..1); returns its instance index."""
        pair = np.stack([primary, primary if secondary is None else secondary]).astype(np.float32)
        self.colors.append(pair)
        return len(self.colors) - 1

    def paint(self, box: Box, mask: np.ndarray, label: int, material: Material, inst: int = 0,
              shade: float | np.ndarray = 1.0, haze: float | np.ndarray = 0.0) -> None:
        """Paint ``mask`` (shape of ``box``) over everything already there."""
        if not mask.any():
            return
        sy, sx = box.slices
        shape = mask.shape
        self.labels[sy, sx][mask] = label
        self.material[sy, sx][mask] = int(material)
        self.inst[sy, sx][mask] = inst
        self.shade[sy, sx][mask] = np.broadcast_to(np.asarray(shade, np.float32), shape)[mask]
        self.haze[sy, sx][mask] = np.broadcast_to(np.asarray(haze, np.float32), shape)[mask]
        # An object covers the shadows painted before it; it is lit by its own ``shade``.
        self.shadow[sy, sx][mask] = 0.0

    def cast_shadow(self, cx: float, cy: float, rx: float, ry: float, strength: float) -> None:
        """Soft elliptic shadow on the ground at an object's base, pushed away from the sun."""
        if rx < 0.5 or ry < 0.5:
            return
        cx -= self.sun * rx * 0.35
        box = self.box(cx - rx, cy - ry, cx + rx, cy + ry)
        if box is None:
            return
        r2 = ((box.xx - cx) / rx) ** 2 + ((box.yy - cy) / ry) ** 2
        soft = strength * np.clip(1.0 - r2, 0.0, 1.0) ** 0.8
        sy, sx = box.slices
        np.maximum(self.shadow[sy, sx], soft, out=self.shadow[sy, sx])
