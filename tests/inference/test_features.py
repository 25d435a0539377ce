"""Hand-made semantic features: normalisation, region coordinates, boundary geometry, invariance
under translation and flips, colour."""

from __future__ import annotations

import numpy as np
import torch

from inference.correspondence.base import WarpRequest, WarpSource
from inference.correspondence.features import (
    SemanticFeatureConfig,
    SemanticFeatures,
    boundary_geometry,
    region_coordinates,
)
from inference.networks.normalize import channel_normalize, channel_normalize_


def test_channel_normalised_with_the_advertised_channel_count():
    lab = torch.zeros(20, 24, dtype=torch.int64)
    lab[5:15, 3:10] = 12
    prov = SemanticFeatures(SemanticFeatureConfig(colour_weight=0.5))
    f = prov.describe(lab, torch.rand(3, 20, 24))
    assert f.shape == (prov.channels, 20, 24)
    torch.testing.assert_close(f.mean(0), torch.zeros(20, 24), atol=1e-5, rtol=0)
    torch.testing.assert_close(f.norm(dim=0), torch.ones(20, 24), atol=1e-5, rtol=0)


def test_in_place_channel_normalisation_equals_the_plain_one_and_spares_autograd():
    x = torch.randn(2, 37, 9, 11) * 3 + 1
    want = channel_normalize(x)
    got = x.clone()
    assert channel_normalize_(got) is got and torch.equal(got, want)     # in place, bit for bit
    tracked = x.clone().requires_grad_(True)
    out = channel_normalize_(tracked)
    assert torch.equal(out, want) and torch.equal(tracked, x)                  # not written
    out.sum().backward()
    assert tracked.grad is not None



def test_banded_in_place_normalisation_is_bit_for_bit_the_whole_maps():
    # bands of rows keep the temporaries small; each band holds a multiple of 256 pixels, so the
    # vectorised reductions round as they do over the whole map (bands ending mid-vector did not)
    # (and the last band takes the remainder: a band of a few pixels was summed another way)
    torch.manual_seed(0)
    for shape in [(1, 37, 77, 131), (2, 5, 33, 17), (12, 101, 3), (37, 40, 256), (3, 1, 999),
                  (10, 257, 5), (37, 263, 1), (2, 37, 259, 2), (37, 65, 4), (37, 3841, 7)]:
        x = torch.randn(*shape) * 3 + 1
        want = channel_normalize(x)
        for band in (1, 1000, 7777, 1 << 16, 1 << 20):
            assert torch.equal(channel_normalize_(x.clone(), band_elements=band), want), \
                (shape, band)

def test_region_coordinates_are_per_component_and_normalised():
    lab = np.zeros((10, 20), np.uint8)
    lab[2:6, 1:5] = 3                    # two separate components of class 3
    lab[2:6, 11:19] = 3
    u, v, _, _ = region_coordinates(lab)
    np.testing.assert_allclose(u[3, 1:5], (np.arange(4) + 0.5) / 4)
    np.testing.assert_allclose(u[3, 11:19], (np.arange(8) + 0.5) / 8)
    np.testing.assert_allclose(v[2:6, 2], (np.arange(4) + 0.5) / 4)
    # class 0 touches the frame on every side: its coordinates are pulled to the centre
    assert np.all(u[lab == 0] == 0.5) and np.all(v[lab == 0] == 0.5)
    u_half = region_coordinates(lab, cut_trust=0.5).u
    assert u_half[0, 0] == 0.5 + 0.5 * (0.5 / 20 - 0.5)


def test_boundary_geometry_points_at_the_nearest_real_boundary():
    lab = np.zeros((12, 30), np.uint8)
    lab[:, 20:] = 5                      # one vertical boundary between columns 19 and 20
    dist, dy, dx = boundary_geometry(lab)
    assert dist[4, 19] == 0 and dist[4, 20] == 0            # both sides of the boundary
    np.testing.assert_allclose(dist[4, :20], np.arange(19, -1, -1), atol=0.05)
    assert np.all(dy[:, :19] == 0) and np.all(dx[:, :19] > 0) and np.all(dx[:, 21:] < 0)
    np.testing.assert_array_equal(dx[7, :20], np.arange(19, -1, -1))
    # the frame is not a boundary: with none inside, the distance is the long side
    d0, y0, x0 = boundary_geometry(np.zeros((6, 9), np.uint8))
    assert np.all(d0 == 9) and not y0.any() and not x0.any()


