from __future__ import annotations

import numpy as np
import pytest
import torch

from inference.checkpoint import save_checkpoint
from inference.networks.coarse import ContextualAttention
from inference.networks.correspondence_net import CorrespondenceNet, CorrespondenceNetConfig
from inference.networks.generator import GeneratorConfig, ManipulationGenerator
from inference.pipeline.editor import EditSettings, LayoutEditor
from inference.pipeline.models import EngineModels
from training.synth import generate_scene


def _inputs(b=2, h=32, w=48, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(b, 3, h, w, generator=g)
    c = torch.randint(0, 151, (b, h, w), generator=g)
    m = torch.zeros(b, 1, h, w)
    m[:, :, 8:20, 10:30] = 1
    return x, c, m, x * (1 - m)


def test_generator_shapes_range_and_stages():
    torch.manual_seed(0)
    gen = ManipulationGenerator(GeneratorConfig.tiny())
    x, c, m, known = _inputs()
    y, y_coarse = gen(x, c, m, known)
    assert y.shape == y_coarse.shape == (2, 3, 32, 48)
    assert float(y.detach().min()) >= 0.0 and float(y.detach().max()) <= 1.0
    y1, yc1 = gen(x, c, m, known, stage=1)
    assert torch.equal(y1, yc1) and torch.allclose(yc1, y_coarse)
    assert not torch.allclose(y, y_coarse)  # the refinement stage does something


def test_gradients_reach_both_stages():
    gen = ManipulationGenerator(GeneratorConfig.tiny())
    x, c, m, known = _inputs()
    y, y_coarse = gen(x, c, m, known)
    (y.mean() + y_coarse.mean()).backward()
    for name in ("semantic", "layout", "coarse", "refine"):
        grads = [p.grad for p in getattr(gen, name).parameters()]
        assert any(g is not None and g.abs().sum() > 0 for g in grads), name


def test_contextual_attention_copies_only_from_known_region():
    att = ContextualAttention(patch=1, rate=1, softmax_scale=50.0)
    feats = torch.zeros(1, 2, 8, 8)
    feats[0, 0, :, :4] = 1.0   # known region: a constant feature
    feats[0, 1, :, 4:] = 5.0   # the hole holds a very different value that must not be copied
    mask = torch.zeros(1, 1, 8, 8)
    mask[..., 4:] = 1
    out = att(feats, mask)
    assert torch.allclose(out[0, 1, :, 4:], torch.zeros(8, 4), atol=1e-4)
    assert torch.allclose(out[0, 0, :, 4:], torch.ones(8, 4), atol=1e-3)


def test_editor_runs_generator_path_from_checkpoint(tmp_path):
    torch.manual_seed(0)
    gcfg, ccfg = GeneratorConfig.tiny(), CorrespondenceNetConfig.tiny()
    save_checkpoint(tmp_path / "ck", {"generator": (gcfg, ManipulationGenerator(gcfg)),
                                      "correspondence": (ccfg, CorrespondenceNet(ccfg))})
    models = EngineModels.from_checkpoint(str(tmp_path / "ck"))
    assert models.generator is not None and models.feature_provider is not None
    img, lab = generate_scene(4, (60, 84))   # not multiples of 8: the engine pads
    edited = lab.copy()
    edited[10:30, 20:50] = lab[0, 0]
    res = LayoutEditor(EditSettings(warp="hrs-ms", working_size=64, iterations=3),
                       models).edit(img, edited, lab)
    assert res.route == "generator" and res.image.shape == img.shape
    np.testing.assert_array_equal(res.image[~res.mask], img[~res.mask])   # Eq. 6
    assert (res.image[res.mask] != img[res.mask]).any()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_generator_on_cuda_matches_cpu():
    gen = ManipulationGenerator(GeneratorConfig.tiny()).eval()
    x, c, m, known = _inputs()
    with torch.no_grad():
        y_cpu, _ = gen(x, c, m, known)
        y_gpu, _ = gen.cuda()(x.cuda(), c.cuda(), m.cuda(), known.cuda())
    torch.testing.assert_close(y_gpu.cpu(), y_cpu, atol=1e-4, rtol=1e-3)
