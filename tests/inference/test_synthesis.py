"""The training-free synthesis stage where the right answer is known."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from inference.pipeline.editor import EditSettings, LayoutEditor
from inference.pipeline.objects import ObjectMove, ObjectTransform, infer_object_transforms
from inference.synthesis.completion import SynthesisConfig
from inference.synthesis.patches import key_table, query_table
from inference.synthesis.voting import AtlasView, VoteConfig, vote

# the full pyramid from the coarsest level, no preference for nearby sources: exact textures
PYRAMID = SynthesisConfig(max_levels=0, warp_start=False, position_weight=0.0)


def _periodic(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    tile = cv2.GaussianBlur(rng.integers(0, 255, (12, 9, 3)).astype(np.uint8), (3, 3), 0)
    yy, xx = np.mgrid[0:h, 0:w]
    return tile[yy % 12, xx % 9]


def _naive_vote(nnf, dist, tl, img, kc, colsrc, patch, cfg, want=None):
    """Pixel by pixel: every vote listed, weighted, then mean shift or the best vote alone (the
    module's definition); σ² from the neighbours that vote on a wanted pixel."""
    r = patch // 2
    h, w = nnf.shape
    ha, wa = kc.shape
    voters = torch.ones(h, w, dtype=torch.bool)
    if want is not None:
        voters = torch.nn.functional.max_pool2d(want[None, None].float(), patch, 1, r)[0, 0] > 0
    sig = float(torch.quantile(dist[voters], cfg.sigma_quantile))
    wt = torch.exp(-dist / (2 * sig))
    out = torch.zeros(3, h, w)
    for y in range(h):
        for x in range(w):
            if want is not None and not want[y, x]:
                continue
            vals, wts = [], []
            for oy in range(-r, r + 1):
                for ox in range(-r, r + 1):
                    ny, nx = y - oy, x - ox
                    if not (0 <= ny < h and 0 <= nx < w):
                        continue
                    f = int(nnf[ny, nx])
                    ay, ax = f // wa + oy, f % wa + ox
                    if not (0 <= ay < ha and 0 <= ax < wa) or colsrc[ax] != colsrc[f % wa]:
                        continue
                    c = int(kc[ay, ax])
                    if c < 0:
                        continue
                    agree = c == int(tl[y, x]) or int(tl[y, x]) == 0
                    vals.append(img[:, ay, ax])
                    wts.append(float(wt[ny, nx]) * (1.0 if agree else cfg.class_factor))
            if not vals:
                continue
            v, wv = torch.stack(vals), torch.tensor(wts)
            if cfg.best:                     # the first of equally good votes in offset order
                out[:, y, x] = v[int(torch.argmax(wv))]
                continue
            mu = (v * wv[:, None]).sum(0) / wv.sum()
            for _ in range(cfg.mode_iterations):
                w2 = wv * torch.exp(-((v - mu) ** 2).sum(1) / (2 * cfg.mode_bandwidth**2))
                if w2.sum() > 1e-12:
                    mu = (v * w2[:, None]).sum(0) / w2.sum()
            out[:, y, x] = mu
    return out


@pytest.mark.parametrize("modes,band", [(0, 1 << 22), (2, 300)])
def test_vote_matches_a_pixel_by_pixel_reference(modes, band):
    g = torch.Generator().manual_seed(0)
    ha, wa, h, w, patch = 20, 30, 13, 11, 5
    img = torch.rand(3, ha, wa, generator=g)
    kc = torch.randint(0, 3, (ha, wa), generator=g)
    kc[0, :5] = -1
    colsrc = torch.zeros(wa, dtype=torch.long)
    colsrc[18:] = 1
    nnf = torch.randint(0, ha * wa, (h, w), generator=g)
    dist = torch.rand(h, w, generator=g)
    tl = torch.randint(0, 3, (h, w), generator=g)
    cfg = VoteConfig(mode_iterations=modes, max_band_elements=band)   # 300: 3-pixel chunks
    got, total = vote(nnf, dist, tl, AtlasView(img, kc, colsrc), patch, cfg)
    want = _naive_vote(nnf, dist, tl, img, kc, colsrc, patch, cfg)
    assert total.min() > 0
    torch.testing.assert_close(got, want, atol=1e-4, rtol=0)


def test_the_best_vote_and_a_wanted_subset_match_the_pixel_by_pixel_reference():
    g = torch.Generator().manual_seed(1)
    ha, wa, h, w, patch = 20, 30, 13, 11, 5
    img = torch.rand(3, ha, wa, generator=g)
    kc = torch.randint(0, 3, (ha, wa), generator=g)
    colsrc = torch.zeros(wa, dtype=torch.long)
    colsrc[18:] = 1
    nnf = torch.randint(0, ha * wa, (h, w), generator=g)
    dist = torch.rand(h, w, generator=g)
    tl = torch.randint(0, 3, (h, w), generator=g)
    want = torch.zeros(h, w, dtype=torch.bool)
    want[3:9, 2:7] = True
    want[0, 0] = True
    atlas = AtlasView(img, kc, colsrc)
    flat = torch.full((h, w), 0.5)      # every patch equally good: ties everywhere, and the
    for cfg, d in ((VoteConfig(best=True), dist), (VoteConfig(best=True), flat),   # first vote
                   (VoteConfig(mode_iterations=2), dist)):                          # wins
        got, total = vote(nnf, d, tl, atlas, patch, cfg, want=want)
        ref = _naive_vote(nnf, d, tl, img, kc, colsrc, patch, cfg, want=want)
        torch.testing.assert_close(got[:, want], ref[:, want], atol=1e-4, rtol=0)
        assert (total[want] > 0).all() and (total[~want] == 0).all()
        # queries further than patch // 2 from every wanted pixel are never read
        far = torch.nn.functional.max_pool2d(want[None, None].float(), patch, 1, 2)[0, 0] == 0
        scrambled = torch.where(far, torch.randint_like(nnf, ha * wa), nnf)
        again, _ = vote(scrambled, torch.where(far, float("nan"), d), tl, atlas, patch, cfg,
                        want=want)
        assert torch.equal(again, got)


@pytest.mark.parametrize("references", [False, True])
def test_a_key_scores_minus_the_patch_distance_in_any_crops_unit(references):
    """One key table serves every crop: keys carry positions in the photo's unit, the query
    ``μ`` rescaled to the crop; a query's score minus its constant is exactly
    ``-(D_colour + β·D_layout + μ·|p - q|²)`` over photo keys, ``-(… + μ·c)`` over references."""
    gen = torch.Generator().manual_seed(0)
    col, lay = torch.randn(5, 4, 6, generator=gen), torch.randn(3, 4, 6, generator=gen)
    beta, mu, c, unit = 0.7, 0.5, 0.25, 80.0          # μ per (crop side)², keys per 80 px
    ys, xs = torch.meshgrid(torch.arange(4.0) + 10, torch.arange(6.0) + 20, indexing="ij")
    pos = torch.stack([ys, xs])
    photo = key_table(col, lay, beta, pos / unit, mu, c, references).reshape(24, -1)
    ref = key_table(col, lay, beta, None, mu, c, True).reshape(24, -1)
    qc, ql = torch.randn(5, 2, 3, generator=gen), torch.randn(3, 2, 3, generator=gen)
    qy, qx = torch.meshgrid(torch.arange(2.0) + 13, torch.arange(3.0) + 21, indexing="ij")
    qpos = torch.stack([qy, qx])
    for crop_side in (40.0, 200.0):
        mu_k = mu * (unit / crop_side) ** 2                  # μ for the keys' unit
        q, const = query_table(qc, ql, beta, qpos / unit, mu_k, references)
        q, const = q.reshape(q.shape[0], -1).t(), const.reshape(-1)
        d = torch.cat([col, lay * beta**0.5]).reshape(8, -1).t()
        dq = torch.cat([qc, ql * beta**0.5]).reshape(8, -1).t()
        feat = torch.cdist(dq, d).square()                                   # (6, 24)
        near = torch.cdist(qpos.reshape(2, -1).t(), pos.reshape(2, -1).t()).square()
        want = feat + mu * near / crop_side**2
        torch.testing.assert_close(const[:, None] - q @ photo.t(), want, rtol=1e-4, atol=1e-3)
        if references:
            torch.testing.assert_close(const[:, None] - q @ ref.t(), feat + mu * c,
                                       rtol=1e-4, atol=1e-3)



def test_a_large_key_tables_norms_made_in_bands_are_the_whole_maps():
    """|d|² is summed in bands of rows (a band's temporary, not the map's): every row of a
    table several bands tall gets exactly the sum the whole map would."""
    gen = torch.Generator().manual_seed(1)
    col, lay = torch.randn(12, 203, 311, generator=gen), torch.randn(10, 203, 311, generator=gen)
    pos = torch.rand(2, 203, 311, generator=gen)
    keys = key_table(col, lay, 0.7, pos, 0.5, 0.25, False)
    d = torch.cat([col, lay * 0.7**0.5]).permute(1, 2, 0)
    assert torch.equal(keys[..., :22], d)
    assert torch.equal(keys[..., -1], keys[..., :22].square().sum(-1))     # in one go
    # written into a source's window of a wider atlas table, as the cached table is made
    atlas = torch.full((230, 400, 26), float("nan"))
    got = key_table(col, lay, 0.7, pos, 0.5, 0.25, False, out=atlas[:203, 50:361])
    assert got.data_ptr() == atlas[:203, 50:361].data_ptr() and torch.equal(got, keys)
    assert atlas[203:].isnan().all() and atlas[:, :50].isnan().all() \
        and atlas[:, 361:].isnan().all()

@pytest.mark.parametrize("crop", [(4, 36, 6, 50), (10, 30, 20, 44)])
def test_the_position_term_is_mu_over_the_crops_long_side_squared(crop):
    """Through the cached key table of a level: a query's distance to a key, less its distance
    without the preference for nearby pixels, is ``μ·|p - q|² / L²`` with ``L`` the crop's long
    side, whatever the crop (the table itself is made once per photo)."""
    from inference.cache import SourceCache
    from inference.synthesis.completion import PatchSynthesis, SynthesisTarget, _grid_positions
    from inference.synthesis.levels import SynthesisSource
    from inference.synthesis.nnf import Box

    rng = np.random.default_rng(0)
    photo = rng.integers(0, 255, (40, 60, 3)).astype(np.uint8)
    labels = np.where(np.arange(60)[None, :] < 30, 3, 7).repeat(40, 0).astype(np.uint8)
    feats = torch.nn.functional.normalize(torch.randn(16, 20, 30), dim=0)
    y0, y1, x0, x1 = crop
    hole = np.zeros((40, 60), bool)
    hole[y0 + 3:y1 - 3, x0 + 3:x1 - 3] = True
    src = SynthesisSource("photo", photo, labels, feats, grid=True, key=("photo",))
    target = SynthesisTarget(photo, hole, labels, feats[:, y0 // 2:y1 // 2, x0 // 2:x1 // 2],
                             crop)
    unit = float(max(y1 - y0, x1 - x0))
    dists = []
    for mu in (0.0, 0.5):
        synth = PatchSynthesis(SynthesisConfig(position_weight=mu, layout_components=6),
                               cache=SourceCache())
        lvl = synth._level(0, 1.0, target, [src], unit)
        box = Box(0, lvl.size[0], 0, lvl.size[1])
        pos = _grid_positions(box.shape, lvl.origin, lvl.keys.unit, synth.device)
        q, qn = synth._queries(lvl, box, pos)
        q, qn = q.reshape(q.shape[0], -1), qn.reshape(-1)
        keys = torch.tensor([0, 77, 1234, 2399])                          # photo pixels
        dists.append(qn[:, None] - q.t() @ lvl.key_rows[keys].t())        # (queries, keys)
    h, w = lvl.size
    qy, qx = np.divmod(np.arange(h * w), w)
    ky, kx = np.divmod(keys.numpy(), 60)
    near = (qy[:, None] + y0 - ky[None]) ** 2 + (qx[:, None] + x0 - kx[None]) ** 2
    torch.testing.assert_close(dists[1] - dists[0], torch.from_numpy(0.5 * near / unit**2).float(),
                               rtol=1e-3, atol=2e-3)


def test_periodic_texture_is_completed_in_period_and_phase():
    truth = _periodic(160, 200)
    labels = np.full(truth.shape[:2], 3, np.uint8)
    hole = np.zeros(labels.shape, bool)
    hole[50:110, 60:140] = True
    photo = truth.copy()
    photo[hole] = 127
    st = EditSettings(reconstruction=True, device="cpu", synthesis=PYRAMID)
    out = LayoutEditor(st).edit(photo, labels, labels, hole).image
    err = np.abs(out.astype(int) - truth.astype(int))[hole].max(axis=1)
    # the period (12×9) and its phase continue through the hole: nearly every pixel exact
    assert (err <= 2).mean() > 0.95
    # a copy out of phase would be as wrong as a random pixel of the tile
    assert np.abs(out.astype(int) - truth.astype(int))[hole].mean() < 3


def _two_textures(h=120, w=160):
    rng = np.random.default_rng(1)
    top = np.clip(rng.normal((70, 120, 200), 12, (h, w, 3)), 0, 255)
    bottom = np.clip(rng.normal((60, 140, 50), 12, (h, w, 3)), 0, 255)
    rows = np.arange(h)[:, None, None]
    img = np.where(rows < 60, top, bottom).astype(np.uint8)
    labels = np.where(np.arange(h)[:, None] < 60, 3, 10).astype(np.uint8) * np.ones((1, w),
                                                                                   np.uint8)
    return img, labels


def test_a_hole_across_a_two_class_boundary_follows_the_edited_boundary():
    img, labels = _two_textures()
    edited = labels.copy()
    edited[60:85, 40:120] = 3            # the sky comes down
    edited[40:60, 130:150] = 10          # the grass goes up
    res = LayoutEditor(EditSettings(device="cpu")).edit(img, edited, labels)
    out = res.image.astype(float)
    # which texture is each masked pixel closest to (by local mean colour)?
    blurred = cv2.blur(out, (3, 3))
    sky = np.abs(blurred - (70, 120, 200)).sum(-1) < np.abs(blurred - (60, 140, 50)).sum(-1)
    inner = cv2.erode(res.mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    follows = sky[inner] == (edited[inner] == 3)
    assert follows.mean() > 0.97
    np.testing.assert_array_equal(res.image[~res.mask], img[~res.mask])


def test_pixels_outside_the_mask_are_bit_identical_and_texture_is_kept():
    img, labels = _two_textures()
    edited = labels.copy()
    edited[62:90, 50:100] = 3
    res = LayoutEditor(EditSettings(device="cpu")).edit(img, edited, labels)
    assert res.route == "synthesis"
    np.testing.assert_array_equal(res.image[~res.mask], img[~res.mask])
    # texture, not a smear: the new sky is as grainy as the photo's sky
    new = res.image[66:86, 54:96].astype(float)
    old = img[10:50, 10:150].astype(float)
    assert 0.7 < new.std(axis=(0, 1)).mean() / old.std(axis=(0, 1)).mean() < 1.3


def test_a_moved_object_with_its_transform_is_reproduced_exactly():
    rng = np.random.default_rng(2)
    img = np.clip(rng.normal(128, 20, (120, 160, 3)), 0, 255).astype(np.uint8)
    labels = np.full((120, 160), 3, np.uint8)
    obj = rng.integers(0, 255, (24, 30, 3)).astype(np.uint8)      # a textured object
    img[20:44, 20:50] = obj
    labels[20:44, 20:50] = 20
    edited = labels.copy()
    edited[20:44, 20:50] = 3
    edited[60:84, 90:120] = 20                                   # moved by (70, 40)
    move = ObjectMove(25, 25, dx=70, dy=40).resolve(labels)
    res = LayoutEditor(EditSettings(device="cpu")).edit(img, edited, labels, objects=[move])
    np.testing.assert_array_equal(res.image[60:84, 90:120], obj)
    # without the transform the engine finds the same move from the labels alone
    found = infer_object_transforms(labels, edited, res.mask)
    assert len(found) == 1
    np.testing.assert_allclose(found[0].matrix, move.matrix, atol=0.6)


def test_object_transform_validation():
    with pytest.raises(Exception, match="2×3"):
        ObjectTransform(np.zeros((4, 4), bool), np.zeros((3, 3)))
    with pytest.raises(Exception, match="scales the area"):
        ObjectTransform(np.zeros((4, 4), bool), np.array([[1e-5, 0, 0], [0, 1e-5, 0]]))


def test_full_resolution_beyond_the_cap_has_no_block_structure():
    # a fine random texture, the synthesis capped at a quarter of the crop: the last level is
    # applied to the full-resolution photo through continuous offsets
    rng = np.random.default_rng(3)
    img = cv2.GaussianBlur(rng.integers(0, 255, (240, 320, 3)).astype(np.uint8), (3, 3), 0)
    labels = np.full((240, 320), 3, np.uint8)
    hole = np.zeros((240, 320), bool)
    hole[80:160, 100:220] = True
    photo = img.copy()
    photo[hole] = 127
    cfg = SynthesisConfig(max_size=80)
    res = LayoutEditor(EditSettings(device="cpu", reconstruction=True, synthesis=cfg)).edit(
        photo, labels, labels, hole)
    assert "synthesis full resolution" in res.timings
    w = res.window
    scale = 80 / max(w.height, w.width)
    block = round(1 / scale)
    assert block >= 3
    region = res.image[84:156, 104:216].astype(float)
    dx = np.abs(np.diff(region, axis=1)).sum(-1).mean(0)          # per column boundary
    cols = np.arange(104, 104 + dx.size) - w.x0 + 1
    at_grid = dx[cols % block == 0].mean()
    elsewhere = dx[cols % block != 0].mean()
    # the photo's own detail everywhere: no step at the level grid, no smoothing in between
    assert 0.8 < at_grid / elsewhere < 1.25
    assert elsewhere > 0.6 * np.abs(np.diff(img.astype(float), axis=1)).sum(-1).mean()


def test_cancel_stops_inside_the_synthesis_iterations(monkeypatch):
    """Cancelling while the synthesis runs stops it at its next E-step, not after the edit."""
    import inference.synthesis.completion as completion
    from inference.errors import CancelledError
    from inference.progress import CancelToken

    img, lab = _two_textures()
    edited = lab.copy()
    edited[62:90, 50:100] = 3
    token = CancelToken()
    calls = []
    real = completion.PatchSynthesis._complete_box   # the EM iterations over one box

    def em_then_cancel(self, *args, **kwargs):
        calls.append(1)
        token.cancel()
        return real(self, *args, **kwargs)

    monkeypatch.setattr(completion.PatchSynthesis, "_complete_box", em_then_cancel)
    with pytest.raises(CancelledError):
        LayoutEditor(EditSettings(device="cpu")).edit(img, edited, lab, cancel=token)
    assert calls == [1]            # the first level's iterations saw the flag and stopped


def test_unknown_refinement_is_refused_before_any_work():
    from inference.errors import BadInputError

    img, lab = _two_textures()
    with pytest.raises(BadInputError, match="refinement"):
        LayoutEditor(EditSettings(device="cpu", refine="blend")).edit(img, lab, lab)


def test_poisson_blend_removes_a_seam_step_and_keeps_texture():
    from inference.synthesis.blending import poisson_blend

    rng = np.random.default_rng(5)
    h, w = 48, 64
    photo = np.full((h, w, 3), 0.5, np.float32)
    hole = np.zeros((h, w), bool)
    hole[8:40, 8:56] = True
    noise = rng.normal(0, 0.03, (h, w, 3)).astype(np.float32)
    synth = np.where(np.arange(w)[None, :, None] < 32, 0.35, 0.65).astype(np.float32) + noise
    gx, gy = np.diff(synth, axis=1), np.diff(synth, axis=0)
    gx[:, 31] = noise[:, 32] - noise[:, 31]        # the seam: the sources have no step there
    labels = np.full((h, w), 3, np.uint8)
    out = poisson_blend(synth, photo, hole, labels, (gx, gy))
    np.testing.assert_array_equal(out[~hole], photo[~hole])
    inner = out[12:36]
    step = np.abs(inner[:, 32].mean(0) - inner[:, 31].mean(0)).max()
    assert step < 0.02                              # was 0.30 in the synthesis
    assert abs(inner[:, 12:52].mean() - 0.5) < 0.02  # the boundary's level, no offset
    hp = out - cv2.blur(out, (3, 3))
    hp_s = synth - cv2.blur(synth, (3, 3))
    away = np.r_[14:28, 36:50]                      # columns away from the seam
    assert hp[14:34][:, away].std() > 0.9 * hp_s[14:34][:, away].std()   # texture kept


def test_reconstruction_never_copies_from_inside_the_mask():
    img, labels = _two_textures()
    photo = img.copy()
    hole = np.zeros(labels.shape, bool)
    hole[70:100, 40:90] = True
    photo[hole] = (250, 20, 20)            # only the hole holds red: it must not come back
    res = LayoutEditor(EditSettings(device="cpu", reconstruction=True)).edit(
        photo, labels, labels, hole)
    out = res.image[hole].astype(int)
    assert (np.abs(out - (250, 20, 20)).sum(-1) < 150).mean() < 0.001
    np.testing.assert_array_equal(res.image[~res.mask], photo[~res.mask])
