"""Twenty edits in a row on ``kite.jpg``: memory stays flat, every seed gives the same bytes.

The editor holds no state between edits (a GUI session runs hundreds of them): four edit cases,
each run five times in turn, must give byte-identical results per (case, seed), and memory must
not grow from the first ten edits to the last ten -- numpy allocations are counted exactly with
tracemalloc, the whole process (torch included) by its resident size. Small size, so it is fast.
"""

from __future__ import annotations

import gc
import hashlib
import tracemalloc
from pathlib import Path

import cv2
import numpy as np

from inference.imageio import load_image
from inference.parser.regions import RegionConfig, segment_regions
from inference.pipeline.editor import EditSettings, LayoutEditor
from inference.pipeline.models import EngineModels

KITE = Path(__file__).resolve().parents[2] / "assets" / "samples" / "kite.jpg"
H, W = 64, 96
NUMPY_GROWTH_LIMIT = 256 * 1024   # bytes; one leaked float copy of the photo per edit is 74 KB
RSS_GROWTH_LIMIT = 24 * 2**20     # bytes; allocator noise is a few MB


def _rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096


def test_twenty_edits_are_repeatable_and_memory_flat():
    photo = cv2.resize(load_image(KITE), (W, H), interpolation=cv2.INTER_AREA)
    labels = segment_regions(photo, RegionConfig(regions=6)).astype(np.uint8)
    cases = []
    for i in range(4):
        edited = labels.copy()
        y, x = 6 + 9 * i, 8 + 17 * i
        box = (slice(y, y + H // 3), slice(x, x + W // 4))
        # a region id that is not the box's most common one, so the edit is never empty
        inside = np.bincount(labels[box].ravel()).argmax()
        others = [v for v in np.unique(labels) if v != inside]
        edited[box] = others[i % len(others)]
        cases.append((edited, i % 2))   # seeds 0 and 1
    hashes: dict[int, set[str]] = {i: set() for i in range(4)}
    traced, rss = [], []
    tracemalloc.start()
    try:
        for n in range(20):
            edited, seed = cases[n % 4]
            settings = EditSettings(warp="hrs-ms", working_size=64, device="cpu", seed=seed,
                                    iterations=2)
            result = LayoutEditor(settings, EngineModels()).edit(photo, edited, labels)
            assert (result.image != photo).any()
            hashes[n % 4].add(hashlib.sha256(result.image.tobytes()).hexdigest())
            del result
            gc.collect()
            traced.append(tracemalloc.get_traced_memory()[0])
            rss.append(_rss())
    finally:
        tracemalloc.stop()
    assert all(len(h) == 1 for h in hashes.values()), hashes  # byte-identical per seed
    assert max(traced[10:]) - max(traced[:10]) < NUMPY_GROWTH_LIMIT, traced
    assert max(rss[10:]) - max(rss[:10]) < RSS_GROWTH_LIMIT, rss
