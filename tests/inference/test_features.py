"""Hand-made semantic features: normalisation, region coordinates, equivariance, colour."""

from __future__ import annotations

import numpy as np
import torch

from inference.correspondence.base import WarpRequest, WarpSource
from inference.correspondence.features import (
    SemanticFeatureConfig,
    SemanticFeatures,
    region_coordinates,
)


def test_channel_normalised_with_the_advertised_channel_count():
    lab = torch.zeros(20, 24, dtype=torch.int64)
    lab[5:15, 3:10] = 12
    prov = SemanticFeatures(SemanticFeatureConfig(colour_weight=0.5))
    f = prov.describe(lab, torch.rand(3, 20, 24))
    assert f.shape == (prov.channels, 20, 24)
    torch.testing.assert_close(f.mean(0), torch.zeros(20, 24), atol=1e-5, rtol=0)
    torch.testing.assert_close(f.norm(dim=0), torch.ones(20, 24), atol=1e-5, rtol=0)


def test_region_coordinates_are_per_component_and_normalised():
    lab = np.zeros((10, 20), np.uint8)
    lab[2:6, 1:5] = 3                    # two separate components of class 3
    lab[2:6, 11:19] = 3
    u, v, dist = region_coordinates(lab)
    np.testing.assert_allclose(u[3, 1:5], (np.arange(4) + 0.5) / 4)
    np.testing.assert_allclose(u[3, 11:19], (np.arange(8) + 0.5) / 8)
    np.testing.assert_allclose(v[2:6, 2], (np.arange(4) + 0.5) / 4)
    assert (dist > 0).all() and (dist <= 1).all()
    assert dist[3, 14] > dist[3, 11]     # deeper inside the region


def test_object_features_move_with_the_object():
    a = torch.zeros(32, 32, dtype=torch.int64)
    b = torch.zeros(32, 32, dtype=torch.int64)
    a[4:12, 5:15] = 7
    b[14:22, 15:25] = 7                  # the same object translated by (10, 10)
    cfg = SemanticFeatureConfig(context_weight=0.0)   # context sees the surroundings: left out
    fa = SemanticFeatures(cfg).describe(a)
    fb = SemanticFeatures(cfg).describe(b)
    torch.testing.assert_close(fa[:, 4:12, 5:15], fb[:, 14:22, 15:25])
    assert not torch.allclose(fa[:, 4:12, 5:15], fb[:, 4:12, 5:15])


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
