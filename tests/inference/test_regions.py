"""Automatic regions (superpixels merged by colour) for photos without a parser."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inference.errors import BadInputError, CancelledError
from inference.parser.regions import RegionConfig, segment_regions
from inference.progress import CancelToken


def blocks_scene(h: int = 240, w: int = 320, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Six noisy colour blocks with known ids 0..5."""
    rng = np.random.default_rng(seed)
    truth = np.zeros((h, w), np.int64)
    truth[: h // 2, w // 3: 2 * w // 3] = 1
    truth[: h // 2, 2 * w // 3:] = 2
    truth[h // 2:, : w // 2] = 3
    truth[h // 2:, w // 2:] = 4
    yy, xx = np.mgrid[0:h, 0:w]
    truth[(yy - h * 0.7) ** 2 + (xx - w * 0.75) ** 2 < (h * 0.15) ** 2] = 5
    colours = np.array([[200, 40, 40], [40, 200, 40], [40, 40, 200], [220, 220, 60],
                        [60, 200, 220], [120, 60, 20]], np.float32)
    img = colours[truth] + rng.normal(0, 8, (h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8), truth


def purity(regions: np.ndarray, truth: np.ndarray) -> float:
    """Fraction of pixels that belong to their region's majority true class."""
    return sum(np.bincount(truth[regions == r]).max() for r in np.unique(regions)) / truth.size


def test_regions_follow_colour_blocks():
    img, truth = blocks_scene()
    regions = segment_regions(img, RegionConfig(regions=12))
    assert regions.shape == truth.shape and regions.dtype == np.uint8
    ids = np.unique(regions)
    assert ids.min() == 1 and len(ids) <= 12 and ids.tolist() == list(range(1, len(ids) + 1))
    assert purity(regions, truth) > 0.98
    sizes = np.bincount(regions.ravel())[1:]
    assert (np.diff(sizes) <= 0).all()  # id 1 is the largest region


def test_asking_for_as_many_regions_as_blocks_recovers_them():
    img, truth = blocks_scene()
    regions = segment_regions(img, RegionConfig(regions=6))
    assert len(np.unique(regions)) == 6
    assert purity(regions, truth) > 0.97


def test_large_photo_comes_back_full_size_with_sharp_borders():
    img, truth = blocks_scene(240, 320)
    big = np.repeat(np.repeat(img, 5, 0), 5, 1)  # 1200×1600, worked on at 384×512
    big_truth = np.repeat(np.repeat(truth, 5, 0), 5, 1)
    regions = segment_regions(big, RegionConfig(regions=8))
    assert regions.shape == (1200, 1600)
    assert purity(regions, big_truth) > 0.98


def test_progress_and_cancel():
    img, _ = blocks_scene(64, 64)
    calls = []
    segment_regions(img, RegionConfig(regions=4, superpixels=40),
                    progress=lambda d, t: calls.append((d, t)))
    assert calls[0] == (0, 3) and calls[-1] == (3, 3)
    token = CancelToken()
    token.cancel()
    with pytest.raises(CancelledError):
        segment_regions(img, cancel=token)


@pytest.mark.parametrize("config, match", [(RegionConfig(regions=0), "region count"),
                                           (RegionConfig(regions=151), "region count"),
                                           (RegionConfig(regions=30, superpixels=10),
                                            "superpixels")])
def test_bad_settings(config, match):
    img, _ = blocks_scene(64, 64)
    with pytest.raises(BadInputError, match=match):
        segment_regions(img, config)


def test_bad_image():
    with pytest.raises(BadInputError, match="uint8 H×W×3"):
        segment_regions(np.zeros((32, 32), np.uint8))


def test_sample_photos_sky_is_one_region_and_the_kite_shares_none_with_it():
    """The two complaints of issue 12 (item 4) on the shipped sample photos: the dusk sky of
    summer_1am.jpg came out as a staircase of bands, and a stripe of kite.jpg's kite shared a
    region with a large patch of sky."""
    from inference.imageio import load_image
    from inference.labels import class_id
    from inference.samples import kite_layout

    samples = Path(__file__).resolve().parents[2] / "assets" / "samples"
    dusk = load_image(samples / "summer_1am.jpg")
    sky = np.zeros(dusk.shape[:2], bool)
    sky[: int(0.4 * dusk.shape[0])] = True  # the sky above the glow: a smooth gradient
    for config, one_region in ((RegionConfig(), True),
                               (RegionConfig(merge="ward", superpixels=400), False)):
        regions = segment_regions(dusk, config)
        largest = np.unique(regions[sky], return_counts=True)[1].max() / sky.sum()
        assert bool(largest > 0.9) is one_region, (config.merge, largest)
    photo = load_image(samples / "kite.jpg")
    kite = kite_layout(photo) == class_id("flag")  # the kite's hull, a little generous
    for config, shared in ((RegionConfig(), False),
                           (RegionConfig(merge="ward", superpixels=400), True)):
        regions = segment_regions(photo, config)
        mixed = [r for r in np.unique(regions[kite])
                 if 0.05 < (kite & (regions == r)).sum() / (regions == r).sum() < 0.9
                 and (kite & (regions == r)).sum() > 200]  # part kite, mostly sky
        assert bool(mixed) is shared, config.merge


def test_bad_merge_name():
    img, _ = blocks_scene(64, 64)
    with pytest.raises(BadInputError, match="merge"):
        segment_regions(img, RegionConfig(merge="nope"))  # type: ignore[arg-type]
