"""``hrs`` / ``hrs-ms`` backends and the registry: identity, multi-source, exclusion, API."""

from __future__ import annotations

import pytest
import torch

from inference.correspondence import BACKENDS, create_backend, sampler_backends, takes_sampler
from inference.correspondence.backends.hrs import HRSBackend, HRSConfig
from inference.correspondence.backends.hrs_ms import HRSMultiScaleBackend
from inference.correspondence.base import FeatureMaps, WarpRequest, WarpSource
from inference.correspondence.sampling import SamplerConfig
from inference.defaults import WARP_NAMES
from inference.errors import BadInputError, CancelledError
from inference.progress import CancelToken
from training.bench.toyscenes import make_pair
from training.evaluation.metrics import psnr


def _identity_request(size: int = 32, seed: int = 0) -> WarpRequest:
    p = make_pair(seed, size, "flip")
    lab = p.request.target_labels
    return WarpRequest([WarpSource(p.target_image, lab)], lab, seed=seed)


def test_registry_knows_the_three_backends_and_rejects_unknowns():
    assert {"hrs", "hrs-ms", "dense"} <= set(BACKENDS)
    assert isinstance(create_backend("hrs", iterations=3), HRSBackend)
    assert isinstance(create_backend("hrs-ms"), HRSMultiScaleBackend)
    with pytest.raises(BadInputError, match="unknown warp backend"):
        create_backend("nope")
    with pytest.raises(BadInputError, match="no setting bogus"):
        create_backend("hrs", bogus=1)


def test_registry_names_are_the_light_name_list_and_sampler_backends_come_from_configs():
    assert tuple(BACKENDS) == WARP_NAMES   # the CLI offers WARP_NAMES without importing torch
    assert sampler_backends() == ("hrs", "hrs-ms")
    assert not takes_sampler("dense") and not takes_sampler("nope")


def test_sampler_fields_go_flat_or_nested_into_the_one_sampler_config():
    flat = create_backend("hrs-ms", iterations=4, particles=3, fine_iterations=2)
    nested = create_backend("hrs-ms", sampler=SamplerConfig(iterations=4, particles=3,
                                                            propagate="particles"),
                            fine_iterations=2)
    assert flat.coarse.config == nested.coarse.config
    assert flat.coarse.config.iterations == 4 and flat.fine.config.iterations == 2
    assert flat.fine.config.particles == 3 and flat.fine.config.window_decay == 0.5
    with pytest.raises(BadInputError, match="no setting iterations"):
        create_backend("dense", iterations=3)


@pytest.mark.parametrize("name", ["hrs", "hrs-ms"])
def test_identity_warp_recovers_the_source(name):
    req = _identity_request()
    res = create_backend(name).warp(req)
    assert res.warped.shape == (3, 32, 32)
    assert res.backend == name and res.corr_resolution == (32, 32)
    assert psnr(res.warped, req.sources[0].image) > 40.0
    sc = res.correspondence.source_coords
    yy, xx = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
    assert ((sc[1] == yy) & (sc[2] == xx)).float().mean() > 0.95


def test_correspondence_shapes_and_keys_at():
    cfg = HRSConfig(sampler=SamplerConfig(iterations=4, particles=2))
    res = HRSBackend(cfg).warp(_identity_request(16))
    corr = res.correspondence
    assert corr.keys.shape == (8, 3, 16, 16) and corr.keys.dtype == torch.int64
    assert corr.weights.shape == (8, 16, 16)
    torch.testing.assert_close(corr.weights.sum(0), torch.ones(16, 16))
    rows = corr.keys_at(3, 5)
    assert len(rows) == 8
    assert rows[0][3] >= rows[-1][3]
    assert all(r[0] == 0 and 0 <= r[1] < 16 and 0 <= r[2] < 16 for r in rows)


def test_hrs_ms_keeps_particles_times_fine_iterations_keys():
    res = create_backend("hrs-ms", fine_iterations=2, particles=3).warp(_identity_request(24))
    assert res.correspondence.keys.shape[0] == 6


