"""Checkpoints: a folder with ``config.json`` and one ``<network>.safetensors`` per network.

``config.json``::

    {"format": "relayout-checkpoint", "format_version": 1,
     "networks": {"<name>": {"class": "<ConfigClassName>", "config": {...dataclass fields...}}},
     "metadata": {...training data, steps, metrics...}}

Weights are only ever read from safetensors (never unpickled). A location is a local folder or
``hf:ORG/REPO[@REVISION]``, resolved with huggingface-hub into its cache; offline mode
(``HF_HUB_OFFLINE=1``) is honoured and a missing network gives a clear message.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from inference.atomic import folder_mode, give_new_file_mode
from inference.checkpoint_schema import (
    MAX_CONFIG_BYTES,
    check_networks,
    check_size,
    require_any,
    validate_config,
)
from inference.errors import CheckpointError
from inference.hub import hub_snapshot
from inference.jsonfile import parse_json

FORMAT = "relayout-checkpoint"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint: where it came from, its networks' configs, and its metadata."""

    path: Path
    networks: dict[str, dict[str, Any]]     # name -> {"class": str, "config": dict}
    metadata: dict[str, Any]

    def has(self, name: str) -> bool:
        return name in self.networks

    def require_any(self, names: tuple[str, ...], user: str) -> None:
        """Raise :class:`CheckpointError` unless the checkpoint holds one of ``names``."""
        require_any(self.networks, names, f"checkpoint {self.path}", user)

    def config(self, name: str, config_cls: type) -> Any:
        """The network's frozen-dataclass config, rebuilt and checked against ``config_cls``."""
        entry = self._entry(name)
        if entry.get("class") != config_cls.__name__:
            raise CheckpointError(
                f"checkpoint {self.path}: network {name!r} has config class "
                f"{entry.get('class')!r}, expected {config_cls.__name__!r}"
            )
        where = f"checkpoint {self.path}: network {name!r}"
        values = validate_config(config_cls, entry["config"], where)
        try:
            config = config_cls(**values)
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f"checkpoint {self.path}: bad {name!r} config: {exc}") from None
        check_size(config_cls, config, where)
        return config

    def state_dict(self, name: str) -> dict[str, torch.Tensor]:
        self._entry(name)
        file = self.path / f"{name}.safetensors"
        if not file.is_file():
            raise CheckpointError(f"checkpoint {self.path} is missing weights file {file.name}")
        try:
            weights = load_file(str(file))
        except (SafetensorError, OSError, ValueError) as exc:
            raise CheckpointError(f"checkpoint weights {file} are unreadable: {exc}") from None
        for key, tensor in weights.items():
            # NaN weights run without a sound and write black pixels: refuse them here.
            if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
                raise CheckpointError(f"checkpoint weights {file}: tensor {key!r} holds "
                                      f"non-finite values (NaN or inf); the training diverged")
        return weights

    def load_into(self, name: str, module: torch.nn.Module) -> torch.nn.Module:
        """Load the weights of ``name`` into ``module`` strictly, naming any mismatch."""
        weights = self.state_dict(name)
        check_state_dict(module, weights, f"checkpoint {self.path}: {name!r}")
        module.load_state_dict(weights, strict=True)
        return module

    def build(self, name: str, config_cls: type, module_cls: type, hint: str = ""
              ) -> torch.nn.Module:
        """Network ``name`` rebuilt from its config and loaded strictly, in eval mode."""
        if not self.has(name):
            raise CheckpointError(
                f"checkpoint {self.path} has no {name!r} network (it has {sorted(self.networks)})"
                + (f"; {hint}" if hint else ""))
        return self.load_into(name, module_cls(self.config(name, config_cls))).eval()

    def _entry(self, name: str) -> dict[str, Any]:
        if name not in self.networks:
            raise CheckpointError(
                f"checkpoint {self.path} has no network {name!r} (it has {sorted(self.networks)})"
            )
        return self.networks[name]


