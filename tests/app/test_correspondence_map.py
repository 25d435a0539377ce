"""keys_at_pixel maps keys through the windows the result carries, not through the settings."""

from __future__ import annotations

import numpy as np
import torch

from app.correspondence_map import keys_at_pixel
from inference.correspondence.base import Correspondence
from inference.pipeline.cropping import CropWindow
from inference.pipeline.editor import EditResult


def _result(keys: list[tuple[int, int, int]], windows: list[CropWindow],
            sources: list[str]) -> EditResult:
    """A result whose every working query has ``keys`` (source, y, x), equal weights."""
    crop = windows[0]
    k = torch.tensor(keys, dtype=torch.int64)[:, :, None, None]
    k = k.expand(-1, -1, crop.work_h, crop.work_w).contiguous()
    weights = torch.full((len(keys), crop.work_h, crop.work_w), 1.0 / len(keys))
    corr = Correspondence(k, weights, k[0].float())
    image = np.zeros((crop.height, crop.width, 3), np.uint8)
    return EditResult(image=image, warped=image, mask=np.ones(image.shape[:2], bool),
                      route="synthesis", warp_backend="hrs", window=crop, correspondence=corr,
                      sources=sources, source_windows=windows)


def test_a_reference_right_after_the_crop_is_not_on_the_photo():
    # The crop is the whole 40×20 photo (no separate whole-photo source), so source 1 is the
    # first reference (100×50, warped from at 40×20).
    crop = CropWindow(0, 20, 0, 40, 10, 20)
    reference = CropWindow(0, 50, 0, 100, 20, 40)
    result = _result([(0, 3, 5), (1, 4, 9)], [crop, reference], ["photo (crop)", "reference 1"])
    keys = keys_at_pixel(result, 11, 7, references=1)
    assert keys is not None and keys.working == (5, 3)
    on_crop, in_ref = sorted(keys.keys, key=lambda k: k.source)
    assert on_crop.on_photo and (on_crop.x, on_crop.y) == (10.5, 6.5)
    assert not in_ref.on_photo and in_ref.name == "reference 1"
    assert (in_ref.x, in_ref.y) == (23.25, 10.75)   # (9.5 × 2.5 − 0.5, 4.5 × 2.5 − 0.5)


def test_keys_of_a_source_the_result_does_not_describe_are_left_out():
    crop = CropWindow(0, 20, 0, 40, 10, 20)
    result = _result([(0, 1, 1), (3, 1, 1)], [crop], ["photo (crop)"])
    keys = keys_at_pixel(result, 0, 0)
    assert [k.source for k in keys.keys] == [0]
    assert keys_at_pixel(result, 40, 0) is None   # outside the crop
