"""Free-form masks by the DeepFill v2 procedure (Yu et al. 2019, the "free-form mask" algorithm).

Each stroke starts at a random point and walks through a random number of vertices; every segment
has a random length and a random angle (alternately mirrored, so strokes zig-zag rather than
spiral) and is drawn with a round brush of random width. Several strokes are drawn until the
mask covers a fraction of the image inside ``coverage``. Lengths and widths scale with the image
so that masks look alike at every resolution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class FreeFormConfig:
    max_strokes: int = 4
    max_vertices: int = 12
    max_angle: float = 2 * math.pi / 5     # radians
    max_length: float = 0.2                # fraction of the image's long side
    brush_width: tuple[float, float] = (0.04, 0.12)   # fraction of the long side
    coverage: tuple[float, float] = (0.05, 0.35)      # accepted fraction of the image


def free_form_mask(rng: np.random.Generator, height: int, width: int,
                   config: FreeFormConfig = FreeFormConfig()) -> np.ndarray:
    """A ``Mask`` (bool ``(height, width)``) drawn with the DeepFill v2 stroke procedure."""
    side = max(height, width)
    for _ in range(50):
        mask = np.zeros((height, width), np.uint8)
        for _ in range(int(rng.integers(1, config.max_strokes + 1))):
            y, x = float(rng.uniform(0, height)), float(rng.uniform(0, width))
            width_px = max(1, int(rng.uniform(*config.brush_width) * side))
            for i in range(int(rng.integers(2, config.max_vertices + 1))):
                angle = float(rng.uniform(0, config.max_angle))
                if i % 2 == 0:
                    angle = 2 * math.pi - angle
                length = float(rng.uniform(0.25, 1.0)) * config.max_length * side
                ny = float(np.clip(y + length * math.sin(angle), 0, height - 1))
                nx = float(np.clip(x + length * math.cos(angle), 0, width - 1))
                cv2.line(mask, (int(x), int(y)), (int(nx), int(ny)), 1, width_px)
                cv2.circle(mask, (int(nx), int(ny)), width_px // 2, 1, -1)
                y, x = ny, nx
        frac = mask.mean()
        if config.coverage[0] <= frac <= config.coverage[1]:
            return mask.astype(bool)
    return mask.astype(bool)  # closest try; coverage bounds are a preference, not a contract
