"""Key index sampling: exactness, class penalty, exclusion, validity, determinism, chunking."""

from __future__ import annotations

import math

import pytest
import torch

from inference.correspondence.atlas import SourceAtlas
from inference.correspondence.base import WarpSource
from inference.correspondence.sampling import KeyIndexSampler, SamplerConfig, dilate
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


def _particles_setup(h: int = 14, w: int = 17, m: int = 2):
    feats = channel_normalize(torch.randn(6, h, w, generator=_gen(5)))
    labels = torch.randint(0, 2, (h, w), generator=_gen(6))
    atlas = _atlas(labels)
    init = torch.stack([torch.randint(0, h, (m, h, w), generator=_gen(7)),
                        torch.randint(0, w, (m, h, w), generator=_gen(8))], 1)
    cfg = SamplerConfig(iterations=3, particles=m, samples=3, propagate="particles",
                        ladder=0.5, chunk_size=37)
    return feats, labels, atlas, init, cfg


def test_searching_every_query_as_a_list_gives_the_whole_grid_walk_bit_for_bit():
    feats, labels, atlas, init, cfg = _particles_setup()
    extra = torch.randint(0, labels.numel(), (*labels.shape, 2), generator=_gen(9))
    sampler = KeyIndexSampler(cfg)
    grid = sampler.sample(feats, labels, feats, atlas.key_class, _gen(1), init=init,
                          window_px=4.0, extra=extra)
    listed = sampler.sample(feats, labels, feats, atlas.key_class, _gen(1), init=init,
                            window_px=4.0, extra=extra,
                            active=torch.ones(labels.shape, dtype=torch.bool))
    assert torch.equal(grid.keys, listed.keys)
    assert torch.equal(grid.particles, listed.particles)


def test_inactive_queries_keep_their_particles_and_lend_them_to_active_neighbours():
    h, w = 20, 24
    feats = coord_features(h, w)
    labels = torch.zeros(h, w, dtype=torch.int64)
    atlas = _atlas(labels)
    yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    init = torch.stack([yy, xx])[None].clone()           # the identity: every query exact ...
    active = torch.zeros(h, w, dtype=torch.bool)
    active[6:14, 8:16] = True
    init[0, 0][active] = 0                               # ... but the active ones start wrong
    init[0, 1][active] = 0
    cfg = SamplerConfig(iterations=4, particles=1, samples=0, propagate="particles")
    out = KeyIndexSampler(cfg).sample(feats, labels, feats, atlas.key_class, _gen(), init=init,
                                      window_px=1.0, active=active)
    truth = (yy * w + xx)
    assert torch.equal(out.keys[:, ~active], truth[~active].expand(4, -1))
    # no random samples: only propagation from the exact inactive rim can fix the inside
    assert torch.equal(out.keys[-1][active], truth[active])


def test_searching_only_active_queries_needs_a_start_and_particle_propagation():
    feats, labels, atlas, init, cfg = _particles_setup()
    active = torch.ones(labels.shape, dtype=torch.bool)
    with pytest.raises(BadInputError, match="init particles"):
        KeyIndexSampler(cfg).sample(feats, labels, feats, atlas.key_class, _gen(),
                                    active=active)
    pools = SamplerConfig(iterations=2, particles=2, propagate="pools")
    with pytest.raises(BadInputError, match="propagate='particles'"):
        KeyIndexSampler(pools).sample(feats, labels, feats, atlas.key_class, _gen(), init=init,
                                      active=active)


def test_dilate_is_the_chebyshev_neighbourhood_clipped_at_the_border():
    """The CPU path (OpenCV) and the device path (max pooling) grow a mask alike: every pixel
    within ``r`` (max-norm) of a set pixel, nothing wraps or leaks from beyond the border."""
    gen = torch.Generator().manual_seed(0)
    for _ in range(30):
        h, w = torch.randint(1, 30, (2,), generator=gen).tolist()
        mask = torch.rand(h, w, generator=gen) < 0.05
        r = int(torch.randint(1, 5, (1,), generator=gen))
        ys, xs = torch.nonzero(mask, as_tuple=True)
        yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
        want = torch.zeros(h, w, dtype=torch.bool)
        for y, x in zip(ys.tolist(), xs.tolist()):
            want |= ((yy - y).abs() <= r) & ((xx - x).abs() <= r)
        assert torch.equal(dilate(mask, r), want)
        pooled = torch.nn.functional.max_pool2d(mask[None, None].float(), 2 * r + 1, 1, r)
        assert torch.equal(pooled[0, 0] > 0, want)
    assert torch.equal(dilate(mask, 0), mask)
