"""The array layouts the engine's public functions take and return, by name.

Aliases for ``numpy.ndarray`` (numpy cannot type a shape), so a signature says which layout it
means; the layout lives in the comment beside each:

* ``RGBImage``  -- uint8 ``(H, W, 3)``, RGB order, sRGB values.
* ``LabelMap``  -- uint8 ``(H, W)``; 0 = other/unlabelled, 1..150 = ADE20K classes
  (:mod:`inference.labels`).
* ``Mask``      -- bool ``(H, W)``; True = the pixel is edited (or selected).
* ``RegionMap`` -- int32 ``(H, W)``, ids of an automatic over-segmentation
  (:mod:`inference.parser.regions`).
* ``FloatImage`` -- float32 ``(H, W, 3)`` in [0, 1], an RGB image between pipeline stages.
"""

from __future__ import annotations

from typing import TypeAlias

import numpy as np

RGBImage: TypeAlias = np.ndarray     # uint8 (H, W, 3)
LabelMap: TypeAlias = np.ndarray     # uint8 (H, W), values 0..150
Mask: TypeAlias = np.ndarray         # bool (H, W)
RegionMap: TypeAlias = np.ndarray    # int32 (H, W)
FloatImage: TypeAlias = np.ndarray   # float32 (H, W, 3) in [0, 1]

__all__ = ["FloatImage", "LabelMap", "Mask", "RGBImage", "RegionMap"]
