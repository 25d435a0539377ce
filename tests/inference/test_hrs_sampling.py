"""Key index sampling: exactness, class penalty, exclusion, validity, determinism, chunking."""

from __future__ import annotations

import math

import pytest
import torch

from inference.correspondence.atlas import SourceAtlas
from inference.correspondence.base import WarpSource
from inference.correspondence.sampling import KeyIndexSampler, SamplerConfig
from inference.errors import BadInputError
from inference.networks.normalize import channel_normalize


def coord_features(h: int, w: int, size: int = 32) -> torch.Tensor:
    """Smooth, unique per-pixel features: a Fourier encoding of (y, x). ``(C, H, W)``."""
    yy, xx = torch.meshgrid(torch.arange(h).float(), torch.arange(w).float(), indexing="ij")
    ch = []
    for f in (1, 2, 4):
        for c in (yy, xx):
            a = math.pi * f * c / size
            ch += [torch.sin(a), torch.cos(a)]
    return channel_normalize(torch.stack(ch))


def _gen(seed: int = 0) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(seed)
    return g


def _atlas(labels: torch.Tensor, exclude: torch.Tensor | None = None) -> SourceAtlas:
    img = torch.rand(3, *labels.shape)
    return SourceAtlas.build([WarpSource(img, labels, exclude)])


def test_identity_features_find_every_pixel_itself():
    h, w = 20, 24
    feats = coord_features(h, w)
    labels = torch.zeros(h, w, dtype=torch.int64)
    atlas = _atlas(labels)
    sampler = KeyIndexSampler(SamplerConfig(iterations=8))
    out = sampler.sample(feats, labels, feats, atlas.key_class, _gen())
    truth = torch.arange(h * w).view(h, w)
    final = out.keys[-2:]                                # the last iteration's M particles
    assert out.keys.shape == (2 * 8, h, w)
    assert (final == truth).float().mean() > 0.99
    assert out.particles.shape == (2, 2, h, w)


def test_class_penalty_keeps_keys_in_class():
    h, w = 16, 16
    src_lab = torch.zeros(h, w, dtype=torch.int64)
    src_lab[:, w // 2:] = 1
    tgt_lab = 1 - src_lab                                # classes swapped left/right
    feats = coord_features(h, w)                         # features alone say "same position"
    atlas = _atlas(src_lab)

    def final_in_class(penalty: float) -> float:
        cfg = SamplerConfig(iterations=6, class_penalty=penalty)
        keys = KeyIndexSampler(cfg).sample(feats, tgt_lab, feats, atlas.key_class, _gen()).keys
        kcls = atlas.key_class.reshape(-1)[keys[-2:]]
        return float((kcls == tgt_lab).float().mean())

    assert final_in_class(10.0) == 1.0
    assert final_in_class(0.0) < 0.5                     # the test can fail without the penalty


def test_exclusion_mask_is_never_a_key():
    h, w = 16, 16
    labels = torch.zeros(h, w, dtype=torch.int64)
    exclude = torch.zeros(h, w, dtype=torch.bool)
    exclude[4:12, 4:12] = True                           # where the best matches would be
    feats = coord_features(h, w)
    atlas = _atlas(labels, exclude)
    keys = KeyIndexSampler(SamplerConfig(iterations=6)).sample(
        feats, labels, feats, atlas.key_class, _gen()).keys
    assert not exclude.reshape(-1)[keys].any()
    # Outside the hole the identity is still found.
    final = keys[-1]
    assert (final == torch.arange(h * w).view(h, w))[~exclude].float().mean() > 0.95


def test_padding_of_a_smaller_source_is_never_a_key():
    big = torch.zeros(12, 10, dtype=torch.int64)
    small = torch.zeros(5, 6, dtype=torch.int64)
    atlas = SourceAtlas.build([WarpSource(torch.rand(3, 12, 10), big),
                               WarpSource(torch.rand(3, 5, 6), small)])
    assert (atlas.key_class < 0).sum() == 7 * 6          # padding under the small source
    feats = torch.randn(8, atlas.height, atlas.width)
    tgt = channel_normalize(torch.randn(8, 9, 9))
    keys = KeyIndexSampler(SamplerConfig(iterations=5, samples=4)).sample(
        tgt, torch.zeros(9, 9, dtype=torch.int64), channel_normalize(feats),
        atlas.key_class, _gen()).keys
    assert (atlas.key_class.reshape(-1)[keys] >= 0).all()


def test_seeded_determinism_and_independence_of_chunk_size():
    h, w = 18, 14
    feats = channel_normalize(torch.randn(6, h, w))
    labels = torch.zeros(h, w, dtype=torch.int64)
    atlas = _atlas(labels)

    def run(seed: int, chunk: int) -> torch.Tensor:
        cfg = SamplerConfig(iterations=4, chunk_size=chunk)
        return KeyIndexSampler(cfg).sample(feats, labels, feats, atlas.key_class,
                                           _gen(seed)).keys

    a = run(3, 8192)
    assert torch.equal(a, run(3, 8192))
    assert torch.equal(a, run(3, 2 * w))                 # bands of 2 rows: same answer
    assert not torch.equal(a, run(4, 8192))


def test_peak_intermediate_is_bounded_by_chunk_size_not_image_size():
    cfg = SamplerConfig(iterations=2, particles=2, samples=2, chunk_size=64)
    per_query = cfg.particles * 5 * (1 + cfg.samples) * 4     # candidates × C
    peaks = []
    for h, w in ((16, 16), (64, 64)):
        feats = channel_normalize(torch.randn(4, h, w))
        labels = torch.zeros(h, w, dtype=torch.int64)
        sampler = KeyIndexSampler(cfg)
        sampler.sample(feats, labels, feats, _atlas(labels).key_class, _gen())
        peaks.append(sampler.max_chunk_elements)
    assert peaks[0] == peaks[1] <= 64 * per_query


def test_everything_excluded_is_a_clear_error():
    labels = torch.zeros(6, 6, dtype=torch.int64)
    atlas = _atlas(labels, torch.ones(6, 6, dtype=torch.bool))
    feats = channel_normalize(torch.randn(4, 6, 6))
    with pytest.raises(BadInputError, match="excluded"):
        KeyIndexSampler().sample(feats, labels, feats, atlas.key_class, _gen())


def test_class_aware_init_starts_in_class():
    h, w = 10, 10
    src_lab = torch.zeros(h, w, dtype=torch.int64)
    src_lab[:2, :2] = 7                                  # a tiny region of class 7
    tgt_lab = torch.full((h, w), 7, dtype=torch.int64)
    atlas = _atlas(src_lab)
    ty, tx = KeyIndexSampler().random_init(tgt_lab.reshape(-1), atlas.key_class.reshape(-1),
                                           atlas.width, h, w, _gen())
    assert (ty < 2).all() and (tx < 2).all()
