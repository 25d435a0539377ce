"""Every training loss on tiny tensors, each with a property that a wrong implementation fails."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from inference.errors import BadInputError, ModelUnavailableError
from inference.networks.normalize import channel_normalize
from training.losses import (
    CONTEXTUAL,
    PERCEPTUAL,
    DiscriminatorConfig,
    LayerWeights,
    PatchDiscriminator,
    contextual_loss,
    contextual_similarity,
    cycle_loss,
    dense_attention_warp,
    domain_alignment_loss,
    feature_l1,
    hinge_d_loss,
    hinge_g_loss,
    l1_loss,
    load_vgg19,
)
from training.losses.vgg import VGG19Features


@pytest.fixture(scope="module")
def vgg():
    net, info = load_vgg19("random")
    assert info["weights"] == "random"
    return net


def test_l1_zero_for_identical_and_exact_otherwise():
    a = torch.rand(2, 3, 8, 8)
    assert l1_loss(a, a) == 0
    assert l1_loss(a, a + 0.25).item() == pytest.approx(0.25, abs=1e-6)


def test_vgg_layers_shapes_frozen_and_gradient_reaches_input(vgg):
    x = torch.rand(1, 3, 32, 32, requires_grad=True)
    feats = vgg(x, ["relu1_2", "relu4_2", "relu5_2"])
    assert feats["relu1_2"].shape == (1, 64, 32, 32)
    assert feats["relu4_2"].shape == (1, 512, 4, 4)
    assert feats["relu5_2"].shape == (1, 512, 2, 2)
    assert all(not p.requires_grad for p in vgg.parameters())
    feats["relu4_2"].sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    # The fallback is deterministic: every process and run gets the same "random" VGG.
    again, _ = load_vgg19("random")
    assert torch.equal(again.features[0].weight, vgg.features[0].weight)
    assert feats["relu5_2"].abs().mean() > 1e-4   # He init keeps deep layers alive
    with pytest.raises(ValueError):
        vgg(x, ["relu9_9"])


def test_vgg_loads_safetensors_and_checks_shapes(tmp_path):
    src = VGG19Features().randomise(seed=3)
    path = tmp_path / "vgg.safetensors"
    save_file({k: v.contiguous() for k, v in src.state_dict().items()}, str(path))
    net, info = load_vgg19(str(path))
    assert info["weights"] == str(path)
    assert torch.equal(net.features[28].weight, src.features[28].weight)
    bad = {k: v.contiguous() for k, v in src.state_dict().items()}
    bad["features.0.weight"] = torch.zeros(64, 3, 1, 1)
    save_file(bad, str(tmp_path / "bad.safetensors"))
    with pytest.raises(BadInputError, match="features.0.weight"):
        load_vgg19(str(tmp_path / "bad.safetensors"))
    with pytest.raises(BadInputError):
        load_vgg19(str(tmp_path / "missing.pth"))


def test_vgg_offline_falls_back_with_a_record(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    _, info = load_vgg19("hf:timm/vgg19.tv_in1k")
    assert info["weights"] == "random" and "reason" in info and info["seed"] == 0
    assert "FIXED RANDOM VGG-19" in capsys.readouterr().err
    with pytest.raises(ModelUnavailableError):
        load_vgg19("hf:timm/vgg19.tv_in1k", strict=True)


def test_perceptual_zero_for_identical_positive_otherwise_and_descends(vgg):
    torch.manual_seed(0)
    target = torch.rand(1, 3, 32, 32)
    fa = vgg(target, PERCEPTUAL.layers)
    assert feature_l1(fa, fa, PERCEPTUAL) == 0
    x = torch.rand(1, 3, 32, 32, requires_grad=True)
    before = feature_l1(vgg(x, PERCEPTUAL.layers), fa, PERCEPTUAL)
    assert before > 0
    before.backward()
    with torch.no_grad():
        x2 = x - 0.02 * x.grad / x.grad.abs().max()   # a small step downhill
    assert feature_l1(vgg(x2, PERCEPTUAL.layers), fa, PERCEPTUAL) < before


def test_contextual_loss_ignores_spatial_arrangement_but_not_content():
    torch.manual_seed(0)
    f = torch.randn(1, 16, 6, 6)
    perm = torch.randperm(36)
    shuffled = f.flatten(2)[..., perm].view(1, 16, 6, 6)
    spec = LayerWeights(("f",), (1.0,))
    same = contextual_loss({"f": f}, {"f": f}, spec)
    moved = contextual_loss({"f": shuffled}, {"f": f}, spec)
    other = contextual_loss({"f": torch.randn(1, 16, 6, 6)}, {"f": f}, spec)
    assert same < 0.01 and moved < 0.01            # non-aligned data is fine ...
    assert l1_loss(shuffled, f) > 0.5              # ... where a pixel loss is not
    assert other > 0.3
    cx = contextual_similarity(f.flatten(2), f.flatten(2))
    assert cx.shape == (1,) and cx.item() == pytest.approx(1.0, abs=1e-3)


def test_contextual_loss_pools_large_maps(vgg):
    x = torch.rand(1, 3, 32, 32)
    feats = vgg(x, CONTEXTUAL.layers)
    small = contextual_loss(feats, feats, CONTEXTUAL, max_positions=4)
    assert small.item() == pytest.approx(0.0, abs=0.05)


def test_domain_alignment_is_mean_absolute_difference():
    fx = channel_normalize(torch.randn(2, 8, 4, 4))
    assert domain_alignment_loss(fx, fx) == 0
    fc = channel_normalize(torch.randn(2, 8, 4, 4))
    assert domain_alignment_loss(fx, fc).item() == pytest.approx((fx - fc).abs().mean().item())


def _one_hot_features(h: int, w: int, up: int = 4) -> torch.Tensor:
    """Distinct orthogonal features per H/4 cell, upsampled (identity-consistent features)."""
    eye = torch.eye(h * w).view(1, h * w, h, w)
    return torch.nn.functional.interpolate(eye, scale_factor=up, mode="nearest")


def test_dense_warp_is_exact_for_matching_features():
    f = channel_normalize(_one_hot_features(3, 3, up=1))
    values = torch.rand(1, 3, 3, 3)
    out = dense_attention_warp(f, f, values, gamma=100.0)
    assert torch.allclose(out, values, atol=1e-4)
    flipped = dense_attention_warp(f.flip(-1), f, values, gamma=100.0)
    assert torch.allclose(flipped, values.flip(-1), atol=1e-4)


def test_cycle_loss_zero_when_identity_consistent_positive_otherwise():
    u = _one_hot_features(4, 4)                       # (1, 16, 16, 16), distinct per 4×4 cell
    x = torch.nn.functional.interpolate(torch.rand(1, 3, 4, 4), scale_factor=4, mode="nearest")
    assert cycle_loss(u, u, x).item() < 1e-4
    # A consistent permutation (target = flipped source) also cycles back exactly.
    assert cycle_loss(u, u.flip(-1), x).item() < 1e-4
    flat = torch.zeros(1, 2, 16, 16)
    flat[:, 0] = 1.0                                  # one feature everywhere: attention blurs
    assert cycle_loss(flat, flat, x).item() > 0.05


def test_hinge_values_at_known_logits():
    two, zero = torch.full((4,), 2.0), torch.zeros(4)
    assert hinge_d_loss(two, -two) == 0                       # confident and right: no loss
    assert hinge_d_loss(zero, zero).item() == pytest.approx(2.0)
    assert hinge_d_loss(-two, two).item() == pytest.approx(6.0)
    assert hinge_g_loss(torch.tensor([3.0, 1.0])).item() == pytest.approx(-2.0)


def test_discriminator_shape_spectral_norm_and_conditioning():
    torch.manual_seed(0)
    d = PatchDiscriminator(DiscriminatorConfig.tiny())
    y = torch.rand(2, 3, 32, 48)
    c = torch.randint(0, 151, (2, 32, 48))
    m = torch.zeros(2, 1, 32, 48)
    out = d(y, c, m)
    assert out.shape == (2, 1, 4, 6)                          # one logit per patch
    assert any(hasattr(mod, "weight_orig") for mod in d.modules())
    d.eval()
    assert not torch.allclose(d(y, c, m), d(y, c, torch.ones_like(m)))   # sees the mask
    assert not torch.allclose(d(y, c, m), d(y, torch.zeros_like(c), m))  # sees the layout
