"""``patchmatch-gru`` (paper 004): shapes, identity recovery, exclusion, multi-source, the GRU."""

from __future__ import annotations

import pytest
import torch

from inference.checkpoint import save_checkpoint
from inference.correspondence import create_backend
from inference.correspondence.backends.patchmatch_gru import (
    PatchMatchGRUBackend,
    PatchMatchGRUConfig,
    select_distinct,
)
from inference.correspondence.base import WarpRequest, WarpSource
from inference.errors import CheckpointError
from inference.networks.convgru import ConvGRURefiner, ConvGRURefinerConfig
from tests.inference.baseline_helpers import (
    PatchColourFeatures,
    identity_request,
    key_grid_exact,
    texture,
    two_class_labels,
)
from training.evaluation.metrics import psnr


def _backend(**cfg) -> PatchMatchGRUBackend:
    return PatchMatchGRUBackend(PatchMatchGRUConfig(**cfg), features=PatchColourFeatures())


def test_shapes_and_weights():
    req = identity_request(48, 40)
    res = _backend().warp(req)
    corr = res.correspondence
    assert res.warped.shape == (3, 48, 40)
    assert corr.keys.shape == (16, 3, 48, 40) and corr.keys.dtype == torch.int64
    assert corr.weights.shape == (16, 48, 40)
    assert torch.allclose(corr.weights.sum(0), torch.ones(48, 40), atol=1e-5)
    assert corr.source_coords.shape == (3, 48, 40)
    assert res.corr_resolution == (48, 40)          # full-resolution correspondence
    assert res.timings["gru_enabled"] == 0.0        # no weights: propagation-only, and it says so


def test_levels_start_at_one_eighth():
    b = _backend()
    assert b.level_scales(512, 512) == [0.125, 0.25, 0.5, 1.0]   # 64, 128, 256, 512
    assert b.level_scales(32, 32) == [0.25, 0.5, 1.0]             # never below 8 px


def test_identity_warp_is_recovered():
    req = identity_request(64, 64)
    res = _backend().warp(req)
    assert key_grid_exact(res.correspondence.source_coords) > 0.99
    assert psnr(res.warped, req.sources[0].image) > 40.0


def test_keys_avoid_excluded_pixels():
    exclude = torch.zeros(64, 64, dtype=torch.bool)
    exclude[:, :24] = True
    exclude[40:50, 30:60] = True
    res = _backend().warp(identity_request(64, 64, exclude=exclude))
    keys = res.correspondence.keys                                   # (K, 3, H, W)
    assert not exclude[keys[:, 1], keys[:, 2]].any()
    # Queries whose own pixel is valid still find themselves.
    sc = res.correspondence.source_coords.long()
    ys, xs = torch.meshgrid(torch.arange(64), torch.arange(64), indexing="ij")
    ok = (sc[1] == ys) & (sc[2] == xs)
    assert ok[~exclude].float().mean() > 0.95


def test_multi_source_keys_point_into_the_right_source():
    decoy = texture(5, 80, 72)
    wanted = texture(9, 56, 64)
    req = WarpRequest(
        sources=[WarpSource(decoy, two_class_labels(80, 72)),
                 WarpSource(wanted, two_class_labels(56, 64))],
        target_labels=two_class_labels(56, 64), target_image=wanted)
    res = _backend().warp(req)
    sc = res.correspondence.source_coords
    assert (sc[0] == 1).float().mean() > 0.98
    assert key_grid_exact(sc, source=1) > 0.95
    keys = res.correspondence.keys
    in_decoy = keys[:, 0] == 0
    assert (keys[:, 1][in_decoy] < 80).all() and (keys[:, 2][in_decoy] < 72).all()
    in_wanted = keys[:, 0] == 1
    assert (keys[:, 1][in_wanted] < 56).all() and (keys[:, 2][in_wanted] < 64).all()


def test_deterministic():
    req = identity_request(40, 40, seed=3)
    a, b = _backend().warp(req), _backend().warp(req)
    assert torch.equal(a.correspondence.keys, b.correspondence.keys)
    assert torch.equal(a.warped, b.warped)


def test_select_distinct_drops_duplicates():
    cand = torch.tensor([[5, 5, 7, 5, 9]])
    scores = torch.tensor([[0.9, 0.9, 0.5, 0.9, 0.1]])
    idx, sc = select_distinct(cand, scores, 3)
    assert sorted(idx[0].tolist()) == [5, 7, 9]
    assert sc[0].tolist() == pytest.approx([0.9, 0.5, 0.1])


def _refiner(k: int = 16) -> ConvGRURefiner:
    torch.manual_seed(0)
    cfg = ConvGRURefinerConfig(feat_channels=PatchColourFeatures.channels, candidates=k,
                               input_channels=8, hidden=8)
    return ConvGRURefiner(cfg)


def test_gru_path_runs_with_weights():
    b = PatchMatchGRUBackend(PatchMatchGRUConfig(iterations=2), features=PatchColourFeatures(),
                             refiner=_refiner())
    res = b.warp(identity_request(32, 32))
    assert res.timings["gru_enabled"] == 1.0
    assert res.correspondence.keys.shape == (16, 3, 32, 32)
    assert torch.allclose(res.correspondence.weights.sum(0), torch.ones(32, 32), atol=1e-5)


def test_gru_checkpoint_round_trip_and_mismatch(tmp_path):
    ref = _refiner()
    save_checkpoint(tmp_path / "ck", {"patchmatch_gru": (ref.config, ref)})
    b = create_backend("patchmatch-gru", features=PatchColourFeatures(),
                       checkpoint=str(tmp_path / "ck"), iterations=1)
    assert b.refiner is not None
    assert torch.equal(b.refiner.head[2].weight, ref.head[2].weight)
    with pytest.raises(CheckpointError, match="K=8"):
        PatchMatchGRUBackend(PatchMatchGRUConfig(), refiner=_refiner(k=8))
