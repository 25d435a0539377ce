"""Training data: augmentations, retrieval, the two stage datasets, the resumable sampler, the
decoded-image cache and ``python -m training label``, on a synthetic ADE20K-layout folder."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from training.__main__ import main as training_main
from training.data.ade20k import ADE20KFolder
from training.data.augment import AffineConfig, random_affine
from training.data.datasets import CorrespondencePairs, DataConfig, ManipulationSamples
from training.data.loader import InfiniteSampler, make_loader
from training.data.retrieval import CACHE_DIR, nearest_neighbours
from training.synth import write_dataset


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    write_dataset(root, 8, 64, seed=3, val_fraction=0.25)
    return root


CFG = DataConfig(size=32, workers=0)


def test_affine_identity_flip_and_label_consistency():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (16, 20, 3), dtype=np.uint8)
    lab = rng.integers(0, 151, (16, 20), dtype=np.uint8)
    same = random_affine(rgb, lab, rng, AffineConfig(translate=0.0, flip=0.0))
    assert np.array_equal(same[0], rgb) and np.array_equal(same[1], lab)
    flipped = random_affine(rgb, lab, rng, AffineConfig(translate=0.0, flip=1.0))
    assert np.array_equal(flipped[0], rgb[:, ::-1]) and np.array_equal(flipped[1], lab[:, ::-1])
    _, moved = random_affine(rgb, lab, rng, AffineConfig(translate=0.3, flip=0.5,
                                                           scale=(0.8, 1.2)))
    assert moved.shape == lab.shape and set(np.unique(moved)) <= set(np.unique(lab))


def test_nearest_neighbours_prefers_similar_histograms():
    h = np.array([[1, 0, 0], [0.9, 0.1, 0], [0, 0, 1], [0, 0.2, 0.8]], np.float32)
    nn_ = nearest_neighbours(h, 1, block=3)
    assert nn_[:, 0].tolist() == [1, 0, 3, 2]
    assert (nearest_neighbours(h, 10) != np.arange(4)[:, None]).all()   # never itself


def test_correspondence_pairs_shapes_determinism_and_retrieval_cache(synth, monkeypatch):
    ds = CorrespondencePairs(synth, CFG, seed=1)
    cache = synth / CACHE_DIR / "retrieval-training-k5.json"
    assert cache.is_file()
    item = ds[(2, 17)]
    for k in ("x0", "x1", "x2"):
        assert item[k].shape == (3, 32, 32) and item[k].dtype == torch.float32
        assert float(item[k].min()) >= 0.0 and float(item[k].max()) <= 1.0
    for k in ("c0", "c1", "c2"):
        assert item[k].shape == (32, 32) and item[k].dtype == torch.int64
    assert item["m"].shape == (1, 32, 32)
    assert int(item["retrieved"]) != 2
    assert not torch.equal(item["x0"], item["x1"])          # the pseudo pair is augmented
    again = ds[(2, 17)]
    assert all(torch.equal(item[k], again[k]) for k in item)   # same position, same sample
    other = ds[(2, 18)]
    assert not torch.equal(item["x1"], other["x1"])
    # The cached index is reused, not rebuilt.
    import training.data.retrieval as retrieval

    monkeypatch.setattr(retrieval, "label_histogram", lambda _: 1 / 0)
    assert (CorrespondencePairs(synth, CFG, seed=1).neighbours == ds.neighbours).all()


def test_manipulation_samples_eq8_inputs(synth):
    cfg = dataclasses.replace(CFG, shift=AffineConfig(translate=0.0, flip=1.0))
    item = ManipulationSamples(synth, cfg, seed=0)[(1, 5)]
    assert torch.equal(item["x1s"], item["x1"].flip(-1))     # x̃1 = flip of x1
    assert torch.equal(item["c1s"], item["c1"].flip(-1))
    m = item["m"]
    assert m.shape == (1, 32, 32) and set(m.unique().tolist()) <= {0.0, 1.0}
    assert 0.0 < float(m.mean()) < 0.8


def test_infinite_sampler_partitions_ranks_and_resumes():
    full = InfiniteSampler(5, seed=2)
    it = iter(full)
    stream = [next(it) for _ in range(12)]
    assert sorted(i for i, _ in stream[:5]) == list(range(5))   # each epoch is a permutation
    r0, r1 = iter(InfiniteSampler(5, 2, 0, 0, 2)), iter(InfiniteSampler(5, 2, 0, 1, 2))
    pos = [next(r0)[1] for _ in range(3)] + [next(r1)[1] for _ in range(3)]
    assert sorted(pos) == list(range(6))                         # disjoint, complete
    resumed = iter(InfiniteSampler(5, seed=2, start=7))
    assert [next(resumed) for _ in range(5)] == stream[7:12]


def test_loader_with_workers_and_decoded_cache_match_plain_loading(synth):
    plain = ManipulationSamples(synth, CFG, seed=0)
    cached_cfg = dataclasses.replace(CFG, cache_decoded=True, workers=1)
    cached = ManipulationSamples(synth, cached_cfg, seed=0)
    batch_a = next(iter(make_loader(plain, 2, 0, 3, 0, 1, 0, False)))
    batch_b = next(iter(make_loader(cached, 2, 0, 3, 0, 1, 1, False)))
    assert batch_a["x1"].shape == (2, 3, 32, 32)
    assert all(torch.equal(batch_a[k], batch_b[k]) for k in batch_a)
    files = list((synth / CACHE_DIR).glob("decoded-training-*/*.npy"))
    assert len(files) >= 2
    assert all(torch.equal(cached[(i, 9)]["x1"], plain[(i, 9)]["x1"]) for i in range(2))


def test_label_command_writes_an_ade20k_folder(tmp_path, capsys):
    from inference.imageio import save_image
    from tests.inference.test_parser_models import build_colour_model, halves

    photos = tmp_path / "photos"
    save_image(photos / "a.png", halves(48, 64))
    save_image(photos / "sub" / "b.png", halves(40, 40))
    model = build_colour_model(tmp_path / "colour.onnx")
    out = tmp_path / "labelled"
    rc = training_main(["label", "--images", str(photos), "--out", str(out), "--parser",
                        str(model), "--val-fraction", "0.5", "--no-refine"])
    assert rc == 0
    train, val = ADE20KFolder(out, "training"), ADE20KFolder(out, "validation")
    assert len(train) == 1 and len(val) == 1
    _, labels = train[0]
    assert labels[10, 5] == 1 and labels[10, 60] == 3          # red -> 1, blue -> 3
    assert "labelled 2 photos" in capsys.readouterr().out
    assert training_main(["label", "--images", str(photos), "--out", str(out), "--parser",
                          str(model), "--val-fraction", "0.5"]) == 0
    assert "0 photos (2 already done)" in capsys.readouterr().out


def test_label_command_offline_parser_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    from inference.imageio import save_image
    from tests.inference.test_parser_models import halves

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
    save_image(tmp_path / "p" / "a.png", halves(32, 32))
    rc = training_main(["label", "--images", str(tmp_path / "p"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error:") and err.count("\n") == 1