def test_object_features_move_with_the_object():
    a = torch.zeros(32, 32, dtype=torch.int64)
    b = torch.zeros(32, 32, dtype=torch.int64)
    a[4:12, 5:15] = 7
    b[14:22, 15:25] = 7                  # the same object translated by (10, 10)
    cfg = SemanticFeatureConfig(frame_weight=0.0)    # the one group tied to the frame: left out
    fa = SemanticFeatures(cfg).describe(a)
    fb = SemanticFeatures(cfg).describe(b)
    torch.testing.assert_close(fa[:, 4:12, 5:15], fb[:, 14:22, 15:25])
    assert not torch.allclose(fa[:, 4:12, 5:15], fb[:, 4:12, 5:15])


def test_regions_cut_by_the_frame_keep_their_features_under_translation_and_flip():
    """A wide scene cropped at two offsets, and mirrored: away from the frame every pixel's
    feature equals that of its true source pixel (the translation-invariant groups)."""
    g = np.random.default_rng(3)
    scene = np.zeros((48, 120), np.int64)
    scene[30:] = 9                                         # ground, cut by the frame
    for x0 in g.integers(5, 100, 6):                       # trees standing on it
        scene[18:30, x0:x0 + 6] = 4
    crop_a = torch.from_numpy(scene[:, 10:90].copy())
    crop_b = torch.from_numpy(scene[:, 25:105].copy())     # the same scene shifted by 15
    prov = SemanticFeatures(SemanticFeatureConfig(frame_weight=0.0))
    fa, fb = prov.describe(crop_a), prov.describe(crop_b)
    r = max(1, round(prov.config.context_radii[-1] * 80))  # widest context box half-size
    inner = slice(15 + r + 1, 80 - r - 1)                  # away from both frames
    shifted = slice(inner.start - 15, inner.stop - 15)
    torch.testing.assert_close(fa[:, 10:38, inner], fb[:, 10:38, shifted], atol=1e-5, rtol=0)
    diff = (prov.describe(torch.flip(crop_a, dims=[1])) - torch.flip(fa, dims=[2])).abs()
    # Only where two boundary pixels are equally near can the direction differ (the distance
    # transform breaks ties in scan order, which the flip reverses); this blocky scene has many.
    # Channel normalisation spreads such a difference over all channels, so compare pixels.
    same = diff.amax(0) < 1e-5
    assert same.float().mean() > 0.97
    dist, _, _ = boundary_geometry(torch.flip(crop_a, dims=[1]).numpy().astype(np.uint8))
    ties = ~same.numpy()
    assert np.all(dist[ties] > 0)                  # never on a boundary pixel itself


def test_frame_position_breaks_ties_between_otherwise_identical_pixels():
    lab = torch.zeros(24, 40, dtype=torch.int64)
    lab[16:] = 9                                           # a straight horizon: a sky row
    no_frame = SemanticFeatures(SemanticFeatureConfig(frame_weight=0.0)).describe(lab)
    default = SemanticFeatures().describe(lab)             # features are the same along it
    torch.testing.assert_close(no_frame[:, 4, 12], no_frame[:, 4, 20], atol=1e-6, rtol=0)
    assert (default[:, 4, 12] - default[:, 4, 20]).abs().max() > 1e-3
    flipped = SemanticFeatures().describe(torch.flip(lab, dims=[1]))
    torch.testing.assert_close(flipped, torch.flip(default, dims=[2]), atol=1e-5, rtol=0)


def test_unknown_target_pixels_carry_no_colour():
    lab = torch.zeros(16, 16, dtype=torch.int64)
    prov = SemanticFeatures(SemanticFeatureConfig(colour_weight=1.0))
    known = torch.zeros(16, 16, dtype=torch.bool)
    known[:, :8] = True
    img = torch.rand(3, 16, 16)
    with_img = prov.describe(lab, img, known)
    without = prov.describe(lab, None, None)
    torch.testing.assert_close(with_img[:, :, 8:], without[:, :, 8:])
    assert not torch.allclose(with_img[:, :, :8], without[:, :, :8])


def test_provider_describes_every_source_and_the_target():
    lab = torch.zeros(8, 8, dtype=torch.int64)
    req = WarpRequest([WarpSource(torch.rand(3, 8, 8), lab),
                       WarpSource(torch.rand(3, 5, 6), lab[:5, :6])], lab)
    maps = SemanticFeatures()(req)
    assert [tuple(s.shape[1:]) for s in maps.sources] == [(8, 8), (5, 6)]
    assert maps.target.shape[1:] == (8, 8)
