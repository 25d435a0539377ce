"""The interactive loop's shortcuts: the source side cached per photo, the warp where it is read,
the seam blend on the hole's own boxes. Each must give what the long way gives."""

from __future__ import annotations

import numpy as np
import torch

from inference.cache import SourceCache, fingerprint
from inference.pipeline.editor import EditSettings, LayoutEditor
from inference.pipeline.warping import warp_boxes
from inference.synthesis.blending import _poisson_part, poisson_blend
from inference.synthesis.levels import resize_any
from training.synth import generate_scene

FAST = EditSettings(warp="hrs-ms", working_size=96, iterations=4)


def _edit(seed: int = 3):
    img, lab = generate_scene(seed, (96, 128))
    edited = lab.copy()
    edited[20:40, 30:60] = lab[0, 0]
    return img, lab, edited


def test_a_second_edit_of_the_same_photo_reuses_the_source_side_and_gives_the_same_pixels():
    img, lab, edited = _edit()
    cache = SourceCache()
    first = LayoutEditor(FAST, cache=cache).edit(img, edited, lab)
    made = cache.misses
    assert made > 0 and cache.hits == 0 and len(cache) == made
    again = LayoutEditor(FAST, cache=cache).edit(img, edited, lab)
    assert cache.misses == made and cache.hits >= made          # nothing made twice
    np.testing.assert_array_equal(again.image, first.image)
    # and the same as an editor without anything cached
    fresh = LayoutEditor(FAST, cache=SourceCache()).edit(img, edited, lab)
    np.testing.assert_array_equal(fresh.image, first.image)


def test_another_edit_of_the_same_photo_reuses_the_photos_side_and_matches_a_fresh_editor():
    # the GUI's loop: the same photo, the layout painted further, so the mask (and the crop)
    # change; what depends on the crop misses, the whole photo's side hits
    img, lab, edited = _edit()
    cache = SourceCache()
    LayoutEditor(FAST, cache=cache).edit(img, edited, lab)
    edited2 = edited.copy()
    edited2[50:70, 70:100] = lab[0, 0]
    before, kept = cache.hits, len(cache)
    again = LayoutEditor(FAST, cache=cache).edit(img, edited2, lab)
    assert cache.hits > before
    assert len(cache) == kept          # nothing that moves with the crop piles up
    fresh = LayoutEditor(FAST, cache=SourceCache()).edit(img, edited2, lab)
    np.testing.assert_array_equal(again.image, fresh.image)


def test_a_mask_thinner_than_a_working_pixel_is_still_warped():
    # a 1 px user mask on a crop four times the working size: nearest resizing drops it, the
    # warp's boxes must not (and must not crash)
    img, lab = generate_scene(5, (384, 512))
    mask = np.zeros(lab.shape, bool)
    mask[100:300, 200] = True
    res = LayoutEditor(EditSettings(warp="hrs-ms", working_size=96, iterations=4,
                                    mask_dilation=0)).edit(img, lab, lab, user_mask=mask)
    assert res.route == "synthesis" and res.mask.sum() == mask.sum()
    np.testing.assert_array_equal(res.image[~mask], img[~mask])


def test_the_cache_misses_when_the_photo_or_its_layout_changes():
    img, lab, edited = _edit()
    cache = SourceCache()
    editor = LayoutEditor(FAST, cache=cache)
    editor.edit(img, edited, lab)
    made = cache.misses
    other = img.copy()
    other[0, 0] ^= 1                                              # one pixel of the photo
    res = editor.edit(other, edited, lab)
    assert cache.misses == 2 * made
    assert res.image[0, 0].tolist() == other[0, 0].tolist()
    lab2, edited2 = lab.copy(), edited.copy()
    lab2[-1, -1] = edited2[-1, -1] = 0                            # one pixel of its layout
    editor.edit(img, edited2, lab2)
    assert cache.misses == 3 * made and cache.hits == 0


def test_the_cache_keeps_to_its_budget_and_drops_the_oldest_first():
    cache = SourceCache(budget=3 * 400)
    for i in range(5):
        cache.get(i, lambda: np.zeros(100, np.float32))          # 400 bytes each
    assert len(cache) == 3 and cache.size_bytes == 1200
    cache.get(4, lambda: None)
    assert cache.hits == 1
    cache.get(0, lambda: np.zeros(100, np.float32))
    assert cache.misses == 6                                      # 0 was dropped, made again
    assert fingerprint(np.zeros(3)) != fingerprint(np.zeros((3, 1)))
    assert fingerprint(np.zeros(3)) != fingerprint(np.zeros(3, np.float32))


def test_the_warp_is_the_identity_outside_the_boxes_around_the_mask():
    img, lab, edited = _edit()
    res = LayoutEditor(FAST).edit(img, edited, lab)
    corr, win = res.correspondence, res.window
    mw = resize_any(win.cut(res.mask), (win.work_h, win.work_w))
    boxes = warp_boxes(mw)
    inside = np.zeros(mw.shape, bool)
    for b in boxes:
        inside[b.slices] = True
    assert mw[~inside].sum() == 0 and inside.mean() < 1.0
    ys, xs = np.nonzero(~inside)
    keys = corr.keys[0, :, ys, xs]
    assert torch.all(keys[0] == 0)                                 # the crop itself
    assert torch.equal(keys[1], torch.from_numpy(ys)) and torch.equal(keys[2], torch.from_numpy(xs))
    assert torch.all(corr.weights[0, ys, xs] == 1.0)
    assert torch.all(corr.weights[1:, ys, xs] == 0.0)


def test_poisson_blend_on_the_holes_boxes_equals_the_solve_over_the_whole_map():
    rng = np.random.default_rng(0)
    h, w = 60, 90
    photo = rng.random((h, w, 3)).astype(np.float32) * 0.2 + 0.4
    synth = photo + 0.3                                           # a step at every rim
    hole = np.zeros((h, w), bool)
    hole[10:25, 8:30] = True
    hole[35:55, 60:85] = True                                     # two separate parts
    labels = np.zeros((h, w), np.int64)
    gx = rng.normal(0, 0.05, (h, w - 1, 3)).astype(np.float32)    # a guidance field, too
    gy = rng.normal(0, 0.05, (h - 1, w, 3)).astype(np.float32)
    out = poisson_blend(synth, photo, hole, labels, (gx, gy), iterations=2000, tol=1e-7)
    # the same system over the whole map at once
    ref = _poisson_part(synth, photo, hole, labels, (gx, gy), None, 2000, 1e-7, 1e-3)
    assert np.abs(out[hole] - ref[hole]).max() < 1e-3
    np.testing.assert_array_equal(out[~hole], np.clip(photo, 0, 1)[~hole])
    plain = poisson_blend(synth, photo, hole, labels, iterations=2000, tol=1e-7)
    assert np.abs(plain[hole].mean() - photo.mean()) < 0.05       # the step integrated away
