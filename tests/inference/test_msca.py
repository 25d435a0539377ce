"""``msca`` (paper 002): refuses without weights; with (random) weights, shapes and masking."""

from __future__ import annotations

import pytest
import torch

from inference.checkpoint import save_checkpoint
from inference.correspondence import create_backend
from inference.correspondence.backends.msca import MSCABackend, MSCAConfig, MSCANetwork
from inference.correspondence.base import WarpRequest, WarpSource
from inference.errors import CheckpointError
from tests.inference.baseline_helpers import texture, two_class_labels

SMALL = MSCAConfig(image_channels=8, label_channels=8, slots=4, label_scales=2,
                   encoder_channels=8, mlp_hidden=8)


def _net(seed: int = 0) -> MSCANetwork:
    torch.manual_seed(seed)
    return MSCANetwork(SMALL)


def _request(exclude=None) -> WarpRequest:
    img, lab = texture(1, 40, 48), two_class_labels(40, 48)
    return WarpRequest(sources=[WarpSource(img, lab, exclude)],
                       target_labels=two_class_labels(36, 44))


def test_without_weights_it_refuses_clearly():
    backend = create_backend("msca")
    with pytest.raises(CheckpointError, match="msca needs learned weights.*--checkpoint"):
        backend.warp(_request())


def test_with_random_weights_shapes():
    res = MSCABackend(network=_net()).warp(_request())
    corr = res.correspondence
    assert res.warped.shape == (3, 36, 44)
    assert corr.keys.shape == (4, 3, 36, 44)
    assert corr.weights.shape == (4, 36, 44)
    assert torch.allclose(corr.weights.sum(0), torch.ones(36, 44), atol=1e-5)
    assert corr.source_coords.shape == (3, 36, 44)
    assert res.corr_resolution == (36, 44)
    assert res.warped.min() >= 0 and res.warped.max() <= 1


def test_state_dict_weights_and_mismatch():
    net = _net(1)
    res = MSCABackend(weights=net.state_dict(), network_config=SMALL).warp(_request())
    ref = MSCABackend(network=net).warp(_request())
    assert torch.allclose(res.warped, ref.warped)
    with pytest.raises(CheckpointError, match="do not match"):
        MSCABackend(weights=net.state_dict())                  # default config: other shapes


def test_checkpoint_round_trip(tmp_path):
    net = _net(2)
    save_checkpoint(tmp_path / "ck", {"msca": (SMALL, net)})
    res = create_backend("msca", checkpoint=str(tmp_path / "ck")).warp(_request())
    assert torch.allclose(res.warped, MSCABackend(network=net).warp(_request()).warped)


def test_excluded_pixels_get_no_attention():
    h, w = 40, 48
    img = torch.zeros(3, h, w)
    img[2] = 1.0                        # blue everywhere ...
    img[:, :, :20] = 0.0
    img[0, :, :20] = 1.0                # ... except a red band, which is excluded
    exclude = torch.zeros(h, w, dtype=torch.bool)
    exclude[:, :20] = True
    req = WarpRequest(sources=[WarpSource(img, two_class_labels(h, w), exclude)],
                      target_labels=two_class_labels(h, w))
    res = MSCABackend(network=_net(3)).warp(req)
    assert res.warped[0].max() < 1e-3   # no red leaks in
    keys = res.correspondence.keys
    assert not exclude[keys[:, 1], keys[:, 2]].any()


def test_multi_source_keys_address_sources():
    a, b = texture(2, 30, 34), texture(3, 50, 20)
    req = WarpRequest(sources=[WarpSource(a, two_class_labels(30, 34)),
                               WarpSource(b, two_class_labels(50, 20))],
                      target_labels=two_class_labels(32, 32))
    keys = MSCABackend(network=_net(4)).warp(req).correspondence.keys
    for s, (h, w) in enumerate([(30, 34), (50, 20)]):
        sel = keys[:, 0] == s
        assert (keys[:, 1][sel] < h).all() and (keys[:, 2][sel] < w).all()
    assert set(keys[:, 0].unique().tolist()) <= {0, 1}
