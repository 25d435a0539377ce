"""``bilevel`` (paper 001): block ranking + in-block attention at half resolution."""

from __future__ import annotations

import torch

from inference.correspondence import create_backend
from inference.correspondence.backends.bilevel import BilevelBackend, BilevelConfig, to_blocks
from inference.correspondence.base import WarpRequest, WarpSource
from tests.inference.baseline_helpers import (
    PatchColourFeatures,
    identity_request,
    key_grid_exact,
    texture,
    two_class_labels,
)
from training.evaluation.metrics import psnr


def _backend(**cfg) -> BilevelBackend:
    return BilevelBackend(BilevelConfig(**cfg), features=PatchColourFeatures())


def test_shapes_and_paper_defaults():
    cfg = BilevelConfig()
    assert (cfg.corr_scale, cfg.block, cfg.top_k) == (0.5, 2, 3)
    res = _backend().warp(identity_request(50, 46))            # odd sizes: padded blocks
    corr = res.correspondence
    assert res.corr_resolution == (25, 23)
    assert corr.keys.shape == (12, 3, 50, 46)                  # k · b = 3 · 4 keys
    assert torch.allclose(corr.weights.sum(0), torch.ones(50, 46), atol=1e-5)
    assert res.warped.shape == (3, 50, 46)


def test_to_blocks_groups_2x2_and_pads():
    f = torch.arange(2 * 3 * 5, dtype=torch.float32).view(2, 3, 5)
    blocks = to_blocks(f, 2)
    assert blocks.shape == (2 * 3, 4, 2)                       # ceil(3/2) * ceil(5/2) blocks
    assert blocks[0, :, 0].tolist() == [0.0, 1.0, 5.0, 6.0]    # the top-left 2×2 of channel 0
    assert blocks[-1, :, 0].tolist() == [14.0, 0.0, 0.0, 0.0]  # bottom-right: mostly padding


def test_identity_warp_is_recovered():
    req = identity_request(64, 64)
    res = _backend().warp(req)
    assert key_grid_exact(res.correspondence.source_coords) > 0.98
    assert psnr(res.warped, req.sources[0].image) > 35.0


def test_keys_avoid_excluded_pixels():
    exclude = torch.zeros(64, 64, dtype=torch.bool)
    exclude[10:30, 5:45] = True
    exclude[:, 60:] = True
    res = _backend().warp(identity_request(64, 64, exclude=exclude))
    keys = res.correspondence.keys
    assert not exclude[keys[:, 1], keys[:, 2]].any()


def test_multi_source_keys_point_into_the_right_source():
    decoy, wanted = texture(5, 64, 80), texture(9, 48, 56)
    req = WarpRequest(
        sources=[WarpSource(decoy, two_class_labels(64, 80)),
                 WarpSource(wanted, two_class_labels(48, 56))],
        target_labels=two_class_labels(48, 56), target_image=wanted)
    res = _backend().warp(req)
    sc = res.correspondence.source_coords
    assert (sc[0] == 1).float().mean() > 0.97
    assert key_grid_exact(sc, source=1) > 0.9
    keys = res.correspondence.keys
    src1 = keys[:, 0] == 1
    assert (keys[:, 1][src1] < 48).all() and (keys[:, 2][src1] < 56).all()


def test_registered_and_deterministic():
    req = identity_request(32, 32, seed=4)
    a = create_backend("bilevel", features=PatchColourFeatures()).warp(req)
    b = create_backend("bilevel", features=PatchColourFeatures()).warp(req)
    assert a.backend == "bilevel"
    assert torch.equal(a.correspondence.keys, b.correspondence.keys)
