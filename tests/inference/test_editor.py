from __future__ import annotations

import numpy as np
import pytest

from inference.errors import BadInputError, CancelledError
from inference.pipeline.editor import EditSettings, LayoutEditor, Reference
from inference.progress import CancelToken
from training.synth import generate_scene

FAST = EditSettings(warp="hrs-ms", working_size=96, iterations=4)


def _scene(seed=3, size=(96, 128)):
    return generate_scene(seed, size)


def _grow_class(labels, cls_from_row, rows, cls):
    edited = labels.copy()
    edited[rows] = cls
    return edited


def test_empty_edit_returns_input_unchanged():
    img, lab = _scene()
    res = LayoutEditor(FAST).edit(img, lab, lab)
    assert res.route == "unchanged" and not res.mask.any()
    np.testing.assert_array_equal(res.image, img)
    assert res.notes


def test_no_checkpoint_path_changes_only_the_mask_and_follows_layout():
    img, lab = _scene()
    edited = lab.copy()
    sky = lab[0, 0]
    edited[20:40, 30:90] = sky  # more sky
    progress = []
    res = LayoutEditor(FAST).edit(img, edited, lab, progress=lambda d, t: progress.append((d, t)))
    assert res.route == "synthesis" and res.image.shape == img.shape
    np.testing.assert_array_equal(res.image[~res.mask], img[~res.mask])  # Eq. 6, bit-identical
    assert res.mask[25, 50] and (res.image[20:40, 30:90] != img[20:40, 30:90]).any()
    # the new sky looks like the photo's sky (colour statistics), not like what was there
    sky_px = img[lab == sky].reshape(-1, 3).mean(0)
    new_px = res.image[20:40, 30:90].reshape(-1, 3).mean(0)
    assert np.abs(new_px - sky_px).mean() < 25
    assert progress[-1] == (100, 100)
    assert res.correspondence is not None and res.correspondence.keys.shape[1] == 3


def test_large_photo_small_edit_works_on_the_crop_only():
    img = np.zeros((1200, 1600, 3), np.uint8)
    img[:600] = (90, 140, 220)
    img[600:] = (60, 150, 50)
    img += np.random.default_rng(0).integers(0, 20, img.shape, dtype=np.uint8)
    lab = np.full((1200, 1600), 3, np.uint8)
    lab[600:] = 10
    edited = lab.copy()
    edited[560:600, 700:800] = 10
    res = LayoutEditor(FAST).edit(img, edited, lab)
    w = res.window
    assert (w.height, w.width) < (1200, 1600) and max(w.work_h, w.work_w) <= 96
    np.testing.assert_array_equal(res.image[~res.mask], img[~res.mask])
    grass = res.image[565:595, 710:790].astype(int)
    assert grass[..., 1].mean() > grass[..., 2].mean()  # now green, not sky-blue


def test_reference_is_an_extra_source():
    img, lab = _scene(3)
    ref, ref_lab = _scene(11)
    edited = lab.copy()
    edited[10:30, 10:50] = ref_lab[50, 60]
    res = LayoutEditor(FAST).edit(img, edited, lab, references=[Reference(ref, ref_lab)])
    assert res.sources[-1] == "reference 1"
    assert int(res.correspondence.keys[:, 0].max()) == len(res.sources) - 1


def test_the_result_carries_each_sources_geometry():
    """Keys of source i are pixels of ``source_windows[i]``'s working grid, so a reader maps
    them back to full resolution without re-deriving how the engine sized each source."""
    img, lab = _scene(3)                                  # 128×96
    ref, ref_lab = _scene(11, (150, 200))
    edited = lab.copy()
    edited[10:30, 10:50] = ref_lab[75, 100]
    res = LayoutEditor(FAST).edit(img, edited, lab, references=[Reference(ref, ref_lab)])
    assert res.sources == ["photo (crop)", "photo (whole)", "reference 1"]
    crop, whole, reference = res.source_windows
    assert crop == res.window
    assert (whole.y0, whole.y1, whole.x0, whole.x1, whole.work_h, whole.work_w) == \
        (0, 96, 0, 128, 72, 96)
    assert (reference.y1, reference.x1, reference.work_h, reference.work_w) == (150, 200, 72, 96)
    keys = res.correspondence.keys.permute(1, 0, 2, 3).reshape(3, -1)
    for i, win in enumerate(res.source_windows):
        ys, xs = keys[1][keys[0] == i], keys[2][keys[0] == i]
        assert ys.numel() and int(ys.max()) < win.work_h and int(xs.max()) < win.work_w


def test_cancel_and_bad_input():
    img, lab = _scene()
    edited = lab.copy()
    edited[:10] = 5
    token = CancelToken()
    token.cancel()
    with pytest.raises(CancelledError):
        LayoutEditor(FAST).edit(img, edited, lab, cancel=token)
    with pytest.raises(BadInputError, match="no semantic parser"):
        LayoutEditor(FAST).edit(img, edited)
    with pytest.raises(BadInputError, match="edited label map is 10×10"):
        LayoutEditor(FAST).edit(img, np.zeros((10, 10), np.uint8), lab)
    with pytest.raises(BadInputError, match="unknown warp backend"):
        LayoutEditor(EditSettings(warp="nope")).edit(img, edited, lab)


@pytest.mark.parametrize("warp", ["hrs-ms", "hrs"])
def test_previews_come_in_order_coarse_stage_warp_then_levels(warp):
    from inference.labels import class_id
    from inference.samples import load_sample

    photo, labels = load_sample("kite.jpg")
    photo, labels = np.ascontiguousarray(photo[::4, ::4]), np.ascontiguousarray(labels[::4, ::4])
    edited = labels.copy()
    edited[labels == class_id("flag")] = class_id("sky")
    seen: list[tuple[str, np.ndarray]] = []
    res = LayoutEditor(EditSettings(warp=warp, working_size=128, iterations=4)).edit(
        photo, edited, labels, preview=lambda im, stage: seen.append((stage, im.copy())))
    stages = [s for s, _ in seen]
    # a backend with a coarse stage shows its estimate first; a one-stage warp starts at "warp"
    first = ["coarse warp", "warp"] if warp == "hrs-ms" else ["warp"]
    assert stages[:len(first)] == first
    assert any(s.startswith("level") for s in stages[len(first):])
    for _, im in seen:
        assert im.shape == photo.shape and im.dtype == np.uint8
        np.testing.assert_array_equal(im[~res.mask], photo[~res.mask])
    if warp == "hrs-ms":                  # the coarse estimate is not the final warp
        assert not np.array_equal(seen[0][1], seen[1][1])