@pytest.mark.parametrize("name", ["hrs", "hrs-ms"])
def test_multi_source_keys_point_into_the_right_source(name):
    h, w = 24, 24
    lab_a = torch.full((20, 16), 4, dtype=torch.int64)           # source 0: only class 4
    lab_b = torch.full((12, 28), 9, dtype=torch.int64)           # source 1: only class 9
    srcs = [WarpSource(torch.full((3, 20, 16), 0.2), lab_a),
            WarpSource(torch.full((3, 12, 28), 0.8), lab_b)]
    tgt = torch.full((h, w), 4, dtype=torch.int64)
    tgt[:, w // 2:] = 9
    res = create_backend(name, iterations=4).warp(WarpRequest(srcs, tgt))
    keys = res.correspondence.keys                                 # (K, 3, H, W)
    s, y, x = keys[:, 0], keys[:, 1], keys[:, 2]
    best = res.correspondence.source_coords[0]
    assert (best[:, : w // 2] == 0).all() and (best[:, w // 2:] == 1).all()
    assert ((s == 0) | (s == 1)).all()
    assert (y[s == 0] < 20).all() and (x[s == 0] < 16).all()
    assert (y[s == 1] < 12).all() and (x[s == 1] < 28).all()
    torch.testing.assert_close(res.warped[:, :, : w // 2], torch.full((3, h, w // 2), 0.2))
    torch.testing.assert_close(res.warped[:, :, w // 2:], torch.full((3, h, w // 2), 0.8))


def test_hrs_ms_refines_only_the_unknown_pixels_and_a_rim_around_them():
    req = make_pair(1, 48, "translate").request
    known = torch.ones(48, 48, dtype=torch.bool)
    known[20:28, 18:26] = False
    req.target_known = known
    backend = create_backend("hrs-ms", fine_iterations=3, particles=2, fine_rim=4)
    keys = backend.warp(req).correspondence.keys.view(3, 2, 3, 48, 48)   # iteration, particle
    fixed = (keys == keys[:1]).all(0).all(0).all(0)      # the same key at every fine iteration
    rim = torch.zeros_like(known)
    rim[16:32, 14:30] = True                             # the unknown pixels grown by 4
    assert fixed[~rim].all()                             # beyond the rim: the coarse solution
    assert not fixed[~known].all()                       # the unknown pixels were refined
    # progress runs to the end through the fine stage's list walk too
    seen = []
    backend.warp(req, progress=lambda d, n: seen.append((d, n)))
    assert seen[-1] == (18, 18)                          # 15 coarse + 3 fine iterations
    # without target_known (or with fine_rim=None) the fine stage runs everywhere
    whole = create_backend("hrs-ms", fine_iterations=3, particles=2, fine_rim=None).warp(req)
    k2 = whole.correspondence.keys.view(3, 2, 3, 48, 48)
    assert not (k2 == k2[:1]).all(0).all(0).all(0)[~rim].all()


@pytest.mark.parametrize("name", ["hrs", "hrs-ms"])
def test_reconstruction_mode_never_copies_from_the_mask(name):
    req = _identity_request(32)
    exclude = torch.zeros(32, 32, dtype=torch.bool)
    exclude[8:24, 10:22] = True
    req.sources[0].exclude = exclude
    keys = create_backend(name).warp(req).correspondence.keys
    assert not exclude[keys[:, 1], keys[:, 2]].any()


def test_same_seed_same_warp_other_seed_other_keys():
    p = make_pair(3, 32, "translate")
    b = create_backend("hrs", iterations=5)
    a, again = b.warp(p.request), b.warp(p.request)
    assert torch.equal(a.correspondence.keys, again.correspondence.keys)
    other = create_backend("hrs", iterations=5, seed=99).warp(p.request)
    assert not torch.equal(a.correspondence.keys, other.correspondence.keys)


def test_progress_and_cancel():
    calls = []
    create_backend("hrs", iterations=3).warp(_identity_request(16),
                                             progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (3, 3)
    token = CancelToken()
    token.cancel()
    with pytest.raises(CancelledError):
        create_backend("hrs-ms").warp(_identity_request(16), cancel=token)


def test_mismatched_features_are_a_clear_error():
    req = _identity_request(16)
    maps = FeatureMaps(sources=[torch.zeros(4, 16, 16)], target=torch.zeros(4, 15, 16))
    with pytest.raises(BadInputError, match="target features"):
        create_backend("hrs").warp_with_features(req, maps)
    bad = WarpRequest([WarpSource(torch.rand(3, 8, 8), torch.zeros(8, 9, dtype=torch.int64))],
                      torch.zeros(8, 8, dtype=torch.int64))
    with pytest.raises(BadInputError, match="do not match"):
        create_backend("hrs").warp(bad)
