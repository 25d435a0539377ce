"""``dense`` (CoCosNet) baseline: shapes, top-K keys, exclusion, refusing oversize cleanly."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from inference.correspondence import create_backend
from inference.correspondence.backends.dense import DenseBackend, DenseConfig, dense_memory_estimate
from inference.correspondence.base import MemoryBudgetError, WarpRequest, WarpSource
from inference.errors import BadInputError
from training.bench.toyscenes import make_pair
from training.evaluation.metrics import psnr


def test_shapes_resolution_and_top_k_correspondence():
    p = make_pair(0, 32, "translate")
    res = create_backend("dense", top_k=5).warp(p.request)
    assert res.warped.shape == (3, 32, 32)
    assert res.corr_resolution == (8, 8)
    corr = res.correspondence
    assert corr.keys.shape == (5, 3, 32, 32) and corr.weights.shape == (5, 32, 32)
    torch.testing.assert_close(corr.weights.sum(0), torch.ones(32, 32))
    assert (corr.weights[:-1] >= corr.weights[1:]).all()          # best first
    rows = corr.keys_at(10, 20)
    assert len(rows) == 5 and all(0 <= r[1] < 32 and 0 <= r[2] < 32 for r in rows)


def test_identity_reproduces_the_quarter_resolution_source():
    p = make_pair(1, 32, "flip")
    lab = p.request.target_labels
    req = WarpRequest([WarpSource(p.target_image, lab)], lab)
    res = create_backend("dense").warp(req)
    # The best dense can do is the H/4 image upsampled; it should get (very nearly) that.
    blur = F.interpolate(F.adaptive_avg_pool2d(p.target_image[None], 8), size=(32, 32),
                         mode="bilinear", align_corners=False)[0]
    assert psnr(res.warped, blur) > 30.0
    mean = p.target_image.mean((1, 2), keepdim=True).expand_as(p.target_image)
    assert psnr(res.warped, p.target_image) > psnr(mean, p.target_image) + 2.0


def test_excluded_cells_are_never_keys():
    p = make_pair(2, 32, "translate")
    exclude = torch.zeros(32, 32, dtype=torch.bool)
    exclude[8:20, 4:28] = True
    p.request.sources[0].exclude = exclude
    keys = create_backend("dense").warp(p.request).correspondence.keys
    assert not exclude[keys[:, 1], keys[:, 2]].any()


class _MustNotRun:
    name = "must-not-run"

    def __call__(self, request):
        raise AssertionError("features computed before the memory check")


def test_refuses_oversize_before_computing_anything():
    lab = torch.zeros(128, 128, dtype=torch.int64)
    req = WarpRequest([WarpSource(torch.rand(3, 128, 128), lab)], lab)
    backend = DenseBackend(DenseConfig(memory_budget_mb=1), features=_MustNotRun())
    with pytest.raises(MemoryBudgetError) as err:
        backend.warp(req)
    assert isinstance(err.value, BadInputError)
    assert err.value.estimate_bytes == dense_memory_estimate((128, 128), [(128, 128)])
    assert err.value.estimate_bytes == (32 * 32) ** 2 * 4
    assert err.value.budget_bytes == 2**20
    assert "MiB" in str(err.value)


def test_default_budget_refuses_1024_and_accepts_512():
    budget = DenseConfig().memory_budget_mb * 2**20
    assert dense_memory_estimate((1024, 1024), [(1024, 1024)]) > budget
    assert dense_memory_estimate((512, 512), [(512, 512)]) <= budget
