"""Malformed and hostile checkpoints: refused field by field, before anything is allocated.

Each case writes a valid tiny generator checkpoint, breaks its ``config.json`` (or weights) one
way, and runs ``main.py edit --checkpoint`` on it: exit status 2, one line naming the field and
value, no traceback, no output file (issue 13, fault 3).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import main
from inference.checkpoint import load_checkpoint, save_checkpoint
from inference.checkpoint_schema import MAX_PARAMETERS
from inference.errors import CheckpointError
from inference.imageio import save_image, save_label_map
from inference.networks.generator import GeneratorConfig, ManipulationGenerator
from tests.hostile import assert_refused, run_cli, snapshot


def _config_of(folder: Path) -> dict:
    return json.loads((folder / "config.json").read_text())


def _generator_fields(doc: dict) -> dict:
    return doc["networks"]["generator"]["config"]


def _set_field(key, value):
    def change(doc):
        _generator_fields(doc)[key] = value
        return json.dumps(doc)
    return change


def _deep(_doc) -> str:
    return "[" * 10_000 + "]" * 10_000


def _long_int(doc) -> str:
    text = json.dumps(doc)
    return text.replace('"channels": 8', '"channels": ' + "7" * 5000)


def _nan(doc) -> str:
    return json.dumps(doc).replace('"channels": 8', '"channels": NaN')


def _set_entry(value):
    def change(doc):
        doc["networks"]["generator"]["config"] = value
        return json.dumps(doc)
    return change


def _rename_network(name):
    def change(doc):
        doc["networks"] = {name: doc["networks"]["generator"]}
        return json.dumps(doc)
    return change


# (case id, how config.json is rewritten, words of the one-line error)
CASES = [
    ("config-is-a-number", _set_entry(5), ["'generator'", "\"config\" object", "5"]),
    ("channels-string", _set_field("channels", "wide"),
     ["field 'channels'", "must be an integer", "'wide'"]),
    ("channels-negative", _set_field("channels", -4), ["field 'channels'", "1..65536", "-4"]),
    ("channels-million", _set_field("channels", 10**6), ["field 'channels'", "1000000"]),
    ("parameters-over-cap", _set_field("channels", 4096), ["parameters", f"{MAX_PARAMETERS:,}"]),
    ("channels-bool", _set_field("channels", True), ["field 'channels'", "True"]),
    ("labels-not-151", _set_field("num_labels", 10), ["field 'num_labels'", "must be 151"]),
    ("dilations-empty", _set_field("dilations", []), ["field 'dilations'", "1..64 items"]),
    ("dilations-text", _set_field("dilations", ["x"]), ["field 'dilations'", "integer"]),
    ("semantic-wrong-length", _set_field("semantic_channels", [8, 8]),
     ["field 'semantic_channels'", "exactly 3"]),
    ("unknown-field", _set_field("bogus", 1), ["unknown fields", "bogus"]),
    ("deep-json", _deep, ["nested too deeply"]),
    ("5000-digit-integer", _long_int, ["not valid JSON", "digits"]),
    ("nan-in-config", _nan, ["NaN"]),
    ("huge-config-file", lambda doc: json.dumps(doc) + " " * (2 << 20), ["bytes", "limit"]),
    ("metadata-not-object", lambda doc: json.dumps({**doc, "metadata": [1]}), ["metadata"]),
    ("only-unknown-networks", _rename_network("tiny"),
     ["no network the editor uses", "'tiny'", "generator or correspondence"]),
    ("only-a-bench-network", _rename_network("msca"),
     ["no network the editor uses", "msca (warp backend msca)"]),
]


@pytest.fixture(scope="module")
def edit_files(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("edit")
    rng = np.random.default_rng(0)
    save_image(d / "P.png", rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))
    labels = np.full((32, 32), 3, np.uint8)
    save_label_map(d / "L.png", labels)
    labels[8:20, 8:20] = 5
    save_label_map(d / "L2.png", labels)
    return d


def _checkpoint(folder: Path) -> Path:
    cfg = GeneratorConfig.tiny()
    torch.manual_seed(0)
    return save_checkpoint(folder, {"generator": (cfg, ManipulationGenerator(cfg))})


def _edit(edit_files: Path, checkpoint: Path, out: Path) -> list[str]:
    return ["edit", "--image", edit_files / "P.png", "--labels", edit_files / "L.png",
            "--edited-labels", edit_files / "L2.png", "--checkpoint", checkpoint,
            "--out", out, "--working-size", "32", "--device", "cpu"]


@pytest.mark.parametrize(("rewrite", "needles"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_config_is_refused_naming_the_field(tmp_path, edit_files, capfd, monkeypatch,
                                                      rewrite, needles):
    from inference.pipeline.editor import LayoutEditor

    monkeypatch.setattr(LayoutEditor, "edit", lambda *a, **k: pytest.fail("the edit ran"))
    ck = _checkpoint(tmp_path / "ck")
    (ck / "config.json").write_text(rewrite(_config_of(ck)))
    before = snapshot(tmp_path)
    out = run_cli(main.main, _edit(edit_files, ck, tmp_path / "o.png"), capfd)
    assert_refused(out, *needles)
    assert snapshot(tmp_path) == before


def test_nan_weights_are_refused_naming_the_tensor(tmp_path, edit_files, capfd):
    from safetensors.torch import load_file, save_file

    ck = _checkpoint(tmp_path / "ck")
    weights = load_file(str(ck / "generator.safetensors"))
    key = sorted(k for k, v in weights.items() if v.is_floating_point())[0]
    weights[key] = torch.full_like(weights[key], float("nan"))
    save_file(weights, str(ck / "generator.safetensors"))
    out = run_cli(main.main, _edit(edit_files, ck, tmp_path / "o.png"), capfd)
    assert_refused(out, f"tensor {key!r}", "non-finite")
    assert not (tmp_path / "o.png").exists()


def test_generator_output_is_checked_for_nan(tmp_path):
    """Finite weights can still produce NaN (an overflow): the engine names the model."""
    from inference.pipeline.models import EngineModels

    models = EngineModels.from_checkpoint(str(_checkpoint(tmp_path / "ck")))
    models.generator.forward = lambda *a: (torch.full((1, 3, 16, 16), float("nan")), None)
    with pytest.raises(CheckpointError, match=r"generator of checkpoint .*ck.*non-finite"):
        models.generate(np.zeros((16, 16, 3), np.float32), np.zeros((16, 16), np.uint8),
                        np.ones((16, 16), bool), "cpu")


def test_valid_checkpoint_still_loads_and_counts_nothing_on_the_device(tmp_path):
    ck = load_checkpoint(_checkpoint(tmp_path / "ck"))
    cfg = ck.config("generator", GeneratorConfig)
    assert cfg == GeneratorConfig.tiny() and isinstance(cfg.dilations, tuple)
    net = ck.build("generator", GeneratorConfig, ManipulationGenerator)
    assert all(p.device.type == "cpu" for p in net.parameters())