def check_state_dict(module: torch.nn.Module, weights: dict[str, torch.Tensor],
                     what: str) -> None:
    """Raise :class:`CheckpointError` naming the mismatch unless ``weights`` fit ``module``."""
    expected = module.state_dict()
    missing = sorted(set(expected) - set(weights))
    extra = sorted(set(weights) - set(expected))
    if missing or extra:
        raise CheckpointError(
            f"{what} weights do not match the network "
            f"(missing {missing[:5]}{'…' if len(missing) > 5 else ''}, "
            f"unexpected {extra[:5]}{'…' if len(extra) > 5 else ''})"
        )
    for key, tensor in weights.items():
        if tuple(tensor.shape) != tuple(expected[key].shape):
            raise CheckpointError(
                f"{what} weight {key} has shape {tuple(tensor.shape)}, "
                f"the network expects {tuple(expected[key].shape)}"
            )


def save_checkpoint(
    folder: str | os.PathLike,
    networks: dict[str, tuple[Any, torch.nn.Module]],
    metadata: dict[str, Any] | None = None,
) -> Path:
    """Write ``networks`` (name -> (frozen dataclass config, module)) atomically to ``folder``.

    The folder is assembled beside its destination and renamed into place, so a crash never
    leaves a half-written checkpoint; an existing checkpoint there is replaced.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "networks": {
            name: {"class": type(cfg).__name__, "config": dataclasses.asdict(cfg)}
            for name, (cfg, _) in networks.items()
        },
        "metadata": metadata or {},
    }
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        # mkdtemp makes a 0700 folder; give the checkpoint an ordinary folder's mode.
        os.chmod(tmp, folder_mode())
        for name, (_, module) in networks.items():
            tensors = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
            save_file(tensors, str(tmp / f"{name}.safetensors"))
        (tmp / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True))
        for file in tmp.glob("*.safetensors"):
            give_new_file_mode(file)  # safetensors writes 0600 whatever the umask
        old = None
        if folder.exists():
            old = folder.with_name(f".{folder.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(folder, old)
        os.replace(tmp, folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def resolve_location(location: str | os.PathLike) -> Path:
    """Local folder of a checkpoint location (a path, or ``hf:ORG/REPO[@REVISION]``)."""
    text = str(location)
    if not text.startswith("hf:"):
        path = Path(text).expanduser()
        if not path.exists():
            raise CheckpointError(f"checkpoint folder not found: {path}")
        if not path.is_dir():
            raise CheckpointError(f"checkpoint must be a folder with config.json, got file {path}")
        return path
    repo, _, revision = text[3:].partition("@")
    if repo.count("/") != 1 or not all(repo.split("/")):
        raise CheckpointError(f"bad hub checkpoint {text!r}: expected hf:ORG/REPO[@REVISION]")
    return hub_snapshot(repo, revision or None, ["config.json", "*.safetensors", "*.md"],
                        "checkpoint")


def load_checkpoint(location: str | os.PathLike) -> Checkpoint:
    """Open and validate a checkpoint's ``config.json`` (weights are read on demand)."""
    path = resolve_location(location)
    cfg_file = path / "config.json"
    if not cfg_file.is_file():
        raise CheckpointError(f"checkpoint {path} has no config.json")
    size = cfg_file.stat().st_size
    if size > MAX_CONFIG_BYTES:
        raise CheckpointError(f"checkpoint {cfg_file} is {size} bytes; the limit is "
                              f"{MAX_CONFIG_BYTES}")
    try:
        data = cfg_file.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"checkpoint {cfg_file} is unreadable: {exc.strerror}") from None
    config = parse_json(data, f"checkpoint {cfg_file}", CheckpointError, MAX_CONFIG_BYTES)
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise CheckpointError(f"{cfg_file} is not a Relayout checkpoint (no format {FORMAT!r})")
    version = config.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {path} has format version {version!r}; this Relayout reads version "
            f"{FORMAT_VERSION}"
        )
    networks = config.get("networks")
    check_networks(networks, f"checkpoint {path}")
    metadata = config.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise CheckpointError(f"checkpoint {path}: metadata must be an object")
    return Checkpoint(path=path, networks=networks, metadata=metadata)
