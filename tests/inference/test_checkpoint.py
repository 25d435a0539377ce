from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
import torch

from inference.checkpoint import FORMAT_VERSION, load_checkpoint, save_checkpoint
from inference.errors import CheckpointError, ModelUnavailableError
from tests.inference.hubcache import make_hub_repo


@dataclass(frozen=True)
class TinyConfig:
    channels: int = 4
    sizes: tuple[int, ...] = (1, 2)


class Tiny(torch.nn.Module):
    def __init__(self, cfg: TinyConfig):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, cfg.channels, 3)


def _save(folder, channels=4):
    cfg = TinyConfig(channels=channels)
    net = Tiny(cfg)
    save_checkpoint(folder, {"tiny": (cfg, net)}, {"steps": 7})
    return cfg, net


def test_round_trip_rebuilds_network(tmp_path):
    cfg, net = _save(tmp_path / "ckpt")
    ck = load_checkpoint(tmp_path / "ckpt")
    assert ck.metadata == {"steps": 7}
    cfg2 = ck.config("tiny", TinyConfig)
    assert cfg2 == cfg and isinstance(cfg2.sizes, tuple)
    net2 = ck.load_into("tiny", Tiny(cfg2))
    for k, v in net.state_dict().items():
        torch.testing.assert_close(net2.state_dict()[k], v)


def test_overwrite_is_atomic_and_leaves_no_temp(tmp_path):
    _save(tmp_path / "ckpt", channels=4)
    _save(tmp_path / "ckpt", channels=6)
    assert load_checkpoint(tmp_path / "ckpt").config("tiny", TinyConfig).channels == 6
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]


def test_every_load_error_is_clear(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "nope")
    _save(tmp_path / "c")
    ck = load_checkpoint(tmp_path / "c")
    bad_shape = r"'tiny' weight conv\.\w+ has shape \(4.*expects \(8"
    with pytest.raises(CheckpointError, match=bad_shape):
        ck.load_into("tiny", Tiny(TinyConfig(channels=8)))
    with pytest.raises(CheckpointError, match="no network 'generator'"):
        ck.state_dict("generator")

    @dataclass(frozen=True)
    class OtherConfig:
        channels: int = 4

    with pytest.raises(CheckpointError, match="expected 'OtherConfig'"):
        ck.config("tiny", OtherConfig)

    cfg_path = tmp_path / "c" / "config.json"
    data = json.loads(cfg_path.read_text())
    data["format_version"] = FORMAT_VERSION + 1
    cfg_path.write_text(json.dumps(data))
    with pytest.raises(CheckpointError, match="format version 2"):
        load_checkpoint(tmp_path / "c")
    cfg_path.write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_checkpoint(tmp_path / "c")

    _save(tmp_path / "d")
    (tmp_path / "d" / "tiny.safetensors").unlink()
    with pytest.raises(CheckpointError, match="missing weights file tiny.safetensors"):
        load_checkpoint(tmp_path / "d").state_dict("tiny")
    _save(tmp_path / "e")
    (tmp_path / "e" / "tiny.safetensors").write_bytes(b"\x00" * 20)
    with pytest.raises(CheckpointError, match="unreadable"):
        load_checkpoint(tmp_path / "e").state_dict("tiny")


def test_hub_location_from_local_cache(tmp_path, monkeypatch):
    _save(tmp_path / "src")
    cache = tmp_path / "hub"
    files = {p.name: p for p in (tmp_path / "src").iterdir()}
    make_hub_repo(cache, "relayout/tiny", files)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    ck = load_checkpoint("hf:relayout/tiny")
    assert ck.config("tiny", TinyConfig).channels == 4
    assert "snapshots" in str(ck.path)


def test_hub_missing_offline_gives_actionable_message(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailableError, match="offline mode.*hf download "
                                                    "org/missing --revision abc"):
        load_checkpoint("hf:org/missing@abc")
    with pytest.raises(CheckpointError, match="expected hf:ORG/REPO"):
        load_checkpoint("hf:just-a-name")


def test_build_rebuilds_or_names_the_missing_network(tmp_path):
    _cfg, net = _save(tmp_path / "b")
    ck = load_checkpoint(tmp_path / "b")
    built = ck.build("tiny", TinyConfig, Tiny)
    assert not built.training
    torch.testing.assert_close(built.conv.weight, net.conv.weight)
    with pytest.raises(CheckpointError, match=r"no 'msca' network \(it has \['tiny'\]\); train it"):
        ck.build("msca", TinyConfig, Tiny, hint="train it")
