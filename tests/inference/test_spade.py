"""SPADE blocks, the learned correspondence networks and the ``LearnedFeatures`` provider."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from inference.correspondence.base import WarpRequest, WarpSource
from inference.correspondence.learned import LearnedFeatures
from inference.correspondence.sparse_warp import sparse_attentive_warp
from inference.errors import CheckpointError, LabelMapError
from inference.networks.correspondence_net import CorrespondenceNet, CorrespondenceNetConfig
from inference.networks.spade import SPADE, SPADEResBlock


def test_spade_with_zero_modulation_is_plain_instance_norm():
    torch.manual_seed(0)
    spade = SPADE(6, 3)
    for conv in (spade.gamma, spade.beta):
        nn.init.zeros_(conv.weight)
        nn.init.zeros_(conv.bias)
    x = torch.randn(2, 6, 8, 8) * 3 + 1
    out = spade(x, torch.randn(2, 3, 4, 4))              # conditioning resized to 8×8
    torch.testing.assert_close(out, nn.functional.instance_norm(x))


def test_spade_resblock_shapes_shortcut_and_gradients():
    block = SPADEResBlock(4, 7, cond_channels=2)
    assert block.learned_shortcut
    assert not SPADEResBlock(5, 5, 2).learned_shortcut
    x = torch.randn(1, 4, 6, 10)
    cond = torch.randn(1, 2, 6, 10, requires_grad=True)
    out = block(x, cond)
    assert out.shape == (1, 7, 6, 10)
    out.square().mean().backward()
    assert cond.grad is not None and cond.grad.abs().sum() > 0


def test_correspondence_net_shapes_normalisation_and_odd_sizes():
    net = CorrespondenceNet(CorrespondenceNetConfig.tiny())
    img = torch.rand(2, 3, 30, 22)
    lab = torch.randint(0, 151, (2, 30, 22))
    out = net(img, lab, lab, img, torch.ones(2, 30, 22, dtype=torch.bool))
    assert out.fx.shape == (2, 8, 8, 6) and out.fc.shape == (2, 8, 8, 6)
    assert out.ux.shape == (2, 8, 30, 22) and out.uc.shape == (2, 8, 30, 22)
    torch.testing.assert_close(out.ux.norm(dim=1), torch.ones(2, 30, 22), atol=1e-4, rtol=0)
    torch.testing.assert_close(out.uc.mean(dim=1), torch.zeros(2, 30, 22), atol=1e-5, rtol=0)


def test_warp_gradients_reach_the_network_weights():
    torch.manual_seed(0)
    net = CorrespondenceNet(CorrespondenceNetConfig.tiny())
    img = torch.rand(1, 3, 16, 16)
    lab = torch.randint(0, 5, (1, 16, 16))
    out = net(img, lab, lab)
    keys = torch.randint(0, 256, (1, 6, 16, 16))
    warped = sparse_attentive_warp(out.uc, out.ux, img, keys, gamma=10.0).warped
    (warped - img).abs().mean().backward()
    assert net.adapt_c.net[0][0].weight.grad.abs().sum() > 0   # Fc
    assert net.adapt_x.net[0][0].weight.grad.abs().sum() > 0   # Fx
    assert net.up_c.out.weight.grad.abs().sum() > 0             # Uc
    assert net.up_x.out.weight.grad.abs().sum() > 0             # Ux


def test_learned_features_from_state_dict_round_trip_and_shape_errors():
    cfg = CorrespondenceNetConfig.tiny()
    weights = CorrespondenceNet(cfg).state_dict()
    provider = LearnedFeatures.from_state_dict(cfg, weights)
    lab = torch.randint(0, 151, (12, 20))
    req = WarpRequest([WarpSource(torch.rand(3, 12, 20), lab)], lab[:, :16],
                      target_image=torch.rand(3, 12, 16))
    maps = provider(req)
    assert maps.sources[0].shape == (8, 12, 20) and maps.target.shape == (8, 12, 16)
    bad = dict(weights)
    bad["embed.weight"] = torch.zeros(3, 3)
    with pytest.raises(CheckpointError, match="embed.weight"):
        LearnedFeatures.from_state_dict(cfg, bad)
    with pytest.raises(CheckpointError, match="missing"):
        LearnedFeatures.from_state_dict(cfg, {})
    req.target_labels = torch.full((12, 16), 200)
    with pytest.raises(LabelMapError, match="200"):
        provider(req)
