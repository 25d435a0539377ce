"""Sparse attentive warping: reference equality, gradients, chunking, batching, penalty."""

from __future__ import annotations

import torch

from inference.correspondence.sparse_warp import WarpStats, sparse_attentive_warp
from inference.networks.normalize import channel_normalize


def _inputs(b=2, c=5, h=6, w=7, hs=5, ws=8, k=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    tf = channel_normalize(torch.randn(b, c, h, w, generator=g))
    sf = channel_normalize(torch.randn(b, c, hs, ws, generator=g))
    vals = torch.rand(b, 3, hs, ws, generator=g)
    keys = torch.randint(0, hs * ws, (b, k, h, w), generator=g)
    return tf, sf, vals, keys


def _reference(tf, sf, vals, keys, gamma):
    b, c, h, w = tf.shape
    out = torch.zeros(b, vals.shape[1], h, w)
    for bi in range(b):
        for y in range(h):
            for x in range(w):
                kk = keys[bi, :, y, x]
                f = sf[bi].reshape(c, -1)[:, kk]                   # (C, K)
                a = torch.softmax(gamma * (tf[bi, :, y, x] @ f), 0)
                out[bi, :, y, x] = vals[bi].reshape(vals.shape[1], -1)[:, kk] @ a
    return out


def test_matches_a_per_pixel_reference_and_weights_sum_to_one():
    tf, sf, vals, keys = _inputs()
    out = sparse_attentive_warp(tf, sf, vals, keys, gamma=10.0, chunk_size=9)
    assert out.warped.shape == (2, 3, 6, 7)
    assert out.weights.shape == (2, 4, 6, 7)
    torch.testing.assert_close(out.warped, _reference(tf, sf, vals, keys, 10.0))
    torch.testing.assert_close(out.weights.sum(1), torch.ones(2, 6, 7))


def test_single_key_copies_the_source_pixel():
    tf, sf, vals, keys = _inputs(k=1)
    out = sparse_attentive_warp(tf, sf, vals, keys)
    expect = torch.stack([vals[b].reshape(3, -1)[:, keys[b, 0].reshape(-1)].reshape(3, 6, 7)
                          for b in range(2)])
    torch.testing.assert_close(out.warped, expect)


def test_gradients_reach_both_feature_maps_and_chunking_does_not_change_them():
    grads = []
    for chunk in (5, 10_000):
        tf, sf, vals, keys = _inputs()
        tf.requires_grad_(True)
        sf.requires_grad_(True)
        out = sparse_attentive_warp(tf, sf, vals, keys, gamma=10.0, chunk_size=chunk)
        (out.warped * torch.linspace(0, 1, 7)).sum().backward()
        assert tf.grad is not None and tf.grad.abs().sum() > 0
        assert sf.grad is not None and sf.grad.abs().sum() > 0
        grads.append((tf.grad.clone(), sf.grad.clone()))
    torch.testing.assert_close(grads[0][0], grads[1][0])
    torch.testing.assert_close(grads[0][1], grads[1][1])


def test_batched_equals_one_sample_at_a_time():
    tf, sf, vals, keys = _inputs(b=2)
    both = sparse_attentive_warp(tf, sf, vals, keys).warped
    one = sparse_attentive_warp(tf[1:], sf[1:], vals[1:], keys[1:]).warped
    torch.testing.assert_close(both[1:], one)


def test_class_penalty_silences_keys_of_another_class():
    tf, sf, vals, keys = _inputs(b=1, k=6)
    tcls = torch.zeros(1, 6, 7, dtype=torch.int64)
    scls = torch.randint(0, 2, (1, 5, 8))
    scls.reshape(-1)[keys[0, 0].reshape(-1)] = 0          # at least one in-class key per query
    out = sparse_attentive_warp(tf, sf, vals, keys, target_classes=tcls, source_classes=scls,
                                class_penalty=10.0)
    wrong = scls.reshape(-1)[keys.reshape(-1)].view(keys.shape) != 0
    assert wrong.any()
    assert out.weights[wrong].max() < 1e-6


def test_largest_intermediate_is_bounded_by_the_chunk():
    peaks = []
    for h in (8, 32):
        tf, sf, vals, keys = _inputs(b=1, h=h, w=h)
        stats = WarpStats()
        sparse_attentive_warp(tf, sf, vals, keys, chunk_size=16, stats=stats)
        peaks.append(stats.max_chunk_elements)
    assert peaks[0] == peaks[1] <= 16 * 4 * 5
