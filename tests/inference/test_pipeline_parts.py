from __future__ import annotations

import numpy as np
import pytest

from inference.errors import BadInputError
from inference.pipeline.cropping import crop_window, paste_back
from inference.pipeline.harmonize import harmonize, push_pull
from inference.pipeline.masking import edit_mask


def test_edit_mask_is_dilated_change_plus_user_mask():
    c0 = np.full((40, 40), 3, np.uint8)
    c1 = c0.copy()
    c1[20, 20] = 5
    user = np.zeros((40, 40), bool)
    user[0, 0] = True
    m = edit_mask(c0, c1, user, dilation=3)
    assert m[20, 20] and m[20, 23] and m[17, 20] and not m[20, 24]
    assert m[0, 0] and m.sum() == 33 + 1  # OpenCV's 7×7 ellipse has 33 px, plus the user pixel
    assert not edit_mask(c0, c0).any()
    with pytest.raises(BadInputError, match="edited label map is 41×40"):
        edit_mask(c0, np.zeros((40, 41), np.uint8))


def test_crop_window_context_and_working_size():
    mask = np.zeros((3000, 4000), bool)
    mask[1000:1100, 2000:2300] = True
    win = crop_window(mask, working_size=512, context=0.5)
    assert (win.y0, win.y1, win.x0, win.x1) == (950, 1150, 1850, 2450)
    assert win.work_w == 512 and win.work_h % 8 == 0 and abs(win.work_h - 171) <= 8
    small = np.zeros((100, 100), bool)
    small[40:50, 40:50] = True
    w2 = crop_window(small, working_size=512)
    assert (w2.height, w2.width) == (74, 74) and w2.scale == pytest.approx(72 / 74)
    with pytest.raises(BadInputError, match="empty"):
        crop_window(np.zeros((10, 10), bool))


def test_paste_back_is_bit_identical_outside_mask():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
    mask = np.zeros((300, 400), bool)
    mask[100:150, 200:260] = True
    win = crop_window(mask, working_size=32)
    work = win.to_work(img)
    assert work.shape == (win.work_h, win.work_w, 3)
    result = win.from_work(np.zeros_like(work))
    out = paste_back(img, win, result, mask)
    np.testing.assert_array_equal(out[~mask], img[~mask])
    assert (out[mask] == 0).all()


def test_push_pull_interpolates_exactly_at_constraints():
    vals = np.zeros((64, 64, 1), np.float32)
    w = np.zeros((64, 64), np.float32)
    vals[10, 10], w[10, 10] = 1.0, 1.0
    vals[50, 50], w[50, 50] = 3.0, 1.0
    out = push_pull(vals, w)
    assert out[10, 10, 0] == pytest.approx(1.0) and out[50, 50, 0] == pytest.approx(3.0)
    assert 1.0 < out[30, 30, 0] < 3.0  # smooth in between


def test_harmonize_removes_colour_step_keeps_texture_and_classes():
    rng = np.random.default_rng(0)
    tex = (rng.random((128, 128, 1)) * 0.1).astype(np.float32)
    photo = np.full((128, 128, 3), 0.5, np.float32) + tex
    labels = np.ones((128, 128), np.uint8)
    labels[:, 64:] = 2
    mask = np.zeros((128, 128), bool)
    mask[30:90, 20:110] = True
    warped = photo.copy()
    warped[20:100, 10:64] += 0.2  # class 1 warped from a brighter place
    out = harmonize(warped, photo, mask, labels, labels)
    inside1 = mask & (labels == 1)
    assert np.abs(warped - photo)[inside1].mean() > 0.15
    assert np.abs(out - photo)[inside1].mean() < 0.03
    # class 2 had no colour step and must not pick up class 1's correction
    inside2 = mask & (labels == 2)
    assert np.abs(out - photo)[inside2].mean() < 0.01
    # texture (high frequency) is the warp's, not smoothed away
    assert np.std(out[inside1]) == pytest.approx(np.std(warped[inside1]), rel=0.2)
    np.testing.assert_array_equal(out[~mask], warped[~mask])
