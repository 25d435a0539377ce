"""Both training stages end to end on CPU with tiny configs: synth -> stage A -> stage B ->
``main.py edit --checkpoint`` -> ``python -m training evaluate``; resume; config overrides."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from inference.checkpoint import load_checkpoint
from inference.errors import BadInputError
from inference.imageio import load_image, load_label_map, save_label_map
from training.__main__ import main as training_main
from training.configs import apply_overrides, config_dict, config_from_dict
from training.synth import write_dataset
from training.trainers.correspondence import StageAConfig, train_correspondence

TINY = ["--size", "32", "--batch-size", "2", "--model-size", "tiny", "--workers", "0",
        "--vgg", "random", "--set", "warp.iterations=3", "--log-every", "1"]


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    write_dataset(root, 8, 64, seed=5, val_fraction=0.25)
    return root


@pytest.fixture(scope="module")
def stage_a(synth, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "a"
    assert training_main(["correspondence", "--data", str(synth), "--out", str(out),
                          "--steps", "2", *TINY]) == 0
    return out


def test_config_overrides_nested_typed_and_checked():
    cfg = apply_overrides(StageAConfig.preset("tiny"),
                          ["data.size=48", "run.amp=false", "data.pair.scale=0.9,1.1",
                           "losses.contextual=0", "run.steps=7"])
    assert cfg.data.size == 48 and cfg.run.amp is False and cfg.data.pair.scale == (0.9, 1.1)
    assert cfg.losses.contextual == 0.0 and cfg.run.steps == 7
    assert cfg.network.base == 4                                  # the tiny preset survives
    assert config_from_dict(StageAConfig, json.loads(json.dumps(config_dict(cfg)))) == cfg
    for bad in ("data.nope=1", "run.steps=many", "run.amp=maybe", "size"):
        with pytest.raises(BadInputError):
            apply_overrides(cfg, [bad])
    with pytest.raises(BadInputError, match="multiple of 8"):
        apply_overrides(cfg, ["data.size=30"])


def test_sampler_fields_set_flat_or_nested_and_old_flat_checkpoints_load():
    cfg = StageAConfig.preset("tiny")
    flat = apply_overrides(cfg, ["warp.iterations=4", "warp.chunk_size=64"])
    nested = apply_overrides(cfg, ["warp.sampler.iterations=4", "warp.sampler.chunk_size=64"])
    assert flat == nested and flat.warp.sampler.iterations == 4
    saved = json.loads(json.dumps(config_dict(flat)))
    assert saved["warp"]["iterations"] == 4 and "sampler" not in saved["warp"]  # schema: flat
    assert config_from_dict(StageAConfig, saved) == flat
    saved["warp"] = {"iterations": 4, "particles": 2, "samples": 2, "extra_rounds": 1,
                     "class_penalty": 10.0, "gamma": 100.0, "chunk_size": 64}  # older, fewer
    assert config_from_dict(StageAConfig, saved) == flat


def test_stage_a_writes_checkpoint_log_grid_and_metadata(stage_a):
    ck = load_checkpoint(stage_a)
    assert ck.has("correspondence") and not ck.has("aux_generator")   # aux is discarded
    meta = ck.metadata
    assert meta["stage"] == "correspondence" and meta["step"] == 2
    assert meta["vgg"]["weights"] == "random"                          # fallback recorded
    assert meta["config"]["network"]["base"] == 4 and meta["config"]["warp"]["iterations"] == 3
    records = [json.loads(line) for line in (stage_a / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2]
    assert records[-1]["images_per_s"] > 0
    assert {"domain", "cycle", "contextual", "feature_matching", "perceptual", "warp"} <= set(
        records[-1]["losses"])
    assert all(np.isfinite(v) for v in records[-1]["losses"].values())
    grid = load_image(stage_a / "samples" / "step_00000002.png")
    assert grid.shape == (2 * 32, 7 * 32, 3)                           # 2 rows × 7 columns
    step = stage_a / "checkpoints" / "step_00000002"
    assert (step / "state.safetensors").is_file() and (step / "aux_generator.safetensors").is_file()
    assert not list(stage_a.rglob("*.pt")) and not list(stage_a.rglob("*.pkl"))


def test_existing_run_needs_resume(stage_a, synth, capsys):
    rc = training_main(["correspondence", "--data", str(synth), "--out", str(stage_a),
                        "--steps", "3", *TINY])
    assert rc == 2 and "--resume" in capsys.readouterr().err


def test_end_to_end_stage_b_edit_and_evaluate(synth, stage_a, tmp_path):
    out = tmp_path / "b"
    assert training_main(["generator", "--data", str(synth), "--correspondence", str(stage_a),
                          "--out", str(out), "--steps", "2", "--coarse-steps", "1", *TINY]) == 0
    ck = load_checkpoint(out)
    assert ck.has("correspondence") and ck.has("generator") and not ck.has("discriminator")
    a = load_checkpoint(stage_a).state_dict("correspondence")
    b = ck.state_dict("correspondence")
    assert all(torch.equal(a[k], b[k]) for k in a)                     # frozen, copied
    log = [json.loads(x) for x in (out / "train_log.jsonl").read_text().splitlines()]
    assert [r["phase"] for r in log] == ["coarse", "joint"]
    assert "adversarial" in log[1]["losses"] and "discriminator" in log[1]["losses"]

    from main import main as relayout_main

    image = synth / "images" / "validation" / "ADE_val_00000001.jpg"
    labels = load_label_map(synth / "annotations" / "validation" / "ADE_val_00000001.png")
    edited = labels.copy()
    edited[16:40, 8:32] = labels[0, 0]
    save_label_map(tmp_path / "new.png", edited)
    result = tmp_path / "edited.png"
    rc = relayout_main(["edit", "--image", str(image), "--edited-labels", str(tmp_path / "new.png"),
                        "--labels", str(synth / "annotations" / "validation" /
                                        "ADE_val_00000001.png"),
                        "--out", str(result), "--checkpoint", str(out)])
    assert rc == 0
    y, x0 = load_image(result), load_image(image)
    assert y.shape == x0.shape
    far = np.zeros(labels.shape, bool)
    far[50:, 50:] = True                                  # well outside the edited region
    assert np.array_equal(y[far], x0[far])
    report = tmp_path / "eval"
    assert training_main(["evaluate", "--data", str(synth), "--checkpoint", str(out),
                          "--out", str(report), "--count", "1", "--size", "64",
                          "--backends", "hrs", "--baselines", "unchanged",
                          "--working-size", "64", "--task", "reconstruction"]) == 0
    text = (report / "report.json").read_text()
    assert "relayout:hrs (generator)" in text


def test_resume_continues_exactly(synth, tmp_path):
    base = apply_overrides(StageAConfig.preset("tiny"), [
        "data.size=32", "run.batch_size=2", "data.workers=0", "run.vgg=random",
        "warp.iterations=3", "run.checkpoint_every=1", "run.steps=3", "run.log_every=1",
        "losses.contextual=0", "losses.perceptual=0", "losses.feature_matching=0"])
    straight = train_correspondence(base, synth, tmp_path / "straight")
    short = apply_overrides(base, ["run.steps=2"])
    train_correspondence(short, synth, tmp_path / "resumed")
    resumed = train_correspondence(base, synth, tmp_path / "resumed", resume=True)
    assert resumed["start"] == 2
    log = [json.loads(x) for x in (tmp_path / "resumed" / "train_log.jsonl").read_text()
           .splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3]
    assert load_checkpoint(tmp_path / "resumed").metadata["step"] == 3
    sa = straight["model"].state_dict()
    sb = resumed["model"].state_dict()
    assert all(torch.allclose(sa[k], sb[k], atol=1e-5) for k in sa)    # same as uninterrupted
    assert sorted(p.name for p in (tmp_path / "resumed" / "checkpoints").iterdir()) == [
        "step_00000002", "step_00000003"]                              # keep = 2
